import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CollectContext } from '../../collectors/collector.js';
import { BrowserPool } from '../../collectors/browser/pool.js';
import { webCollector } from '../../collectors/web.js';
import { systemClock } from '../../lib/clock.js';
import { configFrom, type Config } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { CollectorOutput } from '../../schemas/jobs.js';

/**
 * Shared set-up for the collector attacks in test/security: a capture run WITHOUT private networks,
 * where only the fixture origin (127.0.0.1) is allowed by CIDR, so the hostile page's targets on
 * other loopback addresses (127.0.0.2, …) are what the policy must keep it from reaching. Traps
 * listen there and count every packet and connection that arrives.
 */

export const ALLOWED_ORIGIN_CIDR = '127.0.0.1/32';
/** A loopback address the policy refuses (only 127.0.0.1/32 is allowed). */
export const BLOCKED_HOST = '127.0.0.2';

export interface HostileRun {
  out: CollectorOutput;
  dir: string;
  files(): string[];
  read(name: string): Buffer;
  json<T = Record<string, unknown>>(name: string): T;
}

export interface HostileEnv {
  pool: BrowserPool;
  capture(url: string, capture?: Partial<Config['capture']>): Promise<HostileRun>;
  close(): Promise<void>;
}

export function hostileEnv(opts: { chromiumPath?: string } = {}): HostileEnv {
  const logger = createLogger('silent');
  const pool = new BrowserPool({ chromiumPath: opts.chromiumPath ?? '/usr/bin/chromium', concurrency: 1, logger });
  const spools: string[] = [];
  return {
    pool,
    async capture(url, capture = {}) {
      const config = configFrom({
        capture: { allowPrivateNetwork: false, allowCidrs: [ALLOWED_ORIGIN_CIDR], settleTimeoutMs: 5000, networkQuietMs: 400, navigationTimeoutMs: 10_000, timeoutMs: 40_000, ...capture },
      });
      const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-hostile-'));
      spools.push(spoolDir);
      const ctx: CollectContext = {
        captureId: '01900000-0000-7000-8000-00000000a77a',
        request: { url, caseId: 'C-2026-011', requestedBy: 'analyst-01', options: {} },
        spoolDir,
        capture: config.capture,
        browsers: pool,
        logger,
        clock: systemClock,
        software: { exhibitVersion: '0.1.0-test', gitCommit: 'deadbeef' },
        onProgress: () => undefined,
        signal: new AbortController().signal,
      };
      const out = CollectorOutput.parse(await webCollector.collect(ctx, new URL(url)));
      return {
        out,
        dir: spoolDir,
        files: () => out.files.map((f) => f.path),
        read: (name) => readFileSync(path.join(spoolDir, name)),
        json: (name) => JSON.parse(readFileSync(path.join(spoolDir, name), 'utf8')),
      };
    },
    async close() {
      await pool.close();
      for (const d of spools) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A TCP listener that counts connections (and answers nothing useful). */
export async function tcpTrap(host = BLOCKED_HOST): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count += 1;
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
    s.end('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 22\r\nConnection: close\r\n\r\n<h1>the private one</h1>');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A UDP socket that counts datagrams (STUN binding requests, QUIC initials, …). */
export async function udpTrap(host = BLOCKED_HOST): Promise<{ port: number; packets(): number; close(): Promise<void> }> {
  let count = 0;
  const socket = dgram.createSocket('udp4');
  socket.on('message', () => (count += 1));
  await new Promise<void>((r) => socket.bind(0, host, r));
  return { port: socket.address().port, packets: () => count, close: () => new Promise((r) => socket.close(() => r())) };
}
