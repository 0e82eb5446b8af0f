import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { isoUtc } from '../lib/clock.js';
import { ExhibitError, TransientError } from '../lib/errors.js';
import { childLogger, type Logger } from '../lib/logger.js';
import type { SpoolFile } from '../schemas/artifact.js';
import type { PageFacts } from '../schemas/capture.js';
import type { CollectorRequest } from '../schemas/common.js';
import type { ErrorCode, ErrorKind, Failure } from '../schemas/errors.js';
import type { CollectorOutput } from '../schemas/jobs.js';
import type { CollectContext, Collector } from './collector.js';
import { buildEnvironment, fetchEgressIp, playwrightVersion, type EgressResult } from './browser/environment.js';
import { planMedia, rangedOnlyMedia, writeMediaFiles, type Flag } from './browser/media-files.js';
import { parseTargetUrl, redactUrl } from '../lib/target-url.js';
import { resolveAndCheck, validatePolicy, type NetPolicy } from './browser/net-policy.js';
import { buildPageFacts, headerValue, readPageSnapshot, traceMainDocument, wireUrl, type PageSnapshot } from './browser/page-facts.js';
import type { RecordedExchange } from './browser/recorded-exchange.js';
import { RAW_BODY_HEADER, RecordingProxy } from './browser/recording-proxy.js';
import { settlePage, waitForNetworkQuiet, type SettleResult } from './browser/settle.js';

/** Version of the web collector's behaviour; recorded in every environment record. */
export const WEB_COLLECTOR_VERSION = '1.0.0';
export const WEB_CAPTURE_METHOD = 'playwright-chromium+recording-proxy';

/** HTTP statuses worth retrying: the server says "not now", not "no". */
const TRANSIENT_HTTP = new Set([408, 425, 429, 502, 503, 504]);
/** How long to wait for the proxy to drain after the browser context is gone, in ms. */
const DRAIN_MS = 2_000;
const EGRESS_TIMEOUT_MS = 5_000;

/** Which kind a failure code is, given what we know; DNS names that do not exist are permanent, resolver hiccups are not. */
export function failureKind(code: ErrorCode, message = ''): ErrorKind {
  switch (code) {
    case 'DNS_FAILURE':
      return /\b(ENOTFOUND|ENODATA|EAI_NONAME|EAI_NODATA|ENONAME|EBADNAME|no addresses)\b/.test(message) ? 'permanent' : 'transient';
    case 'INVALID_URL':
    case 'UNSUPPORTED_SCHEME':
    case 'BLOCKED_ADDRESS':
    case 'NAVIGATION_BLOCKED':
    case 'TLS_ERROR':
    case 'TOO_LARGE':
      return 'permanent';
    default:
      return 'transient';
  }
}

/** Chromium `net::ERR_*` names mapped to failure codes, for navigations that failed without a recorded reason. */
function codeForNetError(message: string): ErrorCode {
  const m = /net::(ERR_[A-Z0-9_]+)/.exec(message);
  const err = m?.[1] ?? '';
  if (err === 'ERR_NAME_NOT_RESOLVED' || err === 'ERR_NAME_RESOLUTION_FAILED') return 'DNS_FAILURE';
  if (err === 'ERR_CONNECTION_TIMED_OUT' || err === 'ERR_TIMED_OUT') return 'TIMEOUT';
  if (/^ERR_(CERT|SSL)_/.test(err) || err === 'ERR_BAD_SSL_CLIENT_AUTH_CERT') return 'TLS_ERROR';
  if (/^ERR_(CONNECTION|ADDRESS|TUNNEL|PROXY|EMPTY_RESPONSE|NETWORK|INTERNET|SOCKET|UNSAFE_PORT)/.test(err)) return 'CONNECTION_FAILED';
  return 'BROWSER_ERROR';
}

export interface NavigationOutcome {
  requestedUrl: string;
  /** What `page.goto` threw, if anything. */
  navError: { name: string; message: string } | null;
  /** The exchange that ended the main document's chain (see traceMainDocument). */
  final: RecordedExchange | null;
  navigationTimeoutMs: number;
}

/**
 * Why a navigation failed, or null when the page loaded. The recording proxy's reason wins (it saw
 * the real network), then a `load` timeout, then the HTTP status, then Chromium's own error.
 */
export function classifyNavigation(o: NavigationOutcome): Failure | null {
  const url = redactUrl(o.requestedUrl);
  const final = o.final;
  if (final?.error) {
    const moved = wireUrl(final.url) !== wireUrl(o.requestedUrl);
    // The target itself passed the policy before the browser started: a blocked end is a redirect's.
    if (final.error.code === 'BLOCKED_ADDRESS' && moved) {
      return { code: 'NAVIGATION_BLOCKED', kind: 'permanent', message: `capture of ${url} failed: it redirected to ${redactUrl(final.url)}, which the network policy blocks (${final.error.message})` };
    }
    const code = final.error.code;
    const where = moved ? ` (at ${redactUrl(final.url)})` : '';
    return { code, kind: failureKind(code, final.error.message), message: `capture of ${url} failed${where}: ${final.error.message}` };
  }
  const timedOut = o.navError !== null && (o.navError.name === 'TimeoutError' || /Timeout \d+ms exceeded/.test(o.navError.message));
  if (timedOut) {
    const got = final?.status ? `; the server answered HTTP ${final.status} but the page never finished loading` : '';
    return { code: 'TIMEOUT', kind: 'transient', message: `capture of ${url} failed: the load event did not fire within ${o.navigationTimeoutMs} ms${got}` };
  }
  if (final?.status !== null && final?.status !== undefined && final.status >= 400) {
    const where = final.url !== o.requestedUrl ? ` (after redirects, at ${redactUrl(final.url)})` : '';
    const text = final.statusText ? ` ${final.statusText}` : '';
    return { code: 'HTTP_ERROR', kind: TRANSIENT_HTTP.has(final.status) ? 'transient' : 'permanent', message: `capture of ${url} failed: the server answered HTTP ${final.status}${text}${where}` };
  }
  if (o.navError) {
    const code = codeForNetError(o.navError.message);
    const first = o.navError.message.split('\n')[0] ?? o.navError.message;
    // Chromium refuses some ports (e.g. 25, 9) outright: retrying cannot help.
    const kind = /net::ERR_UNSAFE_PORT/.test(first) ? 'permanent' : failureKind(code, first);
    return { code, kind, message: `capture of ${url} failed: ${first}` };
  }
  return null;
}

/** Whether an error means the browser, context or page is gone (nothing more can be observed). */
function isClosedError(err: unknown): boolean {
  return err instanceof Error && /has been closed|Target closed|Browser closed|browser has disconnected/i.test(err.message);
}

/** Everything seen while the browser worked, kept even when a later step fails. */
interface Observations {
  userAgent: string | null;
  browserUrl: string | null;
  snapshot: PageSnapshot | null;
  settle: SettleResult | null;
  failure: Failure | null;
  files: SpoolFile[];
  /** Problems collecting one artifact; they go on page-facts.json as flags. */
  notes: Flag[];
  browserFailures: Array<{ url: string; reason: string }>;
  /** Media URLs from the DOM, read while the page was alive. */
  domMedia: PageSnapshot['media'];
  /** Requests the collector made itself through the recording context (page-facts.json `collectorRequests`). */
  collectorRequests: CollectorRequest[];
  /** Whole copies of media the page fetched only in byte ranges, by wire URL: the collector's exchange, or why there is none. */
  wholeCopies: Map<string, { exchangeId: string | null; reason: string | null }>;
}

interface BrowseArgs {
  ctx: CollectContext;
  context: BrowserContext;
  proxy: RecordingProxy;
  target: URL;
  obs: Observations;
  log: Logger;
  signal: AbortSignal;
  hooks: WebCaptureHooks;
}

/** The live page handed to {@link WebCaptureHooks.onPage}. */
export interface LivePage {
  page: Page;
  /** Requests made with `context.request` go through the recording proxy too (they land in the WARC). */
  context: BrowserContext;
  /** Every exchange recorded so far. */
  exchanges(): RecordedExchange[];
  /** Path of a completed exchange's body with its Content-Encoding removed. */
  decodedBodyPath(ex: RecordedExchange): Promise<string | null>;
  /** Wait until no request has been in flight for `quietMs` (bounded by the capture's settle budget). */
  waitForNetworkQuiet(quietMs?: number): Promise<boolean>;
  signal: AbortSignal;
}

/** What {@link WebCaptureHooks.onRecorded} sees: the capture after the browser closed, before the work directory is removed. */
export interface RecordedCapture {
  /** Every exchange, in start order (the WARC holds exactly these). */
  exchanges: readonly RecordedExchange[];
  /** Path of an exchange's body with its Content-Encoding removed (see RecordingProxy.decodedBodyPath). */
  decodedBodyPath(ex: RecordedExchange): Promise<string | null>;
  /** Files listed so far (WARC, DOM, screenshot, MHTML, media); push to add more. */
  files: SpoolFile[];
  browserUrl: string | null;
  snapshot: PageSnapshot | null;
  /** Why the navigation failed, or null. */
  failure: Failure | null;
  /** Scratch directory removed when the capture ends. */
  workDir: string;
}

/**
 * How a collector builds on the web capture (see collectors/platform/capture-platform-page.ts).
 * Every hook is optional; with none, the capture is exactly the `web` collector's.
 */
export interface WebCaptureHooks {
  /** Recorded in environment.json and the WARC's software field. @defaultValue the web collector */
  collector?: { id: string; version: string };
  /**
   * Runs in the live page once it was served and settled, before the DOM, screenshot and MHTML are
   * taken. A failure becomes a note on page-facts.json, not a failed capture.
   */
  onPage?(live: LivePage): Promise<void>;
  /** Runs after the WARC and media files are written, while every recorded body is still readable. */
  onRecorded?(rec: RecordedCapture): Promise<void>;
}

/** Run one recording step; its failure becomes a note, unless the page is gone or the capture was aborted (then it ends the capture). */
async function step<T>(obs: Observations, log: Logger, signal: AbortSignal, code: string, what: string, fn: () => Promise<T>): Promise<T | null> {
  signal.throwIfAborted();
  try {
    return await fn();
  } catch (err) {
    if (isClosedError(err) || signal.aborted) throw err;
    const message = `${what} failed: ${(err as Error).message.split('\n')[0]}`;
    log.warn({ code }, message);
    obs.notes.push({ code, message });
    return null;
  }
}

/** A main-frame navigation request the page made (goto, redirect hop, script, meta refresh, form). */
interface MainNavigation {
  url: string;
  method: string;
}

/**
 * The navigation the main frame ended on, when the recording proxy refused it: the document the
 * browser shows is then the proxy's refusal, never the page. A navigation the policy blocked counts
 * whatever the browser shows; any other failed one only once the browser shows it (`currentUrl`),
 * since the browser may have cancelled it and stayed on the page. Null when nothing was refused.
 */
export function refusedNavigation(navigations: readonly MainNavigation[], exchanges: readonly RecordedExchange[], currentUrl: string): { navigation: MainNavigation; exchange: RecordedExchange } | null {
  const last = navigations[navigations.length - 1];
  if (!last) return null;
  const key = wireUrl(last.url);
  const matching = exchanges.filter((e) => e.method === last.method && wireUrl(e.url) === key);
  const ex = matching[matching.length - 1];
  if (!ex || ex.status !== null || !ex.error) return null;
  return ex.error.code === 'BLOCKED_ADDRESS' || wireUrl(currentUrl) === key ? { navigation: last, exchange: ex } : null;
}

/** The failure for a capture whose page navigated, after it was served, to a refused address. */
function navigationFailure(target: URL, refused: { navigation: MainNavigation; exchange: RecordedExchange }): Failure {
  const ex = refused.exchange;
  const to = redactUrl(ex.url);
  const how = refused.navigation.method === 'GET' ? '' : ` (${refused.navigation.method})`;
  if (ex.error!.code === 'BLOCKED_ADDRESS') {
    return { code: 'NAVIGATION_BLOCKED', kind: 'permanent', message: `capture of ${redactUrl(target)} failed: the page navigated${how} to ${to}, which the network policy blocks (${ex.error!.message}); the page before it is in the WARC, no DOM or screenshot of it was kept` };
  }
  return { code: ex.error!.code, kind: failureKind(ex.error!.code, ex.error!.message), message: `capture of ${redactUrl(target)} failed: the page navigated${how} to ${to}, which failed: ${ex.error!.message}` };
}

/** Load, settle and record one page in an open context. Fills `obs` as it goes. */
async function browse({ ctx, context, proxy, target, obs, log, signal, hooks }: BrowseArgs): Promise<void> {
  const capture = ctx.capture;
  const page: Page = await context.newPage();
  obs.userAgent = String(await page.evaluate('navigator.userAgent'));
  page.on('requestfailed', (r) => obs.browserFailures.push({ url: r.url(), reason: r.failure()?.errorText ?? 'failed' }));
  page.on('dialog', (d) => void d.dismiss().catch(() => undefined));
  const navigations: MainNavigation[] = [];
  page.on('request', (r) => {
    try {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigations.push({ url: r.url(), method: r.method() });
    } catch {
      // a request without a frame (service worker): not a navigation of the page
    }
  });
  // Whether the page now shows the proxy's refusal of a later navigation (script, meta refresh, form).
  const refused = (): Failure | null => {
    const r = refusedNavigation(navigations, proxy.exchanges(), page.url());
    return r ? navigationFailure(target, r) : null;
  };

  ctx.onProgress({ stage: 'loading', percent: 10, detail: redactUrl(target) });
  let navError: Error | null = null;
  const navStarted = Date.now();
  try {
    await page.goto(target.href, { waitUntil: 'domcontentloaded', timeout: capture.navigationTimeoutMs });
  } catch (err) {
    if (isClosedError(err) || signal.aborted) throw err;
    navError = err as Error;
  }
  // Settling starts once the document is parsed, while images and scripts still load: the walk
  // down the page overlaps the wait for `load`, which is still required (within the same
  // navigation limit) before anything is recorded.
  let settling: Promise<SettleResult | null> | null = null;
  let settledAt = Number.POSITIVE_INFINITY;
  let loadedAt = 0;
  if (!navError) {
    ctx.onProgress({ stage: 'settling', percent: 25 });
    settling = step(obs, log, signal, 'settle-failed', 'settling the page', () =>
      settlePage(page, proxy, { networkQuietMs: capture.networkQuietMs, settleTimeoutMs: capture.settleTimeoutMs, maxScrollHeight: capture.maxScreenshotHeight, signal }),
    ).then((r) => {
      settledAt = Date.now();
      return r;
    });
    try {
      await page.waitForLoadState('load', { timeout: Math.max(1, capture.navigationTimeoutMs - (Date.now() - navStarted)) });
      loadedAt = Date.now();
    } catch (err) {
      if (isClosedError(err) || signal.aborted) {
        await settling.catch(() => null);
        throw err;
      }
      navError = err as Error;
    }
  }
  obs.settle = settling ? await settling : null;
  if (obs.settle && loadedAt > settledAt) {
    // `load` fired after the page looked settled: what its handlers start gets a quiet window too.
    const quiet = await waitForNetworkQuiet(proxy, capture.networkQuietMs, Date.now() + capture.settleTimeoutMs, { signal }).catch(() => false);
    if (!quiet) obs.settle = { ...obs.settle, settled: false, reason: `network still busy ${capture.settleTimeoutMs} ms after the load event` };
  }
  if (obs.settle && !obs.settle.settled) log.info({ reason: obs.settle.reason }, 'page did not settle; capturing as is');
  obs.browserUrl = page.url();
  const trace = traceMainDocument(proxy.exchanges(), target.href);
  obs.failure = classifyNavigation({ requestedUrl: target.href, navError: navError ? { name: navError.name, message: navError.message } : null, final: trace.final, navigationTimeoutMs: capture.navigationTimeoutMs });
  // Whatever the browser shows when the target never answered is Chromium's or the proxy's page, not evidence.
  const served = trace.final !== null && trace.final.status !== null && trace.final.error === null;
  if (!served) {
    log.info({ failure: obs.failure }, 'navigation failed before the server answered');
    return;
  }
  const navigatedAway = obs.failure === null ? refused() : null;
  if (navigatedAway) {
    obs.failure = navigatedAway;
    obs.browserUrl = null;
    log.warn({ failure: navigatedAway }, 'the page navigated to a refused address; not recording it as the page');
    return;
  }
  const navigationsBefore = navigations.length;

  if (hooks.onPage) {
    const onPage = hooks.onPage;
    await step(obs, log, signal, 'collector-page-failed', `the ${hooks.collector?.id ?? 'web'} collector's page step`, () =>
      onPage({
        page,
        context,
        exchanges: () => proxy.exchanges(),
        decodedBodyPath: (ex) => proxy.decodedBodyPath(ex),
        waitForNetworkQuiet: (quietMs = capture.networkQuietMs) => waitForNetworkQuiet(proxy, quietMs, Date.now() + capture.settleTimeoutMs, { signal }),
        signal,
      }),
    );
  }

  ctx.onProgress({ stage: 'recording', percent: 55 });
  const dom = await step(obs, log, signal, 'dom-failed', 'serialising the DOM', () => page.content());
  if (dom !== null) {
    await writeFile(path.join(ctx.spoolDir, 'dom.html'), dom, 'utf8');
    obs.files.push({ path: 'dom.html', role: 'dom', mediaType: 'text/html; charset=utf-8', sourceUrl: obs.browserUrl, flags: navError ? [{ code: 'load-incomplete', message: 'the page had not finished loading' }] : [] });
  }
  obs.snapshot = await step(obs, log, signal, 'page-facts-failed', 'reading page facts in the page', () => readPageSnapshot(page));
  obs.domMedia = obs.snapshot?.media ?? [];

  // One CDP session for the screenshot and the MHTML snapshot.
  const cdp = await step(obs, log, signal, 'cdp-failed', 'opening a DevTools session', () => context.newCDPSession(page));
  const shot = cdp ? await step(obs, log, signal, 'screenshot-failed', 'taking the screenshot', () => fullPageScreenshot(cdp, capture.maxScreenshotHeight)) : null;
  if (shot) {
    const flags: Flag[] = [];
    if (obs.settle && !obs.settle.settled) flags.push({ code: 'settle-timeout', message: obs.settle.reason ?? 'the page did not settle in time' });
    if (shot.capped) flags.push({ code: 'height-capped', message: `page is ${shot.pageHeight} px tall; the screenshot stops at ${capture.maxScreenshotHeight} px (capture.maxScreenshotHeight)` });
    if (navError) flags.push({ code: 'load-incomplete', message: 'taken before the page finished loading' });
    await writeFile(path.join(ctx.spoolDir, 'screenshot.png'), shot.png);
    obs.files.push({ path: 'screenshot.png', role: 'screenshot', mediaType: 'image/png', sourceUrl: obs.browserUrl, flags });
  }

  const mhtml = cdp
    ? await step(obs, log, signal, 'mhtml-failed', 'the MHTML snapshot', async () => {
        const { data } = (await cdp.send('Page.captureSnapshot', { format: 'mhtml' })) as { data: string };
        return data;
      })
    : null;
  await cdp?.detach().catch(() => undefined);
  if (mhtml !== null) {
    await writeFile(path.join(ctx.spoolDir, 'page.mhtml'), mhtml, 'utf8');
    obs.files.push({ path: 'page.mhtml', role: 'mhtml', mediaType: 'multipart/related', sourceUrl: obs.browserUrl, flags: [] });
  }
  // A refused navigation while the page was being recorded: what was taken may show the refusal.
  const late = navigations.length > navigationsBefore && obs.failure === null ? refused() : null;
  if (late) {
    const taken = new Set(['dom', 'screenshot', 'mhtml']);
    for (const f of obs.files.filter((x) => taken.has(x.role))) await rm(path.join(ctx.spoolDir, f.path), { force: true });
    obs.files = obs.files.filter((x) => !taken.has(x.role));
    obs.snapshot = null;
    obs.domMedia = [];
    obs.failure = late;
    obs.browserUrl = null;
    log.warn({ failure: late }, 'the page navigated to a refused address while it was recorded; its DOM, screenshot and MHTML were discarded');
    return;
  }
  await fetchWholeMedia(context, proxy, obs, log, signal, capture.navigationTimeoutMs);
}

/** Why the collector made a request of its own; named in page-facts.json `collectorRequests`. */
export const WHOLE_MEDIA_PURPOSE = 'whole copy of media the page fetched only in byte ranges';

/**
 * Request the whole of each media resource the page fetched only in byte ranges (a video answered
 * 206), through the page's own recording context: the WARC then holds the ranges the page got and
 * the whole resource, so a replay can seek and the media file is complete. The request goes
 * through the recording proxy like the page's (same policy, same byte limits); its body is read
 * from the recording, never from Playwright's client.
 */
async function fetchWholeMedia(context: BrowserContext, proxy: RecordingProxy, obs: Observations, log: Logger, signal: AbortSignal, timeoutMs: number): Promise<void> {
  for (const url of rangedOnlyMedia(obs.domMedia, proxy.exchanges())) {
    signal.throwIfAborted();
    const key = wireUrl(url);
    const before = new Set(proxy.exchanges().map((e) => e.id));
    let status: number | null = null;
    let failed: string | null = null;
    try {
      const res = await context.request.get(url, { headers: { [RAW_BODY_HEADER]: '1' }, failOnStatusCode: false, maxRedirects: 0, timeout: timeoutMs });
      status = res.status();
      await res.dispose();
    } catch (err) {
      if (isClosedError(err) || signal.aborted) throw err;
      failed = (err as Error).message.split('\n')[0] ?? 'request failed';
    }
    obs.collectorRequests.push({ url, purpose: WHOLE_MEDIA_PURPOSE, status });
    // The collector's exchange: new since the request, same URL, no Range header (the page may still
    // be fetching ranges). The client holds every byte (Content-Length) a moment before the proxy has
    // settled the exchange: wait for it, within the request's own time limit.
    const ours = () => proxy.exchanges().filter((e) => !before.has(e.id) && e.method === 'GET' && wireUrl(e.url) === key && headerValue(e.requestHeaders, 'range') === null);
    let mine = ours();
    const until = Date.now() + timeoutMs;
    while (mine.some((e) => e.completedAt === null) && Date.now() < until) {
      signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 20));
      mine = ours();
    }
    const whole = mine.find((e) => e.status === 200 && e.completedAt !== null && !e.truncated && !e.error);
    const problem = mine.find((e) => e.error) ?? mine[0];
    const reason = whole ? null : problem?.error ? `${problem.error.code}: ${problem.error.message}` : status !== null ? `HTTP ${status}` : (failed ?? 'no response');
    obs.wholeCopies.set(key, { exchangeId: whole?.id ?? null, reason });
    if (reason) log.info({ url: redactUrl(url), reason }, 'whole copy of ranged media not obtained');
  }
}

/**
 * A PNG of the whole page (CSS pixels, device scale 1), cut at `maxHeight`. Page.captureScreenshot
 * straight, as Playwright's full-page screenshot does, plus `optimizeForSpeed`: Chromium then
 * compresses the PNG with its fastest zlib setting, about 2.5× faster to encode and some 20 %
 * larger. PNG is lossless either way: the pixels are the same.
 */
async function fullPageScreenshot(cdp: CDPSession, maxHeight: number): Promise<{ png: Buffer; pageHeight: number; capped: boolean }> {
  const metrics = (await cdp.send('Page.getLayoutMetrics')) as { cssContentSize: { width: number; height: number } };
  const width = Math.max(1, Math.ceil(metrics.cssContentSize.width));
  const pageHeight = Math.max(1, Math.ceil(metrics.cssContentSize.height));
  const height = Math.min(pageHeight, maxHeight);
  const { data } = (await cdp.send('Page.captureScreenshot', {
    format: 'png',
    clip: { x: 0, y: 0, width, height, scale: 1 },
    captureBeyondViewport: true,
    optimizeForSpeed: true,
  })) as { data: string };
  return { png: Buffer.from(data, 'base64'), pageHeight, capped: pageHeight > maxHeight };
}

async function writeJson(spoolDir: string, name: string, value: unknown): Promise<void> {
  await writeFile(path.join(spoolDir, name), `${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

/** The `web` collector: any http(s) page, through Chromium and the recording proxy. */
export const webCollector: Collector = {
  id: 'web',
  version: WEB_COLLECTOR_VERSION,
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media'],
  matches: (url) => url.protocol === 'http:' || url.protocol === 'https:',
  collect: (ctx, target) => captureWeb(ctx, target),
};

/**
 * Capture one page into ctx.spoolDir; `hooks` let collectors that build on the web capture add
 * their own steps. Throws PermanentError for a malformed, unsupported or blocked target (before any
 * browser work) and TransientError when cancelled or the browser broke; every other failure
 * resolves with status `failed` and what was observed.
 */
export async function captureWeb(ctx: CollectContext, target: URL, hooks: WebCaptureHooks = {}): Promise<CollectorOutput> {
  const who = hooks.collector ?? { id: webCollector.id, version: WEB_COLLECTOR_VERSION };
  const log = childLogger(ctx.logger, 'collector', { captureId: ctx.captureId, collector: who.id });
  const url = parseTargetUrl(target.href);
  const capture = ctx.capture;
  const policy: NetPolicy = validatePolicy({ allowPrivateNetwork: ctx.request.options.allowPrivateNetwork ?? capture.allowPrivateNetwork, allowCidrs: capture.allowCidrs });
  const startedAt = isoUtc(ctx.clock.now());
  const timeoutMs = ctx.request.options.timeoutMs ?? capture.timeoutMs;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, deadline]);
  ctx.onProgress({ stage: 'launching', percent: 2 });

  const egressP: Promise<EgressResult> = fetchEgressIp(capture.egressEchoUrl, { upstreamProxy: capture.upstreamProxy, timeoutMs: EGRESS_TIMEOUT_MS, signal });
  let dns: PageFacts['dns'];
  let failure: Failure | null = null;
  try {
    const r = await resolveAndCheck(policy, url.hostname);
    dns = { host: url.hostname, addresses: r.addresses, error: null };
  } catch (err) {
    if (!(err instanceof ExhibitError) || err.code !== 'DNS_FAILURE') throw err;
    dns = { host: url.hostname, addresses: [], error: err.message };
    failure = { code: 'DNS_FAILURE', kind: err.kind, message: `capture of ${redactUrl(url)} failed: ${err.message}` };
  }

  const obs: Observations = { userAgent: null, browserUrl: null, snapshot: null, settle: null, failure, files: [], notes: [], browserFailures: [], domMedia: [], collectorRequests: [], wholeCopies: new Map() };
  const workDir = path.join(ctx.spoolDir, '.work');
  let exchanges: RecordedExchange[] = [];
  // Only the browser phase is cut by the time limit; writing what was observed always finishes.
  let timedOut = false;
  try {
    if (!failure) {
      await mkdir(workDir, { recursive: true });
      const proxy = await RecordingProxy.start({ policy, workDir, maxResourceBytes: capture.maxResourceBytes, maxTotalBytes: capture.maxPageBytes, upstreamProxy: capture.upstreamProxy, logger: ctx.logger });
      try {
        await runBrowser(ctx, proxy, url, obs, log, signal, hooks);
        timedOut = deadline.aborted && !ctx.signal.aborted;
        ctx.onProgress({ stage: 'recording', percent: 75, detail: 'writing WARC' });
        // The context is closed: let aborted exchanges settle, then stop the proxy.
        await waitForNetworkQuiet(proxy, 0, Date.now() + DRAIN_MS).catch(() => false);
        await proxy.close();
        exchanges = proxy.exchanges();
        const browserVersion = await ctx.browsers.browserVersion();
        const warc = await proxy.writeWarc(path.join(ctx.spoolDir, 'traffic.warc.gz'), {
          software: `Exhibit ${ctx.software.exhibitVersion} (${who.id} collector ${who.version}); playwright-core ${playwrightVersion()}; Chromium ${browserVersion}`,
          operator: ctx.request.requestedBy,
          captureId: ctx.captureId,
          extra: { 'capture-method': WEB_CAPTURE_METHOD, 'requested-url': redactUrl(url), 'case-id': ctx.request.caseId },
          // A collection account's session must not travel in packages (see warc-writer.ts).
          ...(ctx.account ? { withholdRequestHeaders: ['cookie', 'authorization'] } : {}),
        });
        const warcFlags: Flag[] = exchanges.some((e) => e.truncated) ? [{ code: 'truncated-records', message: `${exchanges.filter((e) => e.truncated).length} response(s) were cut short (size limit, abort or timeout)` }] : [];
        obs.files.push({ path: 'traffic.warc.gz', role: 'warc', mediaType: 'application/warc', sourceUrl: null, flags: warcFlags });
        log.debug({ records: warc.records, bytes: warc.bytes }, 'WARC written');

        ctx.onProgress({ stage: 'collecting-media', percent: 85 });
        const plan = planMedia(obs.domMedia, exchanges);
        for (const item of plan.items) {
          const copy = obs.wholeCopies.get(wireUrl(item.url));
          if (!copy) continue;
          if (copy.exchangeId === item.exchange.id) {
            item.flags.push({ code: 'fetched-by-collector', message: `the page fetched only byte ranges of it; this whole copy was requested by the collector through the page's recording context (page-facts.json collectorRequests)` });
          } else if (copy.exchangeId === null) {
            item.flags.push({ code: 'whole-copy-failed', message: `the page fetched only byte ranges of it; the collector's request for the whole resource failed (${copy.reason ?? 'no response'})` });
          }
        }
        if (plan.items.length > 0) await mkdir(path.join(ctx.spoolDir, 'media'), { recursive: true });
        const media = await writeMediaFiles(plan, proxy, ctx.spoolDir);
        obs.files.push(...media.files);
        obs.notes.push(...media.skipped);
        if (hooks.onRecorded) {
          await hooks.onRecorded({ exchanges, decodedBodyPath: (ex) => proxy.decodedBodyPath(ex), files: obs.files, browserUrl: obs.browserUrl, snapshot: obs.snapshot, failure: obs.failure, workDir });
        }
      } finally {
        await proxy.close();
      }
    }

    if (timedOut && (obs.failure === null || obs.failure.code !== 'TIMEOUT')) {
      obs.failure = { code: 'TIMEOUT', kind: 'transient', message: `capture of ${redactUrl(url)} exceeded its limit of ${timeoutMs} ms${obs.failure ? ` (${obs.failure.message})` : ''}` };
    }
    const trace = traceMainDocument(exchanges, url.href);
    const page = buildPageFacts({ requestedUrl: url.href, browserUrl: obs.browserUrl, trace, dns, snapshot: obs.snapshot, exchanges, browserFailures: obs.browserFailures, collectorRequests: obs.collectorRequests });
    await writeJson(ctx.spoolDir, 'page-facts.json', page);
    obs.files.push({ path: 'page-facts.json', role: 'page-facts', mediaType: 'application/json', sourceUrl: null, flags: obs.notes });

    const environment = buildEnvironment({
      software: ctx.software,
      collector: who,
      browserVersion: await ctx.browsers.browserVersion(),
      userAgent: obs.userAgent ?? capture.userAgent ?? (await ctx.browsers.defaultUserAgent()),
      viewport: capture.viewport,
      locale: capture.locale,
      timezone: capture.timezone,
      operator: ctx.request.requestedBy,
      startedAt,
      finishedAt: isoUtc(ctx.clock.now()),
      upstreamProxy: capture.upstreamProxy,
      egress: await egressP,
      captureMethod: WEB_CAPTURE_METHOD,
      ...(ctx.account ? { account: { label: ctx.account.info.label, platform: ctx.account.info.platform, handle: ctx.account.info.handle } } : {}),
    });
    await writeJson(ctx.spoolDir, 'environment.json', environment);
    obs.files.push({ path: 'environment.json', role: 'environment', mediaType: 'application/json', sourceUrl: null, flags: [] });

    const status = obs.failure ? 'failed' : 'captured';
    ctx.onProgress({ stage: 'collecting-media', percent: 100, detail: status });
    log.info({ status, failure: obs.failure?.code ?? null, files: obs.files.length, requests: exchanges.length }, `${who.id} capture finished`);
    return { status, failure: obs.failure, page, environment, files: obs.files };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The browser part, bounded by `signal`: on abort the pool closes the context, which ends every pending step. */
async function runBrowser(ctx: CollectContext, proxy: RecordingProxy, url: URL, obs: Observations, log: Logger, signal: AbortSignal, hooks: WebCaptureHooks): Promise<void> {
  const capture = ctx.capture;
  try {
    await ctx.browsers.withContext(
      {
        viewport: capture.viewport,
        locale: capture.locale,
        timezoneId: capture.timezone,
        userAgent: capture.userAgent,
        proxy: { server: proxy.url, bypass: '<-loopback>' },
        ignoreHTTPSErrors: true,
        ...(ctx.account ? { storageState: ctx.account.storageState } : {}),
      },
      (context) => browse({ ctx, context, proxy, target: url, obs, log, signal, hooks }),
      // Cancellation or the time limit closes the context, whatever step the page is in.
      signal,
    );
  } catch (err) {
    if (ctx.signal.aborted) throw new TransientError('INTERNAL', `capture of ${redactUrl(url)} was cancelled: ${String((ctx.signal.reason as Error | undefined)?.message ?? ctx.signal.reason)}`, { cause: err });
    if (signal.aborted) {
      log.warn({ err: (err as Error).message }, 'capture time limit reached; keeping what was observed');
      return;
    }
    if (err instanceof ExhibitError) throw err;
    throw new TransientError('BROWSER_ERROR', `browser failed while capturing ${redactUrl(url)}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
