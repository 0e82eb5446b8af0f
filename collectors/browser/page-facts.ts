import type { Page } from 'playwright-core';
import type { PageFacts } from '../../schemas/capture.js';
import type { RecordedExchange } from './recorded-exchange.js';

/** Kinds of media a page shows. */
export const MEDIA_KINDS = ['image', 'video', 'audio'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** A media reference found in the rendered DOM. */
export interface DomMediaRef {
  url: string;
  kind: MediaKind;
  /** Where it was found: `img`, `video`, `video-source`, `poster`, `audio`, `audio-source`, `svg-image`, `css-background`. */
  via: string;
}

/** What the page itself says about itself, read in the page after it settled. */
export interface PageSnapshot {
  title: string | null;
  canonicalUrl: string | null;
  lang: string | null;
  /** `dir` attribute of `<html>`, if any. */
  htmlDir: string | null;
  /** Computed `direction` of `<body>` (what the reader sees when no `dir` is set). */
  bodyDirection: string | null;
  metas: Array<{ key: string; content: string }>;
  /** Text of every `<script type="application/ld+json">`, in document order. */
  jsonLdRaw: string[];
  documentSize: { width: number; height: number };
  media: DomMediaRef[];
}

/** Upper bound of elements inspected for CSS background images, so huge DOMs stay cheap. */
const MAX_BACKGROUND_SCAN = 5000;

/**
 * In-page reader, as plain JavaScript source: tsx/esbuild `keepNames` would wrap named inner
 * functions of a compiled callback in `__name(...)`, which does not exist in the page.
 */
const SNAPSHOT_SCRIPT = String.raw`((maxScan) => {
  const doc = document;
  const root = doc.documentElement;
  const body = doc.body;
  const attr = (el, name) => (el && el.hasAttribute(name) ? el.getAttribute(name) : null);
  const canonicalEl = doc.querySelector('link[rel~="canonical" i][href]');
  const metas = [];
  for (const m of Array.from(doc.querySelectorAll('meta'))) {
    const key = m.getAttribute('property') || m.getAttribute('name') || m.getAttribute('itemprop');
    const content = m.getAttribute('content');
    if (key && content !== null) metas.push({ key: key.trim(), content });
  }
  const jsonLdRaw = Array.from(doc.querySelectorAll('script[type="application/ld+json" i]')).map((s) => s.textContent || '');
  const media = [];
  const push = (url, kind, via) => { if (url) media.push({ url, kind, via }); };
  for (const img of Array.from(doc.images)) push(img.currentSrc || img.src, 'image', 'img');
  for (const v of Array.from(doc.querySelectorAll('video'))) {
    push(v.currentSrc || v.src, 'video', 'video');
    for (const s of Array.from(v.querySelectorAll('source'))) push(s.src, 'video', 'video-source');
    push(v.poster, 'image', 'poster');
  }
  for (const a of Array.from(doc.querySelectorAll('audio'))) {
    push(a.currentSrc || a.src, 'audio', 'audio');
    for (const s of Array.from(a.querySelectorAll('source'))) push(s.src, 'audio', 'audio-source');
  }
  for (const im of Array.from(doc.querySelectorAll('svg image'))) {
    const href = im.getAttribute('href') || im.getAttribute('xlink:href');
    if (href) { try { push(new URL(href, doc.baseURI).href, 'image', 'svg-image'); } catch (e) { /* not a URL */ } }
  }
  const all = doc.querySelectorAll('body *');
  for (let i = 0; i < all.length && i < maxScan; i++) {
    const bg = getComputedStyle(all[i]).backgroundImage;
    if (!bg || bg === 'none') continue;
    for (const m of bg.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*?))\s*\)/g)) push(m[1] || m[2] || m[3], 'image', 'css-background');
  }
  const scroller = doc.scrollingElement || root;
  return {
    title: doc.title === '' && !doc.querySelector('title') ? null : doc.title,
    canonicalUrl: canonicalEl ? canonicalEl.href : null,
    lang: attr(root, 'lang'),
    htmlDir: attr(root, 'dir'),
    bodyDirection: body ? getComputedStyle(body).direction : null,
    metas,
    jsonLdRaw,
    documentSize: {
      width: Math.max(scroller.scrollWidth, root.scrollWidth, body ? body.scrollWidth : 0, root.clientWidth),
      height: Math.max(scroller.scrollHeight, root.scrollHeight, body ? body.scrollHeight : 0, root.clientHeight),
    },
    media,
  };
})`;

/** Read title, canonical link, meta tags, JSON-LD, language, direction, size and media from the live page. */
export async function readPageSnapshot(page: Page): Promise<PageSnapshot> {
  return (await page.evaluate(`${SNAPSHOT_SCRIPT}(${MAX_BACKGROUND_SCAN})`)) as PageSnapshot;
}

/** Parse JSON-LD blocks; a malformed block is kept as `{ error, raw }` rather than thrown or dropped. */
export function parseJsonLd(raw: readonly string[]): unknown[] {
  return raw.map((text) => {
    // Some sites wrap JSON-LD in HTML comments or CDATA markers.
    const cleaned = text.trim().replace(/^<!--/, '').replace(/-->$/, '').replace(/^\/\*<!\[CDATA\[\*\//, '').replace(/\/\*\]\]>\*\/$/, '').trim();
    try {
      return JSON.parse(cleaned) as unknown;
    } catch (err) {
      return { error: `malformed JSON-LD: ${(err as Error).message}`, raw: text };
    }
  });
}

/**
 * OpenGraph (`og:*`, plus `article:*`, `profile:*`, `video:*` and friends), Twitter-card
 * (`twitter:*`) and description metas. A key that repeats (several `og:image`) keeps its first
 * value under the key and later ones under `key[1]`, `key[2]`, ….
 */
export function collectMeta(metas: ReadonlyArray<{ key: string; content: string }>): PageFacts['meta'] {
  const openGraph: Record<string, string> = {};
  const twitter: Record<string, string> = {};
  let description: string | null = null;
  const put = (into: Record<string, string>, key: string, value: string): void => {
    if (!(key in into)) {
      into[key] = value;
      return;
    }
    let n = 1;
    while (`${key}[${n}]` in into) n += 1;
    into[`${key}[${n}]`] = value;
  };
  for (const { key, content } of metas) {
    const k = key.toLowerCase();
    if (k.startsWith('twitter:')) put(twitter, k, content);
    else if (/^(og|article|profile|book|music|video|fb|al):/.test(k)) put(openGraph, k, content);
    else if (k === 'description' && description === null) description = content;
  }
  return { openGraph, twitter, description };
}

/** The URL as sent on the wire: absolute, no fragment. Unparseable input is returned as is. */
export function wireUrl(url: string): string {
  try {
    const u = new URL(url);
    u.hash = '';
    return u.href;
  } catch {
    return url;
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/** Value of a header, case-insensitive, first occurrence. */
export function headerValue(headers: ReadonlyArray<readonly [string, string]>, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === lower) return v;
  return null;
}

export interface MainDocumentTrace {
  /** The 3xx hops, in order. */
  redirects: PageFacts['redirects'];
  /** Every exchange of the chain, the final one last. */
  chain: RecordedExchange[];
  /** The exchange that ended the chain (the page itself, or an error), or null when none was recorded. */
  final: RecordedExchange | null;
}

/**
 * Follow the main document through the recorded exchanges: start at the requested URL, follow each
 * 3xx `Location` to the next request for that URL, stop at the first non-redirect.
 */
export function traceMainDocument(exchanges: readonly RecordedExchange[], requestedUrl: string): MainDocumentTrace {
  const redirects: PageFacts['redirects'] = [];
  const chain: RecordedExchange[] = [];
  const used = new Set<string>();
  let current = wireUrl(requestedUrl);
  for (let i = 0; i <= MAX_REDIRECTS; i++) {
    const ex = exchanges.find((e) => !used.has(e.id) && e.method === 'GET' && wireUrl(e.url) === current);
    if (!ex) break;
    used.add(ex.id);
    chain.push(ex);
    const location = ex.status !== null && REDIRECT_STATUSES.has(ex.status) ? headerValue(ex.responseHeaders, 'location') : null;
    if (location === null) break;
    let next: string;
    try {
      next = wireUrl(new URL(location, ex.url).href);
    } catch {
      redirects.push({ url: ex.url, status: ex.status!, location });
      break;
    }
    redirects.push({ url: ex.url, status: ex.status!, location: next });
    current = next;
  }
  return { redirects, chain, final: chain[chain.length - 1] ?? null };
}

export interface BuildPageFactsInput {
  requestedUrl: string;
  /** URL the browser ended on (page.url()), if it got anywhere. */
  browserUrl: string | null;
  trace: MainDocumentTrace;
  dns: PageFacts['dns'];
  snapshot: PageSnapshot | null;
  exchanges: readonly RecordedExchange[];
  /** Requests the browser saw fail (requestfailed events), with Chromium's reason. */
  browserFailures: ReadonlyArray<{ url: string; reason: string }>;
  /** Requests the collector made itself through the recording context. @defaultValue none */
  collectorRequests?: PageFacts['collectorRequests'];
}

/** Assemble PageFacts from the recording, the DNS answers and the in-page snapshot. */
export function buildPageFacts(input: BuildPageFactsInput): PageFacts {
  const { trace, snapshot } = input;
  const final = trace.final;
  const browserUrl = input.browserUrl && input.browserUrl !== 'about:blank' && !input.browserUrl.startsWith('chrome-error:') ? input.browserUrl : null;
  const blocked: PageFacts['blockedRequests'] = [];
  const seen = new Set<string>();
  for (const ex of input.exchanges) {
    if (!ex.error) continue;
    blocked.push({ url: ex.url, reason: `${ex.error.code}: ${ex.error.message}` });
    seen.add(wireUrl(ex.url));
  }
  for (const f of input.browserFailures) {
    if (f.url.startsWith('data:') || f.url.startsWith('blob:') || seen.has(wireUrl(f.url))) continue;
    blocked.push({ url: f.url, reason: f.reason });
    seen.add(wireUrl(f.url));
  }
  return {
    requestedUrl: input.requestedUrl,
    // A target that never answered has no final URL, whatever error page the browser shows.
    finalUrl: final && final.status === null ? null : (browserUrl ?? final?.url ?? null),
    redirects: trace.redirects,
    status: final?.status ?? null,
    headers: final ? final.responseHeaders.map(([k, v]) => [k, v] as [string, string]) : [],
    remoteIp: final?.remoteIp ?? null,
    dns: input.dns,
    tls: final?.tls ?? null,
    title: snapshot?.title ?? null,
    canonicalUrl: snapshot?.canonicalUrl ?? null,
    lang: snapshot?.lang ?? null,
    dir: snapshot ? (snapshot.htmlDir ?? snapshot.bodyDirection) : null,
    meta: snapshot ? collectMeta(snapshot.metas) : { openGraph: {}, twitter: {}, description: null },
    jsonLd: snapshot ? parseJsonLd(snapshot.jsonLdRaw) : [],
    documentSize: snapshot?.documentSize ?? null,
    requestCount: input.exchanges.length,
    blockedRequests: blocked,
    collectorRequests: [...(input.collectorRequests ?? [])],
  };
}
