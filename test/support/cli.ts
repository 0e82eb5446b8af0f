import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalTsa, type LocalTsa } from './tsa.js';

/** The repository root, where the `exhibit` front door lives. */
export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the real front door as an analyst would. `tty: true` runs it under script(1), so stdout and
 * stderr are a pseudo-terminal (both arrive on `stdout`); `until` stops it (SIGINT) once its output
 * matches, for long-running commands such as `worker`.
 */
export function exhibit(args: string[], env: Record<string, string>, opts: { timeoutMs?: number; tty?: boolean; until?: RegExp } = {}): Promise<CliRun> {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const [cmd, argv] = opts.tty ? ['script', ['-qefc', [path.join(ROOT, 'exhibit'), ...args].map(quote).join(' '), '/dev/null']] : [path.join(ROOT, 'exhibit'), args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, argv as string[], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    const check = () => {
      if (opts.until && !stopping && opts.until.test(stdout + stderr)) {
        stopping = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', (d) => ((stdout += d), check()));
    child.stderr.on('data', (d) => ((stderr += d), check()));
    child.on('error', reject);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exhibit ${args.join(' ')} timed out; output: ${stdout}${stderr}`));
    }, opts.timeoutMs ?? 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Lines of terminal output without colour and cursor codes. */
export function plainLines(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n|\r/).map((l) => l.trimEnd());
}

/** Lines that are raw JSON log records. */
export function jsonLogLines(text: string): string[] {
  return plainLines(text).filter((l) => /^\s*\{.*"(level|msg)"\s*:/.test(l));
}

export interface CliEnv {
  stateDir: string;
  tsa: LocalTsa;
  /** The environment of every run: the state dir, the TSA and its CA, log level warn (add to it freely). */
  env: Record<string, string>;
  /** `exhibit down` (the embedded Redis), then the TSA and the state dir. */
  close(): Promise<void>;
}

/** The front door on its embedded default (private Redis, local store) in a temp state dir, with a local OpenSSL TSA. */
export async function startCliEnv(name: string): Promise<CliEnv> {
  const tsa = await startLocalTsa();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `exhibit-${name}-`));
  const env: Record<string, string> = { EXHIBIT_STATE_DIR: stateDir, EXHIBIT_TSA_URLS: tsa.url, EXHIBIT_TSA_CA_FILES: tsa.caCertPath, EXHIBIT_LOG_LEVEL: 'warn' };
  return {
    stateDir,
    tsa,
    env,
    close: async () => {
      try {
        await exhibit(['down'], env);
      } finally {
        await tsa.close();
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}
