import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { newId as defaultNewId, isoUtc, systemClock, type Clock, type IdGenerator } from '../../lib/clock.js';
import { PermanentError, TransientError, toFailure } from '../../lib/errors.js';
import { childLogger, type Logger } from '../../lib/logger.js';
import type { ErrorCode } from '../../schemas/errors.js';
import { decodeBody, isDecodeLimit } from './decode-body.js';
import { MitmCa } from './mitm-ca.js';
import { redactUrl } from '../../lib/target-url.js';
import type { LookupFn, NetPolicy } from './net-policy.js';
import type { RecordedExchange } from './recorded-exchange.js';
import { connectUpstream, type ConnectionFacts } from './upstream.js';
import { writeWarcFile, type WarcInfo } from './warc-writer.js';

export type { RecordedExchange } from './recorded-exchange.js';
export type { WarcInfo } from './warc-writer.js';

/** Options of {@link RecordingProxy.start}. */
export interface RecordingProxyOptions {
  /** Which targets may be contacted; checked on every request after DNS resolution. */
  policy: NetPolicy;
  /** Directory for the recorded bytes of every exchange (created if missing). */
  workDir: string;
  /** Raw bytes recorded for one response; past this it is cut, flagged TOO_LARGE and aborted. */
  maxResourceBytes: number;
  /** Raw bytes recorded for all responses together; past this every response is cut and refused. */
  maxTotalBytes: number;
  /** `http://[user:pass@]host:port` proxy for all upstream traffic, or null. */
  upstreamProxy: string | null;
  logger: Logger;
  /** Resolver for target hosts. @defaultValue `dns.lookup(host, { all: true })` */
  lookup?: LookupFn;
  /** An upstream connection with no bytes for this long is aborted (TIMEOUT). @defaultValue 30000 */
  upstreamIdleTimeoutMs?: number;
  /** Limit for TCP connect, proxy CONNECT and TLS handshake, each. @defaultValue 15000 */
  connectTimeoutMs?: number;
  clock?: Clock;
  newId?: IdGenerator;
}

/** Headers that describe one connection, not the message: never forwarded in either direction. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);

function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** Drop hop-by-hop headers and any header a `Connection` header names. */
function endToEnd(headers: Array<[string, string]>): Array<[string, string]> {
  const named = new Set(
    headers
      .filter(([k]) => k.toLowerCase() === 'connection')
      .flatMap(([, v]) => v.split(','))
      .map((t) => t.trim().toLowerCase()),
  );
  return headers.filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()) && !named.has(k.toLowerCase()));
}

/**
 * Request header a collector's own request (Playwright's APIRequestContext) carries so the proxy
 * hands it the body still content-encoded: that client decodes gzip/br/deflate in memory without
 * any limit, so the collector reads the body from the recording instead, through the bounded
 * decoder. Removed before the request is recorded or forwarded; the recording is unchanged.
 */
export const RAW_BODY_HEADER = 'X-Exhibit-Raw-Body';

/** Header naming the error code on the proxy's own (empty) answer to a request it refused or could not complete. */
export const REFUSAL_HEADER = 'X-Exhibit-Error';

const httpStatusFor = (code: ErrorCode) => (code === 'BLOCKED_ADDRESS' || code === 'UNSUPPORTED_SCHEME' ? 403 : code === 'TIMEOUT' ? 504 : 502);

/** Mutable state of one exchange while it runs. */
interface Live {
  ex: RecordedExchange;
  /** Settles the exchange once; later calls are ignored. */
  finish(error?: unknown): void;
  done: Promise<void>;
}

/**
 * An in-process HTTP(S) recording proxy for one capture. Chromium is pointed at {@link url}; every
 * request is checked against the {@link NetPolicy} after DNS resolution, forwarded on a fresh
 * upstream connection, and recorded byte for byte (raw response as received, body after transfer
 * decoding, request as sent, remote IP, DNS answers, the real TLS certificate). HTTPS is
 * intercepted with a per-process CA the browser context is told to ignore.
 *
 * @example
 * const proxy = await RecordingProxy.start({ policy, workDir, maxResourceBytes, maxTotalBytes, upstreamProxy: null, logger });
 * const context = await browser.newContext({ proxy: { server: proxy.url, bypass: '<-loopback>' }, ignoreHTTPSErrors: true });
 * // … load the page, wait for proxy.inflight() === 0 …
 * await proxy.close();
 * await proxy.writeWarc(path.join(spoolDir, 'traffic.warc.gz'), { software, operator, captureId });
 */
export class RecordingProxy {
  /** `http://127.0.0.1:<port>`, for Playwright's `proxy.server`. */
  readonly url: string;

  private readonly live = new Map<string, Live>();
  private readonly recorded: RecordedExchange[] = [];
  private readonly clientSockets = new Set<net.Socket>();
  private readonly upstreamSockets = new Set<net.Socket>();
  private readonly decoded = new Map<string, Promise<string | null>>();
  /** Exchanges whose client asked for the body still encoded ({@link RAW_BODY_HEADER}). */
  private readonly rawToClient = new Set<string>();
  private readonly tunnels = new WeakMap<net.Socket, { host: string; port: number; tls: boolean }>();
  private readonly log: Logger;
  private readonly upstreamProxy: URL | null;
  private readonly clock: Clock;
  private readonly newId: IdGenerator;
  private lastActivity = Date.now();
  private total = 0;
  /** Bytes of decoded (Content-Encoding removed) bodies written so far. */
  private decodedTotal = 0;
  private seq = 0;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly opts: RecordingProxyOptions,
    private readonly server: http.Server,
    private readonly mitm: http.Server,
    private readonly ca: MitmCa,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.log = childLogger(opts.logger, 'proxy');
    this.upstreamProxy = opts.upstreamProxy ? new URL(opts.upstreamProxy) : null;
    this.clock = opts.clock ?? systemClock;
    this.newId = opts.newId ?? defaultNewId;
  }

  /** Start listening on a free loopback port. */
  static async start(opts: RecordingProxyOptions): Promise<RecordingProxy> {
    if (opts.upstreamProxy) {
      const u = new URL(opts.upstreamProxy);
      if (u.protocol !== 'http:') throw new PermanentError('INVALID_CONFIG', `upstream proxy must be an http:// URL, got ${redactUrl(u)}`);
    }
    await mkdir(opts.workDir, { recursive: true });
    const ca = await MitmCa.create();
    const server = http.createServer();
    const mitm = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as net.AddressInfo).port;
    const proxy = new RecordingProxy(opts, server, mitm, ca, port);
    proxy.wire();
    proxy.log.debug({ url: proxy.url, upstreamProxy: opts.upstreamProxy ? redactUrl(opts.upstreamProxy) : null }, 'recording proxy listening');
    return proxy;
  }

  /** Every exchange so far (in-flight ones have `completedAt: null`), in start order. Copies. */
  exchanges(): RecordedExchange[] {
    return this.recorded.map((ex) => structuredClone(ex));
  }

  /** Exchanges not yet completed. */
  inflight(): number {
    return this.live.size;
  }

  /** When a request last started, received bytes or completed (ms since epoch), for "network quiet". */
  lastActivityAt(): number {
    return this.lastActivity;
  }

  /** Raw response bytes recorded so far, all exchanges together. */
  totalBytes(): number {
    return this.total;
  }

  /**
   * Write every completed exchange to a new gzipped WARC 1.1 file (fails if it exists). Call after
   * {@link close} (or once {@link inflight} is 0): in-flight exchanges are not written.
   */
  writeWarc(filePath: string, info: WarcInfo): Promise<{ records: number; bytes: number }> {
    return writeWarcFile(filePath, this.recorded, info);
  }

  /**
   * Path of the exchange's body with its Content-Encoding (gzip, deflate, br, zstd, in any stack)
   * removed; the body file itself when it has none. Null when there is no body or the encoding is
   * unknown. Decoded files are written to the work directory once and cached. Decoding is bounded:
   * one body decodes to at most `maxResourceBytes`, and all decoded bodies together to at most
   * `maxTotalBytes` (a small compressed body can expand a thousandfold).
   * @throws PermanentError `TOO_LARGE` past either limit (see {@link isDecodeLimit}: the body as
   *   served is still in `ex.bodyPath` and the WARC), `CORRUPT_MEDIA` when the body does not decode.
   */
  decodedBodyPath(ex: RecordedExchange): Promise<string | null> {
    let p = this.decoded.get(ex.id);
    if (!p) {
      p = this.decode(ex);
      this.decoded.set(ex.id, p);
    }
    return p;
  }

  private async decode(ex: RecordedExchange): Promise<string | null> {
    const room = this.opts.maxTotalBytes - this.decodedTotal;
    const maxBytes = Math.max(0, Math.min(this.opts.maxResourceBytes, room));
    try {
      const out = await decodeBody(ex, path.join(this.opts.workDir, `${ex.id}.decoded`), { maxBytes });
      if (out !== null && out !== ex.bodyPath) this.decodedTotal += (await stat(out)).size;
      return out;
    } catch (err) {
      if (isDecodeLimit(err) && room < this.opts.maxResourceBytes) {
        throw new PermanentError('TOO_LARGE', `${(err as Error).message} (what is left of the page limit of ${this.opts.maxTotalBytes} decoded bytes)`, { cause: err });
      }
      throw err;
    }
  }

  /** Stop accepting, abort whatever is in flight (recorded as such) and close every socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------

  private wire(): void {
    const track = (socket: net.Socket) => {
      this.clientSockets.add(socket);
      socket.once('close', () => this.clientSockets.delete(socket));
    };
    this.server.on('connection', track);
    this.server.on('request', (req, res) => {
      const url = req.url ?? '';
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Exhibit recording proxy: only proxy requests (absolute URIs) are served\n');
        return;
      }
      this.handle(req, res, url);
    });
    this.server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void this.onConnect(req, socket, head));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => this.refuseUpgrade(req, socket, (req.url ?? '').replace(/^http/i, 'ws')));
    this.server.on('clientError', (err, socket) => socket.destroy(err));
    this.mitm.on('request', (req, res) => {
      const t = this.tunnels.get(req.socket);
      if (!t) return void res.destroy();
      this.handle(req, res, t.tls ? `https://${this.authority(t.host, t.port, 443)}${req.url ?? '/'}` : `http://${this.authority(t.host, t.port, 80)}${req.url ?? '/'}`);
    });
    this.mitm.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      const t = this.tunnels.get(socket);
      this.refuseUpgrade(req, socket, t ? `${t.tls ? 'wss' : 'ws'}://${this.authority(t.host, t.port, t.tls ? 443 : 80)}${req.url ?? '/'}` : 'wss://unknown/');
    });
    this.mitm.on('clientError', (err, socket) => socket.destroy(err));
  }

  private authority(host: string, port: number, defaultPort: number): string {
    const h = host.includes(':') ? `[${host}]` : host;
    return port === defaultPort ? h : `${h}:${port}`;
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  /** Terminate the browser's CONNECT tunnel with a leaf for the requested host. */
  private async onConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'browser tunnel socket error'));
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+):(\d{1,5})$/.exec(req.url ?? '');
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535 || this.closing) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nExhibit recording proxy: bad CONNECT target\n');
      return;
    }
    const host = m[1]!.replace(/^\[|\]$/g, '');
    let secureContext: tls.SecureContext;
    try {
      secureContext = await this.ca.secureContext(host);
    } catch (err) {
      this.log.error({ err: (err as Error).message, host }, 'cannot issue interception certificate');
      socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
      return;
    }
    if (socket.destroyed) return;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    // Clients may tunnel plain HTTP too (Playwright's APIRequestContext CONNECTs for http:// URLs):
    // a tunnel whose first byte is not a TLS handshake record (0x16) carries HTTP as is.
    const first = head.length > 0 ? head : await firstChunk(socket);
    if (first === null) return void socket.destroy();
    socket.unshift(first);
    if (first[0] !== 0x16) {
      this.tunnels.set(socket, { host, port, tls: false });
      this.mitm.emit('connection', socket);
      return;
    }
    const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
    tlsSocket.on('error', (err) => {
      this.log.debug({ err: err.message, host }, 'browser TLS error');
      tlsSocket.destroy();
    });
    this.tunnels.set(tlsSocket, { host, port, tls: true });
    this.clientSockets.add(tlsSocket);
    tlsSocket.once('close', () => this.clientSockets.delete(tlsSocket));
    this.mitm.emit('connection', tlsSocket);
  }

  private newExchange(method: string, url: string, headers: Array<[string, string]>): RecordedExchange {
    const id = this.newId();
    const ex: RecordedExchange = {
      id,
      startedAt: isoUtc(this.clock.now()),
      completedAt: null,
      method,
      url,
      requestHeaders: headers,
      rawRequestPath: null,
      requestBodyPath: null,
      status: null,
      statusText: null,
      httpVersion: null,
      responseHeaders: [],
      rawResponsePath: null,
      rawResponseSize: 0,
      bodyPath: null,
      bodySize: 0,
      truncated: false,
      remoteIp: null,
      remotePort: null,
      tls: null,
      dns: null,
      upstreamProxy: null,
      error: null,
    };
    this.recorded.push(ex);
    this.touch();
    return ex;
  }

  private file(ex: RecordedExchange, suffix: string): string {
    return path.join(this.opts.workDir, `${String(++this.seq).padStart(5, '0')}-${ex.id}.${suffix}`);
  }

  private refuseUpgrade(req: http.IncomingMessage, socket: net.Socket, url: string): void {
    const ex = this.newExchange(req.method ?? 'GET', url, endToEnd(pairs(req.rawHeaders)));
    ex.error = { code: 'UNSUPPORTED_SCHEME', message: `WebSocket upgrade to ${redactUrl(url)} refused: the recording proxy captures http and https only` };
    ex.completedAt = isoUtc(this.clock.now());
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nExhibit recording proxy: WebSocket refused\n');
    this.log.info({ url: redactUrl(url) }, 'websocket upgrade refused');
  }

  /** Record and forward one request; never throws (every failure becomes the exchange's error). */
  private handle(req: http.IncomingMessage, res: http.ServerResponse, url: string): void {
    const all = endToEnd(pairs(req.rawHeaders));
    const raw = all.some(([k]) => k.toLowerCase() === RAW_BODY_HEADER.toLowerCase());
    const headers = [...all.filter(([k]) => k.toLowerCase() !== RAW_BODY_HEADER.toLowerCase()), ['Connection', 'close'] as [string, string]];
    const ex = this.newExchange(req.method ?? 'GET', url, headers);
    if (raw) this.rawToClient.add(ex.id);
    res.sendDate = false;
    req.on('error', () => undefined);
    res.on('error', () => undefined);

    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    const cleanups: Array<() => Promise<void> | void> = [];
    const state = { done: false };
    const finish = (error?: unknown) => {
      if (state.done) return;
      state.done = true;
      if (error !== undefined) {
        const f = toFailure(error);
        ex.error ??= { code: f.code, message: f.message };
        const level = f.code === 'BLOCKED_ADDRESS' || f.code === 'TOO_LARGE' ? 'warn' : 'info';
        this.log[level]({ url: redactUrl(url), code: f.code, reason: f.message }, 'exchange failed');
        if (!res.headersSent && !res.destroyed) {
          // No body: an iframe or popup sent to a refused address shows nothing, never a message
          // that a screenshot or DOM could pass off as the page's. The reason is on the exchange.
          res.writeHead(httpStatusFor(f.code), { 'Content-Length': '0', 'Cache-Control': 'no-store', [REFUSAL_HEADER]: f.code, Connection: 'close' });
          res.end();
        } else if (!res.writableEnded) {
          res.destroy();
        }
      }
      void Promise.allSettled(cleanups.map((c) => c())).then(() => {
        ex.completedAt ??= isoUtc(this.clock.now());
        this.live.delete(ex.id);
        this.touch();
        settle();
      });
    };
    this.live.set(ex.id, { ex, finish, done });
    this.forward(ex, req, res, finish, state, cleanups).catch(finish);
  }

  private async forward(
    ex: RecordedExchange,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    finish: (error?: unknown) => void,
    state: { readonly done: boolean },
    cleanups: Array<() => Promise<void> | void>,
  ): Promise<void> {
    let target: URL;
    try {
      target = new URL(ex.url);
    } catch (cause) {
      throw new PermanentError('INVALID_URL', `not a valid URL: ${JSON.stringify(redactUrl(ex.url).slice(0, 200))}`, { cause });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new PermanentError('UNSUPPORTED_SCHEME', `unsupported scheme "${target.protocol}" in ${redactUrl(target)}: only http and https are recorded`);
    }
    if (this.closing) throw new TransientError('CONNECTION_FAILED', 'the recording proxy is closing');
    if (this.total >= this.opts.maxTotalBytes) throw new PermanentError('TOO_LARGE', `page byte limit of ${this.opts.maxTotalBytes} bytes reached; ${redactUrl(target)} not fetched`);

    // The browser going away at any point ends the exchange; once the whole upstream response has
    // arrived (and is being flushed to disk) the browser may already hold every byte and hang up.
    let upstreamEnded = false;
    res.once('close', () => {
      if (!res.writableFinished && !upstreamEnded) finish(new TransientError('CONNECTION_FAILED', 'the browser closed the connection before the response was complete'));
    });

    const facts: ConnectionFacts = ex;
    const conn = await connectUpstream(target, { policy: this.opts.policy, lookup: this.opts.lookup, upstreamProxy: this.upstreamProxy, connectTimeoutMs: this.opts.connectTimeoutMs ?? 15_000 }, facts);
    const socket = conn.socket;
    socket.on('error', () => undefined);
    // Settled while connecting (browser gone, proxy closing): nothing more to record.
    if (state.done) return void socket.destroy();
    if (this.closing) {
      socket.destroy();
      throw new TransientError('CONNECTION_FAILED', 'the recording proxy is closing');
    }
    this.upstreamSockets.add(socket);
    cleanups.push(() => {
      socket.destroy();
      this.upstreamSockets.delete(socket);
    });

    // Tee every byte written to and read from the upstream socket.
    ex.rawRequestPath = this.file(ex, 'request.raw');
    ex.rawResponsePath = this.file(ex, 'response.raw');
    const rawReq = openSink(ex.rawRequestPath, cleanups);
    const rawRes = openSink(ex.rawResponsePath, cleanups);
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      const enc = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8';
      rawReq.write(typeof chunk === 'string' ? Buffer.from(chunk, enc) : (chunk as Uint8Array));
      return write(chunk, ...rest);
    }) as typeof socket.write;
    const maxResource = this.opts.maxResourceBytes;
    const maxTotal = this.opts.maxTotalBytes;
    // Attached before the HTTP parser's own listener, so each chunk is on disk before it is parsed.
    socket.on('data', (chunk: Buffer) => {
      if (ex.truncated || state.done) return;
      this.touch();
      const room = Math.min(maxResource - ex.rawResponseSize, maxTotal - this.total);
      const take = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
      rawRes.write(take);
      ex.rawResponseSize += take.length;
      this.total += take.length;
      if (take.length < chunk.length) {
        ex.truncated = true;
        const which = ex.rawResponseSize >= maxResource ? `the per-resource limit of ${maxResource} bytes` : `the page limit of ${maxTotal} bytes`;
        finish(new PermanentError('TOO_LARGE', `response from ${redactUrl(target)} exceeds ${which}; recorded the first ${ex.rawResponseSize} bytes`));
      }
    });
    const idleMs = this.opts.upstreamIdleTimeoutMs ?? 30_000;
    socket.setTimeout(idleMs, () => {
      if (ex.rawResponseSize > 0) ex.truncated = true;
      finish(new TransientError('TIMEOUT', `no data from ${redactUrl(target)} for ${idleMs} ms`));
    });

    const upstreamReq = http.request({
      method: ex.method,
      path: conn.proxyRequestTarget ?? `${target.pathname}${target.search}`,
      headers: ex.requestHeaders.flat(),
      setHost: false,
      createConnection: () => socket,
    });
    upstreamReq.on('error', (cause: NodeJS.ErrnoException) => {
      if (ex.rawResponseSize > 0) ex.truncated = true;
      finish(new TransientError('CONNECTION_FAILED', `upstream ${redactUrl(target)}: ${cause.code ?? cause.message}`, { cause }));
    });

    // Request body: to upstream and to disk.
    let reqBody: WriteStream | null = null;
    req.on('data', (chunk: Buffer) => {
      if (state.done) return;
      if (!reqBody) {
        ex.requestBodyPath = this.file(ex, 'request-body');
        reqBody = openSink(ex.requestBodyPath, cleanups);
      }
      reqBody.write(chunk);
    });
    req.pipe(upstreamReq);

    upstreamReq.on('response', (upstreamRes: http.IncomingMessage) => {
      ex.status = upstreamRes.statusCode ?? null;
      ex.statusText = upstreamRes.statusMessage ?? null;
      ex.httpVersion = upstreamRes.httpVersion;
      ex.responseHeaders = pairs(upstreamRes.rawHeaders);
      // Already settled (e.g. the first chunk was over the limit): recorded, not forwarded.
      if (state.done || res.headersSent || res.destroyed) return;
      ex.bodyPath = this.file(ex, 'body');
      const body = openSink(ex.bodyPath, cleanups);
      const toClient = this.rawToClient.has(ex.id) ? endToEnd(ex.responseHeaders).filter(([k]) => k.toLowerCase() !== 'content-encoding') : endToEnd(ex.responseHeaders);
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, toClient.flat());
      upstreamRes.on('data', (chunk: Buffer) => {
        if (ex.truncated || state.done) return;
        body.write(chunk);
        ex.bodySize += chunk.length;
        if (!res.write(chunk)) upstreamRes.pause();
      });
      res.on('drain', () => upstreamRes.resume());
      upstreamRes.on('end', () => {
        if (state.done) return;
        upstreamEnded = true;
        // Flush the recording before the browser sees the end: whoever reacts to the response being
        // complete (the page, a collector's own request) finds it settled and whole on disk.
        void Promise.all([closeSink(body), closeSink(rawRes), closeSink(rawReq)]).then(() => {
          if (state.done) return;
          ex.completedAt ??= isoUtc(this.clock.now());
          if (res.destroyed) finish();
          else res.end(() => finish());
        });
      });
      upstreamRes.on('aborted', () => {
        ex.truncated = true;
        finish(new TransientError('CONNECTION_FAILED', `upstream ${redactUrl(target)} closed the connection mid-response`));
      });
      upstreamRes.on('error', () => undefined);
    });
  }

  private async shutdown(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const live of this.live.values()) live.finish(new TransientError('CONNECTION_FAILED', 'aborted: the recording proxy was closed'));
    for (const s of this.upstreamSockets) s.destroy();
    for (const s of this.clientSockets) s.destroy();
    this.server.closeAllConnections();
    const pending = Promise.allSettled([...this.live.values()].map((l) => l.done));
    await Promise.race([Promise.all([pending, serverClosed]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    if (this.live.size > 0) this.log.warn({ inflight: this.live.size }, 'recording proxy closed with exchanges still settling');
  }
}

const closing = new WeakMap<WriteStream, Promise<void>>();

/** End a recording sink and wait until its bytes are on disk; the same promise on every call. */
function closeSink(stream: WriteStream): Promise<void> {
  let p = closing.get(stream);
  if (!p) {
    stream.end();
    p = finished(stream).then(
      () => undefined,
      () => undefined,
    );
    closing.set(stream, p);
  }
  return p;
}

/** A write stream whose completion (or failure) is awaited by the exchange's cleanup. */
function openSink(file: string, cleanups: Array<() => Promise<void> | void>): WriteStream {
  const stream = createWriteStream(file, { flags: 'wx' });
  stream.on('error', () => undefined);
  cleanups.push(() => closeSink(stream));
  return stream;
}

/** The first bytes a client sends on a socket (left unconsumed by the caller's unshift), or null if it closes first. */
function firstChunk(socket: net.Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const done = (value: Buffer | null): void => {
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('end', onClose);
      resolve(value);
    };
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk !== null) done(chunk);
    };
    const onClose = (): void => done(null);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    socket.once('end', onClose);
  });
}
