import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LookupFn } from '../../collectors/browser/net-policy.js';
import { RecordingProxy } from '../../collectors/browser/recording-proxy.js';
import { createLogger } from '../../lib/logger.js';

/**
 * Attack (issue 11, item 8): with an upstream proxy configured, a plain-http request handed the
 * proxy the host name, so the proxy resolved it again — on its own DNS, after our policy had
 * checked a different answer (DNS rebinding, split-horizon DNS). The upstream proxy here is a small
 * loopback server that records exactly what it was asked.
 */

interface Asked {
  method: string;
  target: string;
  host: string | undefined;
}

async function recordingUpstream(): Promise<{ url: string; asked: Asked[]; close(): Promise<void> }> {
  const asked: Asked[] = [];
  const server = http.createServer((req, res) => {
    asked.push({ method: req.method ?? '', target: req.url ?? '', host: req.headers.host });
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2', Connection: 'close' }).end('ok');
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    asked.push({ method: 'CONNECT', target: req.url ?? '', host: req.headers.host });
    socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, asked, close: () => new Promise((r) => server.close(() => r())) };
}

function get(proxyUrl: string, target: string): Promise<{ status: number; body: string }> {
  const p = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: p.hostname, port: p.port, method: 'GET', path: target, headers: { Host: new URL(target).host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('upstream proxy: connect by the address that passed the policy', () => {
  it('asks the upstream proxy for the checked address (absolute-form with the IP, Host naming the site), for http and https', async () => {
    const upstream = await recordingUpstream();
    cleanups.push(() => upstream.close());
    const dir = await mkdtemp(path.join(tmpdir(), 'exhibit-sec-upstream-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Our resolver answers 198.51.100.7 (allowed by the policy's CIDR); the proxy's own DNS might say
    // anything else. The name exists nowhere else, so only our answer can reach the upstream proxy.
    const lookup: LookupFn = async (host) => (host === 'evidence.invalid' ? [{ address: '198.51.100.7', family: 4 }] : []);
    const proxy = await RecordingProxy.start({
      policy: { allowPrivateNetwork: false, allowCidrs: ['198.51.100.7/32'] },
      workDir: dir,
      maxResourceBytes: 1 << 20,
      maxTotalBytes: 1 << 22,
      upstreamProxy: upstream.url,
      logger: createLogger('silent'),
      lookup,
    });
    cleanups.push(() => proxy.close());

    const res = await get(proxy.url, 'http://evidence.invalid:8080/post/1?lang=en');
    expect(res).toEqual({ status: 200, body: 'ok' });
    await get(proxy.url, 'http://evidence.invalid/root').catch(() => undefined);
    await get(proxy.url, 'https://evidence.invalid/tls').catch(() => undefined);
    await proxy.close();

    expect(upstream.asked).toEqual([
      { method: 'GET', target: 'http://198.51.100.7:8080/post/1?lang=en', host: 'evidence.invalid:8080' },
      { method: 'GET', target: 'http://198.51.100.7/root', host: 'evidence.invalid' },
      { method: 'CONNECT', target: '198.51.100.7:443', host: '198.51.100.7:443' },
    ]);
    // The name was never handed to the upstream proxy as something to connect to.
    for (const a of upstream.asked) expect(a.target).not.toContain('evidence.invalid');
    // What the recording says was asked is what was sent.
    const ex = proxy.exchanges().find((e) => e.url.endsWith('/post/1?lang=en'))!;
    expect(ex.upstreamProxy).toBe(`${upstream.url}/`);
    expect(ex.dns).toEqual({ host: 'evidence.invalid', addresses: ['198.51.100.7'], error: null });
  });
});
