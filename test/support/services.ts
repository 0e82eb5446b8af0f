import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A free TCP port on loopback (the OS picks; we release it and hand it to the service). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited early with code ${child.exitCode}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, dir: string | null): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * A private redis-server with AOF on a free loopback port. With `dir` (and `port`), it reuses that
 * data directory and port, so a test can SHUTDOWN a server and start it again on its AOF; a `dir`
 * passed in is left in place on stop (its owner removes it).
 */
export async function startRedis(opts: { dir?: string; port?: number } = {}): Promise<RunningService & { port: number; dir: string; child: ChildProcess }> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'exhibit-redis-'));
  const port = opts.port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write('PING\r\n');
        });
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
        s.once('error', () => resolve(false));
      }),
    'redis-server',
    child,
  );
  return { url: `redis://127.0.0.1:${port}`, port, dir, child, stop: stopper(child, opts.dir ? null : dir) };
}

export const MINIO_ROOT_USER = 'exhibit-test';
export const MINIO_ROOT_PASSWORD = 'exhibit-test-secret';

/**
 * The real MinIO server (built by ./exhibit test) on a free loopback port. With `dir` and `port`, it
 * serves that data directory on that port, so a test can stop a server and start it again on the
 * same data (a `dir` passed in is left in place on stop); `child` lets a test freeze it (SIGSTOP).
 */
export async function startMinio(bin: string, opts: { dir?: string; port?: number } = {}): Promise<RunningService & { port: number; dir: string; child: ChildProcess; accessKey: string; secretKey: string }> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'exhibit-minio-'));
  const port = opts.port ?? (await freePort());
  const consolePort = await freePort();
  const child = spawn(bin, ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, dir], {
    stdio: 'ignore',
    env: { ...process.env, MINIO_ROOT_USER, MINIO_ROOT_PASSWORD, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/minio/health/ready`)).ok, 'minio', child);
  return { url: `http://127.0.0.1:${port}`, port, dir, child, accessKey: MINIO_ROOT_USER, secretKey: MINIO_ROOT_PASSWORD, stop: stopper(child, opts.dir ? null : dir) };
}
