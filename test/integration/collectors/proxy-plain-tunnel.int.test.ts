import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingProxy } from '../../../collectors/browser/recording-proxy.js';
import { createLogger } from '../../../lib/logger.js';

/**
 * Playwright's APIRequestContext (used by platform collectors for recorded fetches) opens a CONNECT
 * tunnel even for http:// URLs; the proxy must record plain HTTP inside such a tunnel as http://.
 */
let origin: http.Server;
let port: number;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-tunnel-'));
  origin = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, accept: req.headers.accept ?? null }));
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  port = (origin.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => origin.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function viaTunnel(proxyUrl: string, target: string, pathAndQuery: string): Promise<{ status: number; body: string }> {
  const p = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: p.hostname, port: Number(p.port), method: 'CONNECT', path: target });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) return reject(new Error(`CONNECT answered ${res.statusCode}`));
      socket.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: ${target}\r\nAccept: application/activity+json\r\nConnection: close\r\n\r\n`);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
      });
      socket.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('RecordingProxy CONNECT tunnels carrying plain HTTP', () => {
  it('forwards and records them as http:// exchanges, byte for byte', async () => {
    const proxy = await RecordingProxy.start({ policy: { allowPrivateNetwork: true }, workDir: path.join(dir, 'ok'), maxResourceBytes: 1 << 20, maxTotalBytes: 1 << 24, upstreamProxy: null, logger: createLogger('silent') });
    try {
      const r = await viaTunnel(proxy.url, `127.0.0.1:${port}`, '/users/a/statuses/1?x=1');
      expect(r.status).toBe(200);
      expect(r.body).toContain('"accept":"application/activity+json"');
      const ex = proxy.exchanges().find((e) => e.url.includes('/users/a/statuses/1'));
      expect(ex?.url).toBe(`http://127.0.0.1:${port}/users/a/statuses/1?x=1`);
      expect(ex?.status).toBe(200);
      expect(readFileSync(ex!.bodyPath!, 'utf8')).toBe(JSON.stringify({ path: '/users/a/statuses/1?x=1', accept: 'application/activity+json' }));
    } finally {
      await proxy.close();
    }
  });
  it('still applies the network policy inside the tunnel', async () => {
    const proxy = await RecordingProxy.start({ policy: { allowPrivateNetwork: false }, workDir: path.join(dir, 'blocked'), maxResourceBytes: 1 << 20, maxTotalBytes: 1 << 24, upstreamProxy: null, logger: createLogger('silent') });
    try {
      const r = await viaTunnel(proxy.url, `127.0.0.1:${port}`, '/secret');
      expect(r.status).toBe(403);
      const ex = proxy.exchanges().find((e) => e.url.endsWith('/secret'));
      expect(ex?.error?.code).toBe('BLOCKED_ADDRESS');
    } finally {
      await proxy.close();
    }
  });
});
