import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { PlatformObservation, Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedExchange } from './browser/recorded-exchange.js';
import { exactCount, hashtagsIn, htmlToText, textDirection } from './platform/text.js';

/**
 * Reddit: `/r/<sub>/comments/<id>/<slug>/` (also `/comments/<id>`). The post page is server-rendered
 * (`<shreddit-post>` with the post's facts as attributes); the post and its comment tree as JSON are
 * served at the same path plus `.json` (`[post listing, comments listing]`), which the collector
 * records through the page's own context (`api-json`). Galleries (`gallery_data` + `media_metadata`)
 * are fetched at their source size; `v.redd.it` video is the HLS stream the page's player loads,
 * assembled from the recorded segments. The NSFW interstitial, private or quarantined communities,
 * removed/deleted posts and rate limits are reported as such.
 */

export const RedditOptions = z.object({
  /** Hosts serving post pages (host[:port]). @defaultValue `["www.reddit.com", "reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com", "sh.reddit.com"]` */
  hosts: z.array(z.string().min(1)).default(['www.reddit.com', 'reddit.com', 'old.reddit.com', 'new.reddit.com', 'np.reddit.com', 'sh.reddit.com']),
  /** Record the post's `.json` listing (post and comment tree). @defaultValue true */
  json: z.boolean().default(true),
});
export type RedditOptions = z.infer<typeof RedditOptions>;

/** `{ sub, id, slug }` of a post URL, or null. */
export function parseRedditUrl(url: URL): { sub: string | null; id: string; slug: string | null } | null {
  const m = /^\/r\/([A-Za-z0-9_]{2,21})\/comments\/([a-z0-9]{3,12})(?:\/([^/]*))?\/?$/.exec(url.pathname);
  if (m) return { sub: m[1]!, id: m[2]!, slug: m[3] || null };
  const c = /^\/comments\/([a-z0-9]{3,12})(?:\/([^/]*))?\/?$/.exec(url.pathname);
  return c ? { sub: null, id: c[1]!, slug: c[2] || null } : null;
}

/** The `.json` listing URL of a post page (same path, `.json` appended, `raw_json=1` so bodies are not HTML-escaped). */
export function redditJsonUrl(page: URL): string {
  const u = new URL(page.href);
  u.pathname = `${u.pathname.replace(/\/$/, '')}.json`;
  u.search = '?raw_json=1';
  u.hash = '';
  return u.href;
}

interface MediaMeta {
  status?: string;
  e?: string;
  m?: string;
  s?: { u?: string; gif?: string; mp4?: string; x?: number; y?: number };
  hlsUrl?: string;
}
/** A `t3` (link/post) thing's data, as the `.json` listing serves it. */
export interface RedditPostData {
  id: string;
  name?: string;
  title?: string;
  selftext?: string;
  selftext_html?: string | null;
  author?: string;
  author_fullname?: string;
  subreddit?: string;
  permalink?: string;
  url?: string;
  created_utc?: number;
  over_18?: boolean;
  removed_by_category?: string | null;
  num_comments?: number;
  score?: number;
  upvote_ratio?: number;
  is_gallery?: boolean;
  gallery_data?: { items?: Array<{ media_id: string; caption?: string }> };
  media_metadata?: Record<string, MediaMeta>;
  secure_media?: { reddit_video?: RedditVideo } | null;
  media?: { reddit_video?: RedditVideo } | null;
  crosspost_parent?: string;
  crosspost_parent_list?: Array<{ id: string; permalink?: string; author?: string }>;
  post_hint?: string;
  is_self?: boolean;
}
interface RedditVideo {
  hls_url?: string;
  dash_url?: string;
  fallback_url?: string;
  duration?: number;
  width?: number;
  height?: number;
}
/** A `t1` (comment) thing's data. */
export interface RedditCommentData {
  id: string;
  author?: string;
  author_fullname?: string;
  body?: string;
  body_html?: string;
  created_utc?: number;
  parent_id?: string;
  permalink?: string;
  score?: number;
  replies?: RedditListing | '';
}
interface RedditThing {
  kind: string;
  data: Record<string, unknown>;
}
export interface RedditListing {
  kind: 'Listing';
  data: { children: RedditThing[] };
}

/** `created_utc` (epoch seconds, as served) as raw string and UTC. */
export function redditTime(v: number | undefined): { raw: string; utc: string | null } | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  return { raw: String(v), utc: new Date(Math.round(v * 1000)).toISOString() };
}

/** Reddit escapes `&` in JSON media URLs unless `raw_json=1`; undo that one escape either way. */
const unescapeAmp = (u: string): string => u.replaceAll('&amp;', '&');

function allFrom(source: PostSource, fields: readonly PostField[]): Partial<Record<PostField, PostSource>> {
  return Object.fromEntries(fields.map((f) => [f, source]));
}

/** Links and mentions (`u/name`) in a rendered Reddit body. */
function linksOf(html: string | null | undefined, origin: string): { links: string[]; mentions: Post['mentions'] } {
  const links: string[] = [];
  const mentions: Post['mentions'] = [];
  if (!html) return { links, mentions };
  const $ = cheerio.load(html, null, false);
  $('a[href]').each((_, a) => {
    const href = $(a).attr('href')!;
    const label = $(a).text();
    const mu = /^\/?u(?:ser)?\/([A-Za-z0-9_-]{3,20})\/?$/.exec(href);
    if (mu) {
      if (!mentions.some((m) => m.handle === mu[1])) mentions.push({ handle: mu[1]!, id: null, url: `${origin}/user/${mu[1]}/` });
      return;
    }
    if (/^\/?r\/[A-Za-z0-9_]+\/?$/.test(href) || label.startsWith('#')) return;
    try {
      const u = new URL(href, origin).href;
      if (!links.includes(u)) links.push(u);
    } catch {
      // not a URL: skip
    }
  });
  return { links, mentions };
}

/** Media of a post: gallery images at their source size, the reddit_video HLS stream, or an image link. */
export function redditMedia(d: RedditPostData): PostMedia[] {
  const base = { artifact: null, assembledArtifact: null, durationSeconds: null, alt: null, flags: [] };
  const out: PostMedia[] = [];
  if (d.gallery_data?.items && d.media_metadata) {
    for (const it of d.gallery_data.items) {
      const m = d.media_metadata[it.media_id];
      if (!m || m.status !== 'valid') {
        out.push({ ...base, type: 'image', sourceUrl: null, width: null, height: null, alt: it.caption ?? null, flags: [{ code: 'media-not-served', message: `gallery item ${it.media_id}: media_metadata status ${m?.status ?? 'missing'}` }] });
        continue;
      }
      if (m.e === 'RedditVideo' && m.hlsUrl) out.push({ ...base, type: 'video', sourceUrl: unescapeAmp(m.hlsUrl), width: m.s?.x ?? null, height: m.s?.y ?? null, alt: it.caption ?? null });
      else if (m.e === 'AnimatedImage') out.push({ ...base, type: 'gif', sourceUrl: m.s?.mp4 ? unescapeAmp(m.s.mp4) : m.s?.gif ? unescapeAmp(m.s.gif) : null, width: m.s?.x ?? null, height: m.s?.y ?? null, alt: it.caption ?? null });
      else out.push({ ...base, type: 'image', sourceUrl: m.s?.u ? unescapeAmp(m.s.u) : null, width: m.s?.x ?? null, height: m.s?.y ?? null, alt: it.caption ?? null });
    }
    return out;
  }
  const v = d.secure_media?.reddit_video ?? d.media?.reddit_video;
  if (v) {
    const src = v.hls_url ?? v.fallback_url ?? null;
    return [{ ...base, type: 'video', sourceUrl: src ? unescapeAmp(src) : null, width: v.width ?? null, height: v.height ?? null, durationSeconds: v.duration ?? null }];
  }
  if (d.post_hint === 'image' && d.url) return [{ ...base, type: 'image', sourceUrl: unescapeAmp(d.url), width: null, height: null }];
  return out;
}

/**
 * A post as a Post. Reddit posts have a title and an optional body: `text.content` is the title,
 * then a blank line and the body (`selftext`, Markdown as served) when there is one; `text.html` is
 * the body as Reddit rendered it (`selftext_html`).
 */
export function redditPostToPost(d: RedditPostData, readAt: string, origin: string): Post {
  const title = d.title ?? '';
  const body = d.selftext ?? '';
  const content = body ? `${title}\n\n${body}` : title;
  const { links, mentions } = linksOf(d.selftext_html, origin);
  if (d.url && !d.is_self && !d.is_gallery && !/\/comments\//.test(d.url) && !links.includes(d.url) && !(d.secure_media?.reddit_video ?? d.media?.reddit_video)) links.unshift(unescapeAmp(d.url));
  const author = d.author && d.author !== '[deleted]' ? d.author : null;
  const counts: Record<string, { display: string; value: number | null }> = {};
  if (typeof d.score === 'number') counts.score = exactCount(Math.max(0, d.score));
  if (typeof d.num_comments === 'number') counts.comments = exactCount(d.num_comments);
  const parent = d.crosspost_parent_list?.[0];
  return {
    id: d.id,
    url: d.permalink ? new URL(d.permalink, origin).href : null,
    uri: d.name ?? `t3_${d.id}`,
    author: { id: author ? (d.author_fullname ?? null) : null, handle: author, displayName: null, profileUrl: author ? `${origin}/user/${author}/` : null },
    published: redditTime(d.created_utc),
    text: { content, html: d.selftext_html ?? null, language: null, direction: textDirection(content) },
    media: redditMedia(d),
    links,
    mentions,
    hashtags: hashtagsIn(body),
    replyTo: null,
    quoteOf: null,
    repostOf: parent ? { id: parent.id, url: parent.permalink ? new URL(parent.permalink, origin).href : null, authorHandle: parent.author ?? null } : d.crosspost_parent ? { id: d.crosspost_parent.replace(/^t3_/, ''), url: null, authorHandle: null } : null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources: allFrom('api-json', ['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'repostOf', 'engagement']),
  };
}

/** A comment as a Post (`replyTo` is the parent comment or the post). */
export function redditCommentToPost(c: RedditCommentData, readAt: string, origin: string): Post {
  const body = c.body ?? '';
  const author = c.author && c.author !== '[deleted]' ? c.author : null;
  const { links, mentions } = linksOf(c.body_html, origin);
  const parent = c.parent_id ?? '';
  return {
    id: c.id,
    url: c.permalink ? new URL(c.permalink, origin).href : null,
    uri: `t1_${c.id}`,
    author: { id: author ? (c.author_fullname ?? null) : null, handle: author, displayName: null, profileUrl: author ? `${origin}/user/${author}/` : null },
    published: redditTime(c.created_utc),
    text: { content: body, html: c.body_html ?? null, language: null, direction: textDirection(body) },
    media: [],
    links,
    mentions,
    hashtags: hashtagsIn(body),
    replyTo: parent ? { id: parent.replace(/^t[13]_/, ''), url: null, authorHandle: null } : null,
    quoteOf: null,
    repostOf: null,
    engagement: typeof c.score === 'number' ? { readAt, counts: { score: exactCount(Math.max(0, c.score)) } } : null,
    sources: allFrom('api-json', ['id', 'url', 'author', 'published', 'text', 'links', 'mentions', 'hashtags', 'replyTo', 'engagement']),
  };
}

/** The comment tree, depth first in the order served (`more` stubs are not comments and are skipped). */
export function flattenComments(listing: RedditListing | '' | undefined, readAt: string, origin: string): Post[] {
  const out: Post[] = [];
  if (!listing || typeof listing !== 'object') return out;
  for (const t of listing.data?.children ?? []) {
    if (t.kind !== 't1') continue;
    const c = t.data as unknown as RedditCommentData;
    out.push(redditCommentToPost(c, readAt, origin));
    out.push(...flattenComments(c.replies, readAt, origin));
  }
  return out;
}

/** What a post's own markers say: removed by moderators/Reddit, deleted by its author. */
export function observeRemoved(d: RedditPostData, ex: RecordedExchange): PlatformObservation | null {
  const cat = d.removed_by_category ?? null;
  const body = d.selftext ?? '';
  const sig = [signal('api-json', ex, `removed_by_category: ${cat ?? 'null'}; selftext: ${JSON.stringify(body.slice(0, 20))}; author: ${d.author ?? 'null'}`)];
  if (cat === 'deleted' || (body === '[deleted]' && d.author === '[deleted]')) return observe('deleted', 'Reddit shows the post as deleted by its author ([deleted]); the title and the comments that remain were recorded', sig, ex.status);
  if (cat || body === '[removed]') return observe('deleted', `Reddit shows the post as removed${cat ? ` (removed_by_category: ${cat})` : ''} ([removed]); the title and the comments that remain were recorded`, sig, ex.status);
  return null;
}

/** The server-rendered `<shreddit-post>` as a Post (`dom`), when the JSON is not there. */
export function readShredditPost(html: string, readAt: string, origin: string): Post | null {
  const $ = cheerio.load(html);
  const el = $('shreddit-post').first();
  if (!el.length) return null;
  const id = (el.attr('id') ?? '').replace(/^t3_/, '');
  if (!id) return null;
  const title = el.attr('post-title') ?? '';
  const body = el.find('[slot="text-body"]').first();
  const bodyText = body.length ? htmlToText(body.html() ?? '').trim() : '';
  const content = bodyText ? `${title}\n\n${bodyText}` : title;
  const author = el.attr('author') ?? null;
  const created = el.attr('created-timestamp') ?? null;
  const t = created ? Date.parse(created) : Number.NaN;
  const counts: Record<string, { display: string; value: number | null }> = {};
  for (const [k, a] of [['score', 'score'], ['comments', 'comment-count']] as const) {
    const v = el.attr(a);
    if (v && /^\d+$/.test(v)) counts[k] = exactCount(Number(v));
  }
  const permalink = el.attr('permalink');
  return {
    id,
    url: permalink ? new URL(permalink, origin).href : null,
    uri: `t3_${id}`,
    author: author && author !== '[deleted]' ? { id: el.attr('author-id') ?? null, handle: author, displayName: null, profileUrl: `${origin}/user/${author}/` } : null,
    published: created ? { raw: created, utc: Number.isNaN(t) ? null : new Date(t).toISOString() } : null,
    text: { content, html: body.length ? (body.html() ?? null) : null, language: null, direction: textDirection(content) },
    media: [],
    links: [],
    mentions: [],
    hashtags: hashtagsIn(bodyText),
    replyTo: null,
    quoteOf: null,
    repostOf: null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources: allFrom('dom', ['id', 'url', 'author', 'published', 'text', 'hashtags', 'engagement'].filter((f) => f !== 'engagement' || Object.keys(counts).length) as PostField[]),
  };
}

export const redditSpec: PlatformSpec<RedditOptions> = {
  id: 'reddit',
  version: '1.0.0',
  platform: 'reddit',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: RedditOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseRedditUrl(url) !== null,
  async onPage(page, target, o) {
    await page.waitForNetworkQuiet();
    const main = page.view().mainDocument();
    // Nothing to ask for when the page was sent to the NSFW interstitial or answered neither 200 nor
    // 403 (a 403 listing names why: `{"reason": "private" | "quarantined", "error": 403}`).
    if (!o.json || !main || (main.status !== 200 && main.status !== 403) || /^\/over18/.test(new URL(main.url).pathname)) return;
    const jsonUrl = redditJsonUrl(new URL(main.url));
    // Read the answer from the fetch itself: the recorder may not have marked the exchange complete yet.
    const res = await page.fetch(jsonUrl, { purpose: 'the post and its comment tree as JSON (the page path + .json)', headers: { Accept: 'application/json' } });
    let body: RedditListing[] | null = null;
    try {
      body = res.status === 200 && res.body ? (JSON.parse(res.body.toString('utf8')) as RedditListing[]) : null;
    } catch {
      body = null;
    }
    const d = Array.isArray(body) ? (body[0]?.data?.children?.[0]?.data as RedditPostData | undefined) : undefined;
    if (!d) return;
    const images = redditMedia(d).filter((m) => m.type !== 'video' && m.sourceUrl).map((m) => m.sourceUrl!);
    await page.ensureRecorded(images, 'gallery images at the source size named by media_metadata');
  },
  async extract({ view, observedAt }, target) {
    const { id } = parseRedditUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const origin = target.origin;
    const finalUrl = new URL(main.url);
    if (/^\/over18/.test(finalUrl.pathname)) {
      return { visibility: observe('age-gated', 'Reddit sent the logged-out visitor to its over-18 interstitial: the post is in an NSFW community or marked NSFW', [signal('dom', main, `the post page redirected to ${finalUrl.pathname}`)], main.status), post: null };
    }
    const jsonEx = view.last(redditJsonUrl(finalUrl)) ?? view.last(redditJsonUrl(target));
    const pageHttp = observeHttpStatus(main, 'Reddit');
    if (pageHttp) {
      // A private or quarantined community answers 403 with a reason in the JSON.
      const err = jsonEx ? await view.json<{ reason?: string; error?: number }>(jsonEx) : null;
      const reason = err && !Array.isArray(err) && typeof err.reason === 'string' ? err.reason : null;
      if (main.status === 403 && (reason === 'private' || reason === 'quarantined' || reason === 'gated')) {
        pageHttp.state = 'login-wall';
        pageHttp.reason = `Reddit answered 403 (${reason}): the community is ${reason === 'private' ? 'private; only approved members, logged in, can see it' : `${reason}; only a logged-in account that has opted in can see it`}`;
        pageHttp.signals.push(signal('api-json', jsonEx, `reason: ${reason}`));
      }
      return { visibility: pageHttp, post: null };
    }
    if (jsonEx) {
      const http = observeHttpStatus(jsonEx, 'the Reddit .json listing');
      if (http) return { visibility: http, post: null };
      const body = await view.json<RedditListing[]>(jsonEx);
      const d = Array.isArray(body) ? (body[0]?.data?.children?.[0]?.data as RedditPostData | undefined) : undefined;
      if (d && d.id === id) {
        const post = redditPostToPost(d, observedAt, origin);
        const replies = flattenComments(body?.[1], observedAt, origin);
        const removed = observeRemoved(d, jsonEx);
        if (removed) return { visibility: removed, post, replies };
        const gate = d.over_18 ? [signal('api-json', jsonEx, 'over_18: true (shown: the page was served without the interstitial)')] : [];
        return { visibility: visible([signal('api-json', jsonEx, `HTTP ${jsonEx.status}: t3_${d.id}`), ...gate], jsonEx.status), post, replies };
      }
    }
    const html = await view.servedHtml('dom');
    const post = html ? readShredditPost(html, observedAt, origin) : null;
    if (post && post.id === id) return { visibility: visible([signal('dom', main, `<shreddit-post id="t3_${id}">`)], main.status), post };
    return { visibility: notRecognised('neither the .json listing nor the page held the post in a known shape', [signal('dom', main, `no <shreddit-post id="t3_${id}"> and ${jsonEx ? `HTTP ${jsonEx.status} from` : 'no response from'} the .json listing`)], main.status), post: null };
  },
};

export const redditCollector = definePlatformCollector(redditSpec);
