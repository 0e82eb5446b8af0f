import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LookupFn, NetPolicy } from '../../../collectors/browser/net-policy.js';
import { RecordingProxy, type RecordedExchange } from '../../../collectors/browser/recording-proxy.js';
import { CHROMIUM_ARGS } from '../../../collectors/browser/pool.js';
import { checkWarc } from '../../../evidence/warc-check.js';

const run = promisify(execFile);
const PYTHON = process.env.EXHIBIT_PYTHON || 'python3';
const logger = pino({ level: 'silent' });

// ---- fixture servers: raw TCP, so the exact bytes on the wire are known -------------------------

const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const APP_JS = "document.title = 'rendered by app.js'; window.appLoaded = true;\n".repeat(3);
const APP_JS_GZ = gzipSync(Buffer.from(APP_JS));
const HTML = `<!doctype html><html><head><title>before</title><script src="/app.js"></script></head>
<body><h1 id="h">Recording proxy fixture</h1><img id="img" src="/pixel.png">
<script>fetch('/chunked').then(r => r.text()).then(t => { document.getElementById('h').dataset.chunked = t; });</script></body></html>`;

function response(status: string, headers: Array<[string, string]>, body: Buffer | string): Buffer {
  const head = `HTTP/1.1 ${status}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

const ROUTES: Record<string, Buffer> = {
  '/': response('200 OK', [['Content-Type', 'text/html; charset=utf-8'], ['Content-Length', String(Buffer.byteLength(HTML))], ['X-Fixture', 'Mixed-Case'], ['Connection', 'close']], HTML),
  '/app.js': response('200 OK', [['Content-Type', 'application/javascript'], ['Content-Encoding', 'gzip'], ['Content-Length', String(APP_JS_GZ.length)], ['Connection', 'close']], APP_JS_GZ),
  '/chunked': response('200 OK', [['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked'], ['Connection', 'close']], '6\r\nchunk-\r\nA\r\nframing-ok\r\n0\r\n\r\n'),
  '/pixel.png': response('200 OK', [['Content-Type', 'image/png'], ['Content-Length', String(PNG_1X1.length)], ['Connection', 'close']], PNG_1X1),
};
const NOT_FOUND = response('404 Not Found', [['Content-Type', 'text/plain'], ['Content-Length', '9'], ['Connection', 'close']], 'not found');

interface RawServer {
  port: number;
  host: string;
  connections: number;
  /** Request head lines received, in order. */
  requests: string[];
  /** Exact bytes written per path. */
  written: Map<string, Buffer>;
  close(): Promise<void>;
}

/** A loopback HTTP/1.1 server that answers from a table of raw responses (or a custom handler). */
async function rawServer(host: string, answer: (pathName: string, socket: net.Socket) => Buffer | null): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const srv: RawServer = { port: 0, host, connections: 0, requests: [], written: new Map(), close: async () => undefined };
  const server = net.createServer((socket) => {
    srv.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const first = head.split('\r\n')[0] ?? '';
      srv.requests.push(head.slice(0, head.indexOf('\r\n\r\n')));
      const pathName = first.split(' ')[1] ?? '/';
      const bytes = answer(pathName, socket);
      if (bytes) {
        srv.written.set(pathName, bytes);
        socket.end(bytes);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  srv.port = (server.address() as net.AddressInfo).port;
  srv.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return srv;
}

/** GET `url` through the proxy with Node's own client (plain http, absolute-URI form). */
function getViaProxy(proxyUrl: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; aborted: boolean; headers: http.IncomingHttpHeaders }> {
  const p = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: p.hostname, port: Number(p.port), method: 'GET', path: url, headers: { Host: URL.canParse(url) ? new URL(url).host : p.host, ...headers }, agent: false });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), aborted: aborted || !res.complete, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const byPath = (exchanges: RecordedExchange[], p: string) => exchanges.find((e) => new URL(e.url).pathname === p);

// -------------------------------------------------------------------------------------------------

let browser: Browser;
let workRoot: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: process.env.EXHIBIT_CHROMIUM || '/usr/bin/chromium', args: [...CHROMIUM_ARGS] });
  workRoot = await mkdtemp(path.join(tmpdir(), 'exhibit-proxy-'));
});

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

afterAll(async () => {
  await browser?.close();
  if (workRoot) await rm(workRoot, { recursive: true, force: true });
});

async function startProxy(policy: NetPolicy, extra: Partial<Parameters<typeof RecordingProxy.start>[0]> = {}): Promise<RecordingProxy> {
  const workDir = await mkdtemp(path.join(workRoot, 'work-'));
  const proxy = await RecordingProxy.start({ policy, workDir, maxResourceBytes: 10_000_000, maxTotalBytes: 100_000_000, upstreamProxy: null, logger, ...extra });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function startFixture(host = '127.0.0.1'): Promise<RawServer> {
  const srv = await rawServer(host, (p) => ROUTES[p] ?? NOT_FOUND);
  cleanups.push(() => srv.close());
  return srv;
}

async function newPage(proxy: RecordingProxy) {
  const context = await browser.newContext({ proxy: { server: proxy.url, bypass: '<-loopback>' }, ignoreHTTPSErrors: true });
  cleanups.push(() => context.close());
  return context.newPage();
}

describe('RecordingProxy with Chromium', () => {
  it('records a page and its sub-resources byte for byte, and the WARC passes Python warcio', async () => {
    const site = await startFixture();
    const proxy = await startProxy({ allowPrivateNetwork: true });
    const page = await newPage(proxy);
    const base = `http://127.0.0.1:${site.port}`;
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    await page.waitForFunction(() => document.getElementById('h')?.dataset.chunked === 'chunk-framing-ok');
    expect(await page.title()).toBe('rendered by app.js');
    expect(await page.evaluate(() => (document.getElementById('img') as HTMLImageElement).naturalWidth)).toBe(1);
    await until(() => proxy.inflight() === 0);

    const exchanges = proxy.exchanges();
    for (const p of ['/', '/app.js', '/chunked', '/pixel.png']) {
      const ex = byPath(exchanges, p);
      expect(ex, p).toBeDefined();
      expect(ex!.error).toBeNull();
      expect(ex!.status).toBe(200);
      expect(ex!.remoteIp).toBe('127.0.0.1');
      expect(ex!.remotePort).toBe(site.port);
      expect(ex!.completedAt).not.toBeNull();
      // the raw file is exactly what the server wrote, framing and compression included
      expect(Buffer.compare(await readFile(ex!.rawResponsePath!), site.written.get(p)!), p).toBe(0);
      expect(ex!.rawResponseSize).toBe(site.written.get(p)!.length);
    }
    const chunked = byPath(exchanges, '/chunked')!;
    expect((await readFile(chunked.rawResponsePath!)).toString()).toContain('6\r\nchunk-\r\nA\r\nframing-ok\r\n0\r\n\r\n');
    expect((await readFile(chunked.bodyPath!)).toString()).toBe('chunk-framing-ok');
    expect(await proxy.decodedBodyPath(chunked)).toBe(chunked.bodyPath);

    const js = byPath(exchanges, '/app.js')!;
    expect(Buffer.compare(await readFile(js.bodyPath!), APP_JS_GZ)).toBe(0); // still content-encoded
    expect((await readFile((await proxy.decodedBodyPath(js))!)).toString()).toBe(APP_JS);

    const doc = byPath(exchanges, '/')!;
    expect(doc.responseHeaders).toContainEqual(['X-Fixture', 'Mixed-Case']);
    expect(doc.responseHeaders.map(([k]) => k)).toEqual(['Content-Type', 'Content-Length', 'X-Fixture', 'Connection']);
    expect(doc.requestHeaders.find(([k]) => k.toLowerCase() === 'user-agent')?.[1]).toContain('Chrome');
    expect(doc.requestHeaders.some(([k]) => k.toLowerCase() === 'proxy-connection')).toBe(false);
    // the raw request is what the server received
    const sentHead = (await readFile(doc.rawRequestPath!)).toString('latin1');
    expect(site.requests).toContain(sentHead.slice(0, sentHead.indexOf('\r\n\r\n')));
    expect(sentHead.startsWith('GET / HTTP/1.1\r\n')).toBe(true);
    expect(doc.dns).toBeNull(); // IP literal: no DNS asked

    const png = byPath(exchanges, '/pixel.png')!;
    expect(Buffer.compare(await readFile(png.bodyPath!), PNG_1X1)).toBe(0);
    expect(proxy.totalBytes()).toBe(exchanges.reduce((n, e) => n + e.rawResponseSize, 0));
    expect(proxy.lastActivityAt()).toBeGreaterThan(Date.now() - 60_000);

    // (g) WARC, checked by tools we did not write
    await proxy.close();
    const warc = path.join(workRoot, `a-${Date.now()}.warc.gz`);
    const out = await proxy.writeWarc(warc, { software: 'Exhibit test', operator: 'analyst-01', captureId: '0190c0de-0000-7000-8000-000000000001', extra: { 'http-header-user-agent': 'test' } });
    expect(out.records).toBeGreaterThanOrEqual(1 + 2 * 4);
    await expect(proxy.writeWarc(warc, { software: 'x', operator: 'y', captureId: 'z' })).rejects.toThrow(/EEXIST/);
    // our record-by-record check, under Exhibit's rules
    const own = await checkWarc(warc);
    expect(own.origin.exhibit).toBe(true);
    expect(own.findings.filter((f) => f.severity === 'error')).toEqual([]);
    // and the independent one: Python warcio check passes every digest, /chunked's included
    const check = await run(PYTHON, ['-m', 'warcio.cli', 'check', '-v', warc]);
    expect(check.stdout).not.toMatch(/digest (failed|not present)|fail/i);
    expect(check.stdout).toMatch(/digest pass/);
    const index = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'warc-type,warc-target-uri,warc-ip-address,warc-payload-digest', warc]);
    const rows = index.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows[0]!['warc-type']).toBe('warcinfo');
    const docRow = rows.find((r) => r['warc-type'] === 'response' && r['warc-target-uri'] === `${base}/`);
    expect(docRow?.['warc-ip-address']).toBe('127.0.0.1');
    expect(rows.filter((r) => r['warc-type'] === 'request').length).toBe(exchanges.length);
    // the payload Python reads back for the chunked response is the framed body as sent
    const script = `import sys\nfrom warcio.archiveiterator import ArchiveIterator\nfor r in ArchiveIterator(open(sys.argv[1],'rb')):\n  if r.rec_type=='response' and r.rec_headers.get_header('WARC-Target-URI').endswith('/chunked'):\n    sys.stdout.buffer.write(r.raw_stream.read())\n`;
    const raw = execFileSync(PYTHON, ['-c', script, warc]);
    expect(raw.toString('latin1')).toBe('6\r\nchunk-\r\nA\r\nframing-ok\r\n0\r\n\r\n');
    // and a tampered copy fails the same check
    const bytes = await readFile(warc);
    const bad = Buffer.from(bytes);
    bad[bad.length - 40] = bad[bad.length - 40]! ^ 0xff;
    const tampered = `${warc}.tampered.warc.gz`;
    await writeFile(tampered, bad);
    const badCheck = await run(PYTHON, ['-m', 'warcio.cli', 'check', '-v', tampered]).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => `${e.stdout}${e.stderr}FAILED`,
    );
    expect(badCheck).toMatch(/fail|error|Error/i);
  });

  it('blocks a loopback target when private networks are not allowed, before any connection', async () => {
    const site = await startFixture();
    const proxy = await startProxy({ allowPrivateNetwork: false });
    const page = await newPage(proxy);
    const answered = page.waitForResponse(`http://127.0.0.1:${site.port}/`);
    // An empty 403 makes Chromium show its own error page (net::ERR_HTTP_RESPONSE_CODE_FAILURE).
    await expect(page.goto(`http://127.0.0.1:${site.port}/`)).rejects.toThrow(/ERR_HTTP_RESPONSE_CODE_FAILURE/);
    const res = await answered;
    expect(res.status()).toBe(403);
    // The refusal is an empty answer naming the code in a header: nothing a page could show as its own.
    expect(res.headers()['x-exhibit-error']).toBe('BLOCKED_ADDRESS');
    expect(res.headers()['content-length']).toBe('0');
    await until(() => proxy.inflight() === 0);
    const ex = byPath(proxy.exchanges(), '/')!;
    expect(ex.error?.code).toBe('BLOCKED_ADDRESS');
    expect(ex.error?.message).toContain('127.0.0.1 is a loopback address');
    expect(ex.status).toBeNull();
    expect(ex.rawResponsePath).toBeNull();
    expect(ex.remoteIp).toBeNull();
    expect(site.connections).toBe(0);
  });

  it('follows a redirect hop by hop and blocks the hop that resolves to a refused address', async () => {
    const evil = await rawServer('127.0.0.2', () => ROUTES['/']!);
    cleanups.push(() => evil.close());
    const good = await rawServer('127.0.0.1', (p) =>
      p === '/go' ? response('302 Found', [['Location', `http://evil.test:${evil.port}/`], ['Content-Length', '0'], ['Connection', 'close']], '') : NOT_FOUND,
    );
    cleanups.push(() => good.close());
    const lookup: LookupFn = async (host) => {
      if (host === 'allowed.test') return [{ address: '127.0.0.1', family: 4 }];
      if (host === 'evil.test') return [{ address: '127.0.0.2', family: 4 }];
      throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const proxy = await startProxy({ allowPrivateNetwork: false, allowCidrs: ['127.0.0.1/32'] }, { lookup });
    const page = await newPage(proxy);
    const answered = page.waitForResponse(`http://evil.test:${evil.port}/`);
    await expect(page.goto(`http://allowed.test:${good.port}/go`)).rejects.toThrow(/ERR_HTTP_RESPONSE_CODE_FAILURE/);
    const res = await answered;
    expect(res.status()).toBe(403);
    expect(res.headers()['x-exhibit-error']).toBe('BLOCKED_ADDRESS');
    await until(() => proxy.inflight() === 0);
    const exchanges = proxy.exchanges().filter((e) => !e.url.endsWith('/favicon.ico'));
    expect(exchanges.map((e) => e.url)).toEqual([`http://allowed.test:${good.port}/go`, `http://evil.test:${evil.port}/`]);
    expect(exchanges[0]).toMatchObject({ status: 302, error: null, remoteIp: '127.0.0.1', dns: { host: 'allowed.test', addresses: ['127.0.0.1'], error: null } });
    expect(exchanges[0]!.responseHeaders).toContainEqual(['Location', `http://evil.test:${evil.port}/`]);
    expect(exchanges[1]).toMatchObject({ status: null, remoteIp: null, dns: { host: 'evil.test', addresses: ['127.0.0.2'], error: null } });
    expect(exchanges[1]!.error?.code).toBe('BLOCKED_ADDRESS');
    expect(exchanges[1]!.error?.message).toContain('127.0.0.2 is a loopback address (evil.test resolves to it)');
    expect(evil.connections).toBe(0);
    expect(good.connections).toBe(1);
  });

  it('intercepts https, loads the page, and records the real upstream certificate', async () => {
    const dir = await mkdtemp(path.join(workRoot, 'tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=exhibit-test-origin/O=Fixture Org', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const fingerprint = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']).toString().trim().split('=')[1]!.replace(/:/g, '').toLowerCase();
    let tlsConnections = 0;
    const server = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>secure fixture</title><p id="p">over TLS</p>');
    });
    server.on('secureConnection', () => tlsConnections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    server.closeIdleConnections?.();
    const port = (server.address() as net.AddressInfo).port;

    const proxy = await startProxy({ allowPrivateNetwork: true });
    const page = await newPage(proxy);
    const res = await page.goto(`https://127.0.0.1:${port}/`);
    expect(res?.status()).toBe(200);
    expect(await page.textContent('#p')).toBe('over TLS');
    // what Chromium saw was the proxy's interception certificate, not the origin's
    const seen = await res!.securityDetails();
    expect(seen?.subjectName).toBe('127.0.0.1');
    await until(() => proxy.inflight() === 0);
    const ex = byPath(proxy.exchanges(), '/')!;
    expect(ex.url).toBe(`https://127.0.0.1:${port}/`);
    expect(ex.tls).toMatchObject({ authorized: false, fingerprintSha256: `sha256:${fingerprint}` });
    expect(ex.tls!.subject).toContain('CN=exhibit-test-origin');
    expect(ex.tls!.issuer).toContain('O=Fixture Org');
    expect(ex.tls!.authorizationError).toMatch(/SELF_SIGNED|self[- ]signed/i);
    expect(ex.tls!.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(ex.tls!.cipher).toBeTruthy();
    expect(new Date(ex.tls!.validTo!).getTime()).toBeGreaterThan(Date.now());
    const raw = (await readFile(ex.rawResponsePath!)).toString();
    expect(raw.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    // Node's server chunks this body: the framing is kept, as sent
    expect(raw).toContain('Transfer-Encoding: chunked\r\n\r\n42\r\n<!doctype html>');
    expect(raw.endsWith('<p id="p">over TLS</p>\r\n0\r\n\r\n')).toBe(true);
    expect((await readFile(ex.bodyPath!)).toString()).toBe('<!doctype html><title>secure fixture</title><p id="p">over TLS</p>');
    expect(tlsConnections).toBeGreaterThanOrEqual(1);

    await proxy.close();
    const warc = path.join(dir, 'tls.warc.gz');
    await proxy.writeWarc(warc, { software: 'Exhibit test', operator: 'analyst-01', captureId: 'c-tls' });
    expect((await checkWarc(warc)).ok).toBe(true);
    await run(PYTHON, ['-m', 'warcio.cli', 'check', warc]);
    const index = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'warc-type,warc-target-uri,warc-ip-address', warc]);
    expect(index.stdout).toContain(`"warc-target-uri": "https://127.0.0.1:${port}/", "warc-ip-address": "127.0.0.1"`);
  });

  it('goes through an upstream proxy (http and https) and records it', async () => {
    const site = await startFixture();
    const outer = await startProxy({ allowPrivateNetwork: true });
    const inner = await startProxy({ allowPrivateNetwork: true }, { upstreamProxy: outer.url });
    const plain = await getViaProxy(inner.url, `http://127.0.0.1:${site.port}/pixel.png`);
    expect(plain.status).toBe(200);
    expect(Buffer.compare(plain.body, PNG_1X1)).toBe(0);
    await until(() => inner.inflight() === 0 && outer.inflight() === 0);
    const viaInner = byPath(inner.exchanges(), '/pixel.png')!;
    expect(viaInner.upstreamProxy).toBe(`${outer.url}/`);
    expect(viaInner.remotePort).toBe(Number(new URL(outer.url).port));
    expect(byPath(outer.exchanges(), '/pixel.png')?.remotePort).toBe(site.port);
    expect(Buffer.compare(await readFile(viaInner.rawResponsePath!), site.written.get('/pixel.png')!)).toBe(0);

    // https through the chain: the inner proxy tunnels with CONNECT to the checked address
    const server = https.createServer({ ...selfSigned() }, (_req, res) => res.end('tunnelled'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    const page = await newPage(inner);
    const res = await page.goto(`https://127.0.0.1:${port}/x`);
    expect(await res?.text()).toBe('tunnelled');
    await until(() => inner.inflight() === 0);
    const ex = byPath(inner.exchanges(), '/x')!;
    expect(ex.error).toBeNull();
    expect(ex.upstreamProxy).toBe(`${outer.url}/`);
    // the certificate the inner proxy saw is the outer proxy's interception leaf
    expect(ex.tls?.subject).toContain('CN=127.0.0.1');
    expect(byPath(outer.exchanges(), '/x')?.tls?.subject).toContain('CN=exhibit-chain');
  });
});

let selfSignedCache: { key: Buffer; cert: Buffer } | null = null;
function selfSigned(): { key: Buffer; cert: Buffer } {
  if (selfSignedCache) return selfSignedCache;
  const dir = execFileSync('mktemp', ['-d']).toString().trim();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-days', '2', '-subj', '/CN=exhibit-chain'], { stdio: 'ignore' });
  selfSignedCache = { key: execFileSync('cat', [`${dir}/k.pem`]), cert: execFileSync('cat', [`${dir}/c.pem`]) };
  execFileSync('rm', ['-rf', dir]);
  return selfSignedCache;
}

describe('RecordingProxy limits and failures', () => {
  it('cuts a response at maxResourceBytes, flags it and aborts it to the client', async () => {
    const big = response('200 OK', [['Content-Type', 'application/octet-stream'], ['Content-Length', '200000'], ['Connection', 'close']], Buffer.alloc(200_000, 0x61));
    const site = await rawServer('127.0.0.1', () => big);
    cleanups.push(() => site.close());
    const proxy = await startProxy({ allowPrivateNetwork: true }, { maxResourceBytes: 50_000 });
    const got = await getViaProxy(proxy.url, `http://127.0.0.1:${site.port}/big`);
    // cut before the headers reached the client: an error answer; after: an aborted body
    expect(got.aborted || got.status === 502).toBe(true);
    expect(got.body.length).toBeLessThan(200_000);
    await until(() => proxy.inflight() === 0);
    const ex = byPath(proxy.exchanges(), '/big')!;
    expect(ex.truncated).toBe(true);
    expect(ex.error?.code).toBe('TOO_LARGE');
    expect(ex.error?.message).toContain('50000');
    expect(ex.rawResponseSize).toBe(50_000);
    expect((await readFile(ex.rawResponsePath!)).length).toBe(50_000);
    expect(Buffer.compare(await readFile(ex.rawResponsePath!), big.subarray(0, 50_000))).toBe(0);
    expect(ex.bodySize).toBeLessThanOrEqual(50_000);

    // WARC marks the record truncated and still validates
    await proxy.close();
    const warc = path.join(workRoot, `trunc-${Date.now()}.warc.gz`);
    await proxy.writeWarc(warc, { software: 't', operator: 'o', captureId: 'c' });
    await run(PYTHON, ['-m', 'warcio.cli', 'check', warc]);
    const idx = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'warc-type,warc-truncated', warc]);
    expect(idx.stdout).toContain('"warc-type": "response", "warc-truncated": "length"');
  });

  it('refuses further requests once maxTotalBytes is spent', async () => {
    const site = await startFixture();
    const proxy = await startProxy({ allowPrivateNetwork: true }, { maxTotalBytes: 300 });
    const first = await getViaProxy(proxy.url, `http://127.0.0.1:${site.port}/`);
    expect(first.aborted || first.status === 502).toBe(true);
    const second = await getViaProxy(proxy.url, `http://127.0.0.1:${site.port}/pixel.png`);
    expect(second.status).toBe(502);
    await until(() => proxy.inflight() === 0);
    expect(proxy.totalBytes()).toBe(300);
    expect(byPath(proxy.exchanges(), '/pixel.png')?.error?.code).toBe('TOO_LARGE');
    expect(site.connections).toBe(1);
  });

  it('times out an idle upstream with 504 and does not hang close() on a hung one', async () => {
    const hung = await rawServer('127.0.0.1', () => null); // accepts, reads, never answers
    cleanups.push(() => hung.close());
    const proxy = await startProxy({ allowPrivateNetwork: true }, { upstreamIdleTimeoutMs: 300 });
    const timedOut = await getViaProxy(proxy.url, `http://127.0.0.1:${hung.port}/slow`);
    expect(timedOut.status).toBe(504);
    await until(() => proxy.inflight() === 0);
    expect(byPath(proxy.exchanges(), '/slow')?.error?.code).toBe('TIMEOUT');

    const patient = await startProxy({ allowPrivateNetwork: true }); // 30 s default idle timeout
    const pending = getViaProxy(patient.url, `http://127.0.0.1:${hung.port}/forever`).catch((e: Error) => e);
    await until(() => patient.inflight() === 1 && hung.requests.some((r) => r.startsWith('GET /forever')));
    const t0 = Date.now();
    await patient.close();
    expect(Date.now() - t0).toBeLessThan(3_000);
    await patient.close(); // idempotent
    await pending;
    const ex = byPath(patient.exchanges(), '/forever')!;
    expect(ex.completedAt).not.toBeNull();
    expect(ex.error?.code).toBe('CONNECTION_FAILED');
    expect(patient.inflight()).toBe(0);
  });

  it('records an upstream reset mid-body as truncated and keeps serving', async () => {
    const site = await rawServer('127.0.0.1', (p, socket) => {
      if (p !== '/reset') return ROUTES['/pixel.png']!;
      socket.write(response('200 OK', [['Content-Length', '1000'], ['Connection', 'close']], 'only-part'));
      setTimeout(() => socket.resetAndDestroy(), 50);
      return null;
    });
    cleanups.push(() => site.close());
    const proxy = await startProxy({ allowPrivateNetwork: true });
    const got = await getViaProxy(proxy.url, `http://127.0.0.1:${site.port}/reset`);
    expect(got.aborted).toBe(true);
    await until(() => proxy.inflight() === 0);
    const ex = byPath(proxy.exchanges(), '/reset')!;
    expect(ex.truncated).toBe(true);
    expect(ex.error?.code).toBe('CONNECTION_FAILED');
    expect((await readFile(ex.rawResponsePath!)).toString()).toMatch(/only-part$/);
    const next = await getViaProxy(proxy.url, `http://127.0.0.1:${site.port}/pixel.png`);
    expect(next.status).toBe(200);
  });

  it('records a client abort and a refused WebSocket upgrade without breaking', async () => {
    const slow = await rawServer('127.0.0.1', (_p, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nfirst\r\n');
      return null;
    });
    cleanups.push(() => slow.close());
    const proxy = await startProxy({ allowPrivateNetwork: true });
    const p = new URL(proxy.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: p.hostname, port: Number(p.port), path: `http://127.0.0.1:${slow.port}/stream`, agent: false });
      req.on('response', (res) => res.once('data', () => (req.destroy(), resolve())));
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no first chunk')), 5_000);
      req.end();
    });
    await until(() => proxy.inflight() === 0);
    const ex = byPath(proxy.exchanges(), '/stream')!;
    expect(ex.error?.code).toBe('CONNECTION_FAILED');
    expect(ex.error?.message).toContain('browser closed');
    expect(ex.truncated || ex.rawResponseSize > 0).toBe(true);

    const ws = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: p.hostname, port: Number(p.port), path: `http://127.0.0.1:${slow.port}/socket`, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' }, agent: false });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => reject(new Error('upgrade must be refused')));
      req.on('error', reject);
      req.end();
    });
    expect(ws).toBe(403);
    const wsEx = proxy.exchanges().find((e) => e.url.endsWith('/socket'))!;
    expect(wsEx.url.startsWith('ws://')).toBe(true);
    expect(wsEx.error?.code).toBe('UNSUPPORTED_SCHEME');
    expect(slow.requests.some((r) => r.includes('/socket'))).toBe(false);
  });

  it('answers non-proxy requests and bad schemes with errors, not crashes', async () => {
    const proxy = await startProxy({ allowPrivateNetwork: true });
    const direct = await getViaProxy(proxy.url, '/not-absolute');
    expect(direct.status).toBe(400);
    const ftp = await getViaProxy(proxy.url, 'ftp://127.0.0.1/file');
    expect(ftp.status).toBe(403);
    await until(() => proxy.inflight() === 0);
    expect(proxy.exchanges().find((e) => e.url.startsWith('ftp:'))?.error?.code).toBe('UNSUPPORTED_SCHEME');
    const refused = await getViaProxy(proxy.url, 'http://127.0.0.1:1/');
    expect(refused.status).toBe(502);
    await until(() => proxy.inflight() === 0);
    expect(byPath(proxy.exchanges(), '/')?.error?.code).toBe('CONNECTION_FAILED');
  });
});
