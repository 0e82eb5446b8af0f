import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { checkedStream } from '../../evidence/hash.js';
import { IntegrityError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { sha256Digest } from '../../evidence/canonical.js';
import { REPLAY_VIEWER_FILES, REPLAYWEBPAGE_DIR, replayViewerHtml } from '../../evidence/replay.js';
import type { Services } from '../../workers/runtime.js';
import { resolveReplayToken, type ReplayGrant } from './replay-tokens.js';

/** Largest archive answered to a range request (read whole and checked before any slice is sent). */
const MAX_RANGED_BYTES = 512 * 1024 * 1024;

/**
 * The viewer page's policy: ReplayWeb.page's own scripts only, its styles inline (lit), and nothing
 * from any other origin. Captured pages are answered by the service worker, which sets its own
 * policy on them (no network beyond this origin); the worker script itself may connect to this
 * origin only, so a replayed page cannot reach the live web through it either.
 */
const viewerCsp = (frameAncestors: string | null) =>
  `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self' data: blob:; worker-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'${frameAncestors ? `; frame-ancestors ${frameAncestors}` : ''}`;
const WORKER_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; object-src 'none'";

/** What the service worker serves as the inner app page (`serveIndex`); answered here too, before it is installed. */
const RWP_INDEX = '<!doctype html>\n<html><head><meta charset="utf-8"><script src="./ui.js"></script></head><body><replay-app-main></replay-app-main></body></html>\n';

/** One `bytes=` range of a resource of `size` bytes; null when absent or not one we answer (then the whole resource is sent). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * The replay origin: a second HTTP service, on its own port or host name, that serves
 * ReplayWeb.page and, with a replay token, one capture's archive. It reads no cookie and has no
 * route that changes anything; captured pages run here, never in the web app's origin.
 */
export function createReplayApp(services: Services, logger: Logger): Hono {
  const files = new Map(REPLAY_VIEWER_FILES.map((f) => [f, readFileSync(path.join(REPLAYWEBPAGE_DIR, f))]));
  const app = new Hono();
  const base = (h: Headers) => {
    const set = (k: string, v: string) => {
      if (!h.has(k)) h.set(k, v);
    };
    set('X-Content-Type-Options', 'nosniff');
    set('Referrer-Policy', 'no-referrer');
    set('Cross-Origin-Resource-Policy', 'same-origin');
    set('Cache-Control', 'no-store');
    set('Content-Security-Policy', viewerCsp("'none'"));
  };
  app.use('*', async (c, next) => {
    await next();
    try {
      base(c.res.headers);
    } catch {
      c.res = new Response(c.res.body, c.res);
      base(c.res.headers);
    }
  });
  app.notFound(() => new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }));
  app.onError((err) => {
    logger.error({ context: 'api', err }, 'replay origin: request failed');
    return new Response('replay failed', { status: err instanceof IntegrityError ? 409 : 500, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  });
  const expired = () => new Response('This replay link has expired or is not valid. Open Replay again from the capture view.', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });

  // ReplayWeb.page's inner app page, framed by the viewer (itself framed by the web app, whose
  // origin this page cannot know): it holds no token and reads nothing without one.
  const rwpIndex = () => new Response(RWP_INDEX, { headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': viewerCsp(null) } });
  app.get('/rwp/:file', (c) => {
    const name = c.req.param('file');
    if (name === 'index.html') return rwpIndex();
    const body = files.get(name as (typeof REPLAY_VIEWER_FILES)[number]);
    if (!body) return c.notFound();
    const headers: Record<string, string> = { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' };
    // The worker's own policy bounds every fetch it makes (archives only from this origin).
    if (name === 'sw.js') Object.assign(headers, { 'Content-Security-Policy': WORKER_CSP, 'Service-Worker-Allowed': '/rwp/' });
    return new Response(new Uint8Array(body), { headers });
  });
  app.get('/rwp/', () => rwpIndex());

  app.get('/view/:token', async (c) => {
    const token = c.req.param('token');
    const g = await resolveReplayToken(services, token);
    if (!g) return expired();
    const html = replayViewerHtml({
      archiveUrl: `/archive/${token}/${g.artifact.name.split('/').map(encodeURIComponent).join('/')}`,
      pageUrl: g.pageUrl,
      scriptUrl: '/rwp/ui.js',
      replayBase: '/rwp/',
      title: `Replay of capture ${g.captureId}`,
    });
    return new Response(html, { headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': viewerCsp(g.appOrigin) } });
  });

  const archive = async (c: { req: { param(n: string): string | undefined; header(n: string): string | undefined; method: string } }) => {
    const g = await resolveReplayToken(services, c.req.param('token') ?? '');
    if (!g || c.req.param('name') !== g.artifact.name) return expired();
    return sendArchive(services, logger, g, c.req.method === 'HEAD', c.req.header('range'));
  };
  app.get('/archive/:token/:name{.+}', archive);
  app.on('HEAD', '/archive/:token/:name{.+}', archive);
  return app;
}

/** The archive, checked against its sealed digest: whole (hashed while streaming) or one range (checked whole first). */
async function sendArchive(s: Services, logger: Logger, g: ReplayGrant, head: boolean, rangeHeader: string | undefined): Promise<Response> {
  const a = g.artifact;
  const headers: Record<string, string> = {
    'Content-Type': a.name.endsWith('.wacz') ? 'application/wacz' : a.mediaType,
    'Accept-Ranges': a.size <= MAX_RANGED_BYTES ? 'bytes' : 'none',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Content-Disposition': 'attachment',
  };
  const range = a.size <= MAX_RANGED_BYTES ? parseRange(rangeHeader, a.size) : null;
  if (range === 'unsatisfiable') return new Response(null, { status: 416, headers: { ...headers, 'Content-Range': `bytes */${a.size}` } });
  if (head) return new Response(null, { status: 200, headers: { ...headers, 'Content-Length': String(a.size) } });
  if (range) {
    const bytes = await s.store.getBytes(a.storeKey);
    if (sha256Digest(bytes) !== a.sha256) throw new IntegrityError('HASH_MISMATCH', `archive ${a.name} of capture ${g.captureId} does not match its manifest digest`);
    const part = bytes.subarray(range.start, range.end + 1);
    return new Response(new Uint8Array(part), { status: 206, headers: { ...headers, 'Content-Length': String(part.length), 'Content-Range': `bytes ${range.start}-${range.end}/${a.size}` } });
  }
  const checked = checkedStream(await s.store.get(a.storeKey), { name: `archive ${a.name}`, sha256: a.sha256, size: a.size }, (got) =>
    logger.error({ context: 'api', caseId: g.caseId, captureId: g.captureId, artifact: a.name, got, expected: a.sha256 }, 'archive in the store does not match its manifest'),
  );
  return new Response(Readable.toWeb(checked) as ReadableStream<Uint8Array>, { status: 200, headers: { ...headers, 'Content-Length': String(a.size) } });
}

/** Listen on host:port; resolves with the bound origin once listening. */
export function listenReplay(app: Hono, host: string, port: number): Promise<{ url: string; port: number; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      const h = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${h}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}
