import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { z } from 'zod';
import { isoUtc } from '../../lib/clock.js';
import { ExhibitError } from '../../lib/errors.js';
import { childLogger } from '../../lib/logger.js';
import type { SpoolFile } from '../../schemas/artifact.js';
import type { CollectorOutput } from '../../schemas/jobs.js';
import { PlatformObservation, Post, PostDocument, type AuthorshipProof, type Profile, type ReviewFlag } from '../../schemas/post.js';
import type { CollectContext, Collector, CollectorCapability } from '../collector.js';
import { redactUrl } from '../../lib/target-url.js';
import { wireUrl, type PageSnapshot } from '../browser/page-facts.js';
import { pickExchange } from '../browser/media-files.js';
import type { RecordedExchange } from '../browser/recorded-exchange.js';
import { RAW_BODY_HEADER } from '../browser/recording-proxy.js';
import { captureWeb, type LivePage } from '../web.js';
import { extractGenericPost } from './generic-extract.js';
import { failureForObservation, notRecognised } from './honest-state.js';
import { assembleHls } from './hls.js';
import { MediaLinker } from './media.js';
import { RecordedView, responseType, type BodyReader } from './recorded.js';

/** A request the collector itself made through the recording browser context. */
export interface CollectorRequest {
  url: string;
  purpose: string;
  status: number | null;
}

/** The live page as a platform sees it: the web capture's page plus recorded fetches. */
export interface PlatformPage extends LivePage {
  /** What was recorded so far, readable (bodies included). */
  view(): RecordedView;
  /**
   * GET a URL through the browser context, so the request and response are recorded in the WARC like
   * the page's own; listed in post.json `collectorRequests` with its purpose. Never throws for HTTP
   * errors; a network failure resolves with status null.
   */
  fetch(url: string, opts: { purpose: string; headers?: Record<string, string> }): Promise<{ status: number | null; body: Buffer | null }>;
  /** Fetch each URL that has no complete recorded response yet (original-size media the page did not load). */
  ensureRecorded(urls: readonly string[], purpose: string): Promise<void>;
}

/** What `extract` sees: the finished recording, read-only, plus the page snapshot. */
export interface ExtractContext {
  view: RecordedView;
  snapshot: PageSnapshot | null;
  /** When the post was read (engagement counts are "as of" this time). */
  observedAt: string;
  spoolDir: string;
  /** Keep a recorded response as an artifact (`proof/record.car`), byte-identical to its decoded body. Returns the spool path, or null when it has no body. */
  keepResponse(url: string, name: string, mediaType: string): Promise<string | null>;
}

/**
 * What a platform found. `post` is null when the platform showed none (`visibility` says why). With
 * `not-recognised` and no post, the pattern reads the post with the generic extraction.
 */
export interface Extraction {
  visibility: PlatformObservation;
  post: Post | null;
  replies?: Post[];
  quoted?: Post | null;
  proof?: AuthorshipProof | null;
  /** The channel or account, for a channel or profile page. */
  profile?: Profile | null;
  /** The platform as recognised from the recording, when it is not the spec's (`activitypub` found by the generic collector). */
  platform?: string;
}

/**
 * One platform: the only code a new platform writes (see collectors/telegram.ts for the shape).
 * `O` is its options type; every platform takes at least `hosts` so fixtures can stand in for it.
 */
export interface PlatformSpec<O> {
  id: string;
  version: string;
  /** Platform name written to post.json (`telegram`, `mastodon`, …). */
  platform: string;
  capabilities: readonly CollectorCapability[];
  configSchema: z.ZodType<O>;
  /**
   * States in which a logged-out visitor sees no post but a collection account may (`--account`);
   * documented in docs/collectors.md. The account is used whenever the request names one.
   */
  accountHelps?: readonly PlatformObservation['state'][];
  matches(url: URL, options: O): boolean;
  /** The URL the browser loads for a target, when it is not the target itself (e.g. Telegram's public preview). */
  pageUrl?(target: URL, options: O): URL;
  /** While the page is open: recorded fetches the page itself would not make (API JSON, proofs, original media). */
  onPage?(page: PlatformPage, target: URL, options: O): Promise<void>;
  /**
   * Read the post from the recording, never the network. Return null when there is no post to
   * speak of (the generic collector on a page without metadata): then no post.json is written.
   */
  extract(ctx: ExtractContext, target: URL, options: O): Promise<Extraction | null>;
}

/** A URL's `host` (with port when not default) is one of `hosts` (case-insensitive). */
export function hostIn(url: URL, hosts: readonly string[]): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const h = url.host.toLowerCase();
  return hosts.some((x) => x.toLowerCase() === h);
}

/** Make a Collector from a platform spec, with options (defaults from its configSchema). */
export function definePlatformCollector<O>(spec: PlatformSpec<O>, options: O = spec.configSchema.parse({})): Collector {
  return {
    id: spec.id,
    version: spec.version,
    capabilities: spec.capabilities,
    configSchema: spec.configSchema,
    ...(spec.accountHelps ? { accountHelps: spec.accountHelps } : {}),
    matches: (url) => spec.matches(url, options),
    configure: (o) => definePlatformCollector(spec, spec.configSchema.parse(o)),
    collect: (ctx, target) => capturePlatformPage(ctx, target, spec, options),
  };
}

/** How long a response the client already holds may take to appear in the recording at all. */
const RECORDING_APPEAR_MS = 5_000;

/**
 * The decoded body of the last GET of `url` in the recording, or null (none, cut short, or past
 * the decode limit). The client may hold every byte (Content-Length) a moment before the proxy has
 * settled the exchange — or even listed it — so it waits for that exchange to appear (at most
 * `RECORDING_APPEAR_MS`) and to complete (at most `waitMs`). Without the first wait, a collector
 * that read an answer at once found no exchange, went on, and the capture closed before the
 * recording held it (a Reddit 403 listing's `reason` was then missing from the sealed evidence).
 */
export async function recordedBody(live: Pick<LivePage, 'exchanges' | 'signal' | 'decodedBodyPath'>, url: string, waitMs: number): Promise<Buffer | null> {
  const key = wireUrl(url);
  const find = () =>
    live
      .exchanges()
      .filter((e) => e.method === 'GET' && wireUrl(e.url) === key)
      .at(-1);
  let ex = find();
  const until = Date.now() + waitMs;
  const appearBy = Date.now() + Math.min(waitMs, RECORDING_APPEAR_MS);
  while ((ex ? ex.completedAt === null && Date.now() < until : Date.now() < appearBy) && !live.signal.aborted) {
    await new Promise((r) => setTimeout(r, 20));
    ex = find();
  }
  if (!ex || ex.completedAt === null || ex.truncated) return null;
  try {
    const p = await live.decodedBodyPath(ex);
    return p === null ? null : await readFile(p);
  } catch {
    return null;
  }
}

function isHls(url: string, view: RecordedView): boolean {
  if (/\.m3u8(\?|$)/i.test(url)) return true;
  const pick = pickExchange(view.exchanges, url);
  const t = pick.ok ? responseType(pick.exchange) : null;
  return t === 'application/vnd.apple.mpegurl' || t === 'application/x-mpegurl' || t === 'audio/mpegurl';
}

/**
 * Capture a platform post: the web collector's full capture (screenshot, DOM, MHTML, WARC, media,
 * page facts, environment) of `spec.pageUrl(target)`, then the platform's `extract` over the
 * recorded responses, media linked to artifacts (HLS assembled from recorded segments), and
 * `post.json` written. A post the platform said it did not show makes the capture `failed` with
 * `NOT_VISIBLE`; the observation itself is sealed like any capture. A page the platform collector
 * did not recognise is captured (not failed), read by the generic extraction and flagged
 * `needs-review`.
 */
export async function capturePlatformPage<O>(ctx: CollectContext, target: URL, spec: PlatformSpec<O>, options: O): Promise<CollectorOutput> {
  const log = childLogger(ctx.logger, 'collector', { captureId: ctx.captureId, collector: spec.id });
  const pageUrl = spec.pageUrl?.(target, options) ?? target;
  const requests: CollectorRequest[] = [];
  let doc: PostDocument | null = null;
  let extractionError: string | null = null;

  const out = await captureWeb(ctx, pageUrl, {
    collector: { id: spec.id, version: spec.version },
    onPage: spec.onPage
      ? async (live) => {
          const onPage = spec.onPage!;
          const view = (): RecordedView => new RecordedView(live.exchanges(), live, pageUrl.href);
          const fetch: PlatformPage['fetch'] = async (url, o) => {
            try {
              // The body comes from the recording, through the bounded decoder: Playwright's client
              // would decode gzip/br in memory without a limit, so it gets the body still encoded.
              const res = await live.context.request.get(url, { headers: { ...(o.headers ?? {}), [RAW_BODY_HEADER]: '1' }, failOnStatusCode: false, maxRedirects: 5, timeout: ctx.capture.navigationTimeoutMs });
              requests.push({ url, purpose: o.purpose, status: res.status() });
              return { status: res.status(), body: await recordedBody(live, res.url(), ctx.capture.navigationTimeoutMs) };
            } catch (err) {
              log.warn({ url: redactUrl(url), err: (err as Error).message.split('\n')[0] }, 'collector request failed');
              requests.push({ url, purpose: o.purpose, status: null });
              return { status: null, body: null };
            }
          };
          const ensureRecorded: PlatformPage['ensureRecorded'] = async (urls, purpose) => {
            // Let responses still arriving finish first: one in flight is not yet recorded.
            await live.waitForNetworkQuiet(0);
            const v = view();
            for (const u of urls) {
              const pick = pickExchange(v.exchanges, u);
              if (!pick.ok || pick.flags.length > 0) await fetch(u, { purpose });
            }
          };
          await onPage({ ...live, view, fetch, ensureRecorded }, target, options);
        }
      : undefined,
    onRecorded: async (rec) => {
      try {
        doc = await extractAndLink(ctx, rec.exchanges, rec, rec.files, rec.snapshot, rec.workDir, pageUrl, target, spec, options, requests);
      } catch (err) {
        extractionError = (err as Error).message;
        log.error({ err: extractionError }, 'post extraction failed');
      }
    },
  });

  if (extractionError !== null) {
    return { ...out, status: 'failed', failure: { code: 'INTERNAL', kind: 'permanent', message: `the ${spec.platform} post could not be read from the recording: ${extractionError}${out.failure ? ` (${out.failure.message})` : ''}` } };
  }
  const found = doc as PostDocument | null;
  if (found === null) return out;
  const failure = failureForObservation(found.visibility, target.href, out.failure);
  return { ...out, status: failure ? 'failed' : out.status, failure };
}

/** Longest parse or schema error quoted in a review flag: enough to name it, never a whole payload. */
const MAX_PARSE_ERROR = 300;

function bounded(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_PARSE_ERROR ? line : `${line.slice(0, MAX_PARSE_ERROR - 1)}…`;
}

/** Why an extraction is not post.json material (its observation or a post fails the schema), or null. */
function schemaProblem(found: Extraction): string | null {
  const obs = PlatformObservation.safeParse(found.visibility);
  if (!obs.success) return `the visibility observation does not match the post.json schema: ${obs.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join(', ')}`;
  const posts: [string, Post | null | undefined][] = [['post', found.post], ['quoted', found.quoted], ...(found.replies ?? []).map((r, i): [string, Post] => [`replies.${i}`, r])];
  for (const [where, p] of posts) {
    if (p === null || p === undefined) continue;
    const r = Post.safeParse(p);
    if (!r.success) return `the ${where} does not match the post.json schema: ${r.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join(', ')}`;
  }
  return null;
}

/**
 * The platform's `extract`, guarded, and the not-recognised rule applied: the one entry point the
 * capture uses. An extractor that throws anything but an ExhibitError (a TypeError on JSON of
 * another shape), or returns a post that fails the post.json schema, could not parse the page:
 * that is a statement about the collector, never about the platform, so the page is
 * `not-recognised` and read by the generic extraction, with the parse error named in the review
 * flag. ExhibitErrors (deliberate, typed) pass through unchanged.
 */
export async function readPlatformPost<O>(spec: PlatformSpec<O>, ectx: ExtractContext, target: URL, options: O): Promise<{ found: Extraction; review: ReviewFlag[] } | null> {
  let found: Extraction | null;
  let parseError: string | null = null;
  try {
    found = await spec.extract(ectx, target, options);
    if (found !== null) parseError = schemaProblem(found);
  } catch (err) {
    if (err instanceof ExhibitError) throw err;
    found = null;
    parseError = `the extractor failed with ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
  if (parseError !== null) {
    found = { visibility: notRecognised(bounded(parseError), [], null), post: null };
  }
  if (found === null) return null;
  const review: ReviewFlag[] = [];
  if (found.visibility.state === 'not-recognised') {
    // The page is kept and read the generic way, never reported as "not served": a person checks it.
    const generic = found.post ? null : await extractGenericPost(ectx.view, ectx.observedAt);
    if (generic) found.post = generic.post;
    const how = found.post
      ? `fields read by the generic extraction (${[...new Set(Object.values(found.post.sources))].join(', ') || 'none'}), each with its source`
      : 'the page carries no OpenGraph, JSON-LD or oEmbed description of a post';
    const what = parseError !== null ? 'could not parse this page' : "did not recognise this page's layout";
    review.push({ code: 'not-recognised', message: `the ${spec.platform} collector ${what}: ${found.visibility.reason ?? 'unknown layout'}; ${how}. Check the screenshot and the page before relying on it.` });
  }
  return { found, review };
}

async function extractAndLink<O>(
  ctx: CollectContext,
  exchanges: readonly RecordedExchange[],
  bodies: BodyReader,
  files: SpoolFile[],
  snapshot: PageSnapshot | null,
  workDir: string,
  pageUrl: URL,
  target: URL,
  spec: PlatformSpec<O>,
  options: O,
  requests: CollectorRequest[],
): Promise<PostDocument | null> {
  const view = new RecordedView(exchanges, bodies, pageUrl.href, ctx.spoolDir);
  const linker = new MediaLinker(view, ctx.spoolDir, files);
  const observedAt = isoUtc(ctx.clock.now());
  const keepResponse: ExtractContext['keepResponse'] = async (url, name, mediaType) => {
    const ex = view.last(url);
    if (!ex || ex.truncated) return null;
    const src = await view.bodies(ex);
    if (src === null) return null;
    await mkdir(path.dirname(path.join(ctx.spoolDir, name)), { recursive: true });
    await copyFile(src, path.join(ctx.spoolDir, name));
    await view.bytes(ex, 'api-json');
    files.push({ path: name, role: 'other', mediaType, sourceUrl: url, flags: [] });
    return name;
  };
  const read = await readPlatformPost(spec, { view, snapshot, observedAt, spoolDir: ctx.spoolDir, keepResponse }, target, options);
  if (read === null) return null;
  const { found, review } = read;

  const linkPost = async (p: Post | null): Promise<Post | null> => {
    if (!p) return null;
    const media = [];
    for (const m of p.media) {
      if (m.sourceUrl && m.artifact === null && m.type === 'video' && isHls(m.sourceUrl, view)) {
        const hls = await assembleHls({ view, linker, playlistUrl: m.sourceUrl, spoolDir: ctx.spoolDir, workDir, maxBytes: ctx.capture.maxResourceBytes });
        media.push({ ...m, artifact: hls.playlists[0] ?? null, assembledArtifact: hls.assembled, durationSeconds: m.durationSeconds ?? hls.durationSeconds, flags: [...m.flags, ...hls.flags] });
      } else media.push(...(await linker.link([m])));
    }
    return { ...p, media };
  };
  const replies: Post[] = [];
  for (const r of found.replies ?? []) replies.push((await linkPost(r))!);
  const doc = PostDocument.parse({
    schemaVersion: 'exhibit.post/1',
    platform: found.platform ?? spec.platform,
    collector: { id: spec.id, version: spec.version },
    requestedUrl: target.href,
    pageUrl: pageUrl.href,
    observedAt,
    visibility: found.visibility,
    post: await linkPost(found.post),
    replies,
    quoted: await linkPost(found.quoted ?? null),
    proof: found.proof ?? null,
    ...(found.profile ? { profile: found.profile } : {}),
    collectorRequests: requests,
    readFrom: view.readFrom(),
    review,
  });
  await writeFile(path.join(ctx.spoolDir, 'post.json'), `${JSON.stringify(doc, null, 2)}\n`, 'utf8');
  const flags = doc.visibility.state === 'visible' ? [] : [{ code: `visibility-${doc.visibility.state}`, message: doc.visibility.reason ?? doc.visibility.state }];
  // The manifest lists post.json with these flags, so the review request is sealed with the capture.
  for (const r of doc.review) flags.push({ code: 'needs-review', message: r.message });
  files.push({ path: 'post.json', role: 'post', mediaType: 'application/json', sourceUrl: null, flags });
  return doc;
}
