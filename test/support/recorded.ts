import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import type { RecordedExchange } from '../../collectors/browser/recorded-exchange.js';
import type { ExtractContext } from '../../collectors/platform/capture-platform-page.js';
import { RecordedView } from '../../collectors/platform/recorded.js';

/**
 * Recordings for collector unit tests, with no network: exchanges with sensible defaults, a
 * RecordedView whose bodies are given inline, and the context a platform extractor reads.
 */

let seq = 0;
/** A recorded exchange with sensible defaults. */
export function exchange(over: Partial<RecordedExchange> & { url: string }): RecordedExchange {
  seq += 1;
  return {
    id: `ex-${seq}`,
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:01.000Z',
    method: 'GET',
    requestHeaders: [],
    rawRequestPath: null,
    requestBodyPath: null,
    status: 200,
    statusText: 'OK',
    httpVersion: '1.1',
    responseHeaders: [['Content-Type', 'text/html']],
    rawResponsePath: null,
    rawResponseSize: 0,
    bodyPath: null,
    bodySize: 0,
    truncated: false,
    remoteIp: '203.0.113.7',
    remotePort: 80,
    tls: null,
    dns: null,
    upstreamProxy: null,
    error: null,
    ...over,
  };
}

/** One recorded exchange and its decoded body: text or bytes as given, any other value as JSON; none when undefined. */
export interface RecordedItem {
  ex: RecordedExchange;
  body?: unknown;
}

export interface Recordings {
  /** Where the bodies are written (also the extract context's spool directory); removed after the enclosing suite. */
  dir: string;
  /** A RecordedView over the items, read as the capture would read them. */
  viewOf(items: readonly RecordedItem[], pageUrl?: string): RecordedView;
  /** The extract context over a view, observed at `observedAt`, keeping no responses. */
  ctx(view: RecordedView): ExtractContext;
}

/**
 * Recordings under a fresh temp directory named after `name`. `pageUrl` is the default page of
 * `viewOf`; call it at the top of a file or a describe block (it registers the clean-up there).
 */
export function recordings(name: string, opts: { observedAt: string; pageUrl?: string }): Recordings {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-unit-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    viewOf(items, pageUrl = opts.pageUrl) {
      if (pageUrl === undefined) throw new Error('viewOf: no page URL given and no default');
      const paths = new Map<string, string>();
      for (const { ex, body } of items) {
        if (body === undefined) continue;
        const p = path.join(dir, `${ex.id}.body`);
        writeFileSync(p, typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body));
        paths.set(ex.id, p);
      }
      return new RecordedView(items.map((i) => i.ex), { decodedBodyPath: async (ex) => paths.get(ex.id) ?? null }, pageUrl);
    },
    ctx: (view) => ({ view, snapshot: null, observedAt: opts.observedAt, spoolDir: dir, keepResponse: async () => null }),
  };
}
