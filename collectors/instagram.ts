import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import type { RecordedExchange } from './browser/recorded-exchange.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { describesPost } from './platform/generic-extract.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import { exactCount, hashtagsIn, textDirection } from './platform/text.js';

/**
 * Instagram: `/p/<shortcode>/`, `/reel/<shortcode>/` (also `/reels/`, `/tv/`, `/<user>/p/`). The
 * served page is a shell with OpenGraph tags; its script asks `POST /graphql/query`
 * (`PolarisPostActionLoadPostQueryQuery`) for the post and renders `data.xdt_shortcode_media`:
 * caption, owner, `taken_at_timestamp`, carousel children (`edge_sidecar_to_children`),
 * `video_url`, counts and the first comments. That recorded response is the source (`api-json`).
 * Logged-out visitors are often sent to `/accounts/login/` instead, or get an empty media answer
 * or a 429: each is reported as such.
 */

export const InstagramOptions = z.object({
  /** Hosts serving Instagram web pages (host[:port]); tests point this at a fixture. @defaultValue `["www.instagram.com", "instagram.com"]` */
  hosts: z.array(z.string().min(1)).default(['www.instagram.com', 'instagram.com']),
});
export type InstagramOptions = z.infer<typeof InstagramOptions>;

/** `{ shortcode, kind }` of a post URL, or null. */
export function parseInstagramUrl(url: URL): { shortcode: string; kind: 'p' | 'reel' | 'tv' } | null {
  const m = /^\/(?:[\w.]{1,30}\/)?(p|reels?|tv)\/([A-Za-z0-9_-]{5,64})\/?$/.exec(url.pathname);
  if (!m) return null;
  const kind = m[1] === 'p' ? 'p' : m[1] === 'tv' ? 'tv' : 'reel';
  return { shortcode: m[2]!, kind };
}

interface IgNode {
  __typename?: string;
  id: string;
  shortcode?: string;
  display_url?: string;
  dimensions?: { width?: number; height?: number };
  accessibility_caption?: string | null;
  is_video?: boolean;
  video_url?: string;
  video_duration?: number;
}
interface IgComment {
  id: string;
  text: string;
  created_at: number;
  owner?: { id?: string; username?: string };
  edge_liked_by?: { count?: number };
  edge_threaded_comments?: { count?: number; edges?: Array<{ node: IgComment }> };
}
export interface IgMedia extends IgNode {
  shortcode: string;
  product_type?: string;
  taken_at_timestamp?: number;
  owner?: { id?: string; username?: string; full_name?: string };
  edge_media_to_caption?: { edges?: Array<{ node?: { text?: string } }> };
  edge_media_preview_like?: { count?: number };
  edge_media_to_parent_comment?: { count?: number; edges?: Array<{ node: IgComment }> };
  edge_sidecar_to_children?: { edges?: Array<{ node: IgNode }> };
  video_view_count?: number;
  video_play_count?: number;
  like_and_view_counts_disabled?: boolean;
}

const GRAPHQL = (u: URL): boolean => /^\/(?:api\/)?graphql(?:\/query)?\/?$/.test(u.pathname);

function unixPublished(n: number | undefined): { raw: string; utc: string | null } | null {
  if (typeof n !== 'number' || !Number.isFinite(n)) return null;
  return { raw: String(n), utc: n > 0 ? new Date(n * 1000).toISOString() : null };
}

function mediaOf(n: IgNode): PostMedia {
  const video = n.is_video === true && !!n.video_url;
  return {
    type: video ? 'video' : 'image',
    sourceUrl: (video ? n.video_url : n.display_url) ?? null,
    artifact: null,
    assembledArtifact: null,
    width: n.dimensions?.width || null,
    height: n.dimensions?.height || null,
    durationSeconds: video ? (n.video_duration ?? null) : null,
    alt: n.accessibility_caption ?? null,
    flags: [],
  };
}

/** Every media item of a post: the carousel children in order, else the post itself. */
export function igMediaItems(m: IgMedia): IgNode[] {
  const children = (m.edge_sidecar_to_children?.edges ?? []).map((e) => e.node).filter((n) => n && typeof n.id === 'string');
  return children.length > 0 ? children : [m];
}

const mentionsIn = (text: string, origin: string): Post['mentions'] => {
  const out: Post['mentions'] = [];
  for (const m of text.matchAll(/(?:^|[^\w.])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)/g)) if (!out.some((x) => x.handle === m[1])) out.push({ handle: m[1]!, id: null, url: `${origin}/${m[1]}/` });
  return out;
};

/** `xdt_shortcode_media` as a Post; every field from `api-json`. */
export function igMediaToPost(m: IgMedia, readAt: string, origin: string): Post {
  const caption = m.edge_media_to_caption?.edges?.[0]?.node?.text ?? null;
  const user = m.owner?.username ?? null;
  const media = igMediaItems(m).map(mediaOf);
  const counts: Record<string, { display: string; value: number | null }> = {};
  if (!m.like_and_view_counts_disabled && typeof m.edge_media_preview_like?.count === 'number') counts.likes = exactCount(m.edge_media_preview_like.count);
  if (typeof m.edge_media_to_parent_comment?.count === 'number') counts.replies = exactCount(m.edge_media_to_parent_comment.count);
  const plays = m.video_play_count ?? m.video_view_count;
  if (!m.like_and_view_counts_disabled && typeof plays === 'number') counts.views = exactCount(plays);
  const mentions = caption ? mentionsIn(caption, origin) : [];
  const hashtags = caption ? hashtagsIn(caption) : [];
  const sources: Partial<Record<PostField, PostSource>> = { id: 'api-json', url: 'api-json' };
  if (m.owner) sources.author = 'api-json';
  if (m.taken_at_timestamp !== undefined) sources.published = 'api-json';
  if (caption !== null) sources.text = 'api-json';
  if (media.length) sources.media = 'api-json';
  if (mentions.length) sources.mentions = 'api-json';
  if (hashtags.length) sources.hashtags = 'api-json';
  if (Object.keys(counts).length) sources.engagement = 'api-json';
  return {
    id: m.shortcode,
    url: `${origin}/${m.product_type === 'clips' ? 'reel' : 'p'}/${m.shortcode}/`,
    uri: null,
    author: m.owner ? { id: m.owner.id ?? null, handle: user, displayName: m.owner.full_name || null, profileUrl: user ? `${origin}/${user}/` : null } : null,
    published: unixPublished(m.taken_at_timestamp),
    text: caption === null ? null : { content: caption, html: null, language: null, direction: textDirection(caption) },
    media,
    links: [],
    mentions,
    hashtags,
    replyTo: null,
    quoteOf: null,
    repostOf: null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources,
  };
}

function commentToPost(c: IgComment, parentId: string, readAt: string, origin: string): Post {
  const user = c.owner?.username ?? null;
  return {
    id: c.id,
    url: null,
    uri: null,
    author: c.owner ? { id: c.owner.id ?? null, handle: user, displayName: null, profileUrl: user ? `${origin}/${user}/` : null } : null,
    published: unixPublished(c.created_at),
    text: { content: c.text, html: null, language: null, direction: textDirection(c.text) },
    media: [],
    links: [],
    mentions: mentionsIn(c.text, origin),
    hashtags: hashtagsIn(c.text),
    replyTo: { id: parentId, url: null, authorHandle: null },
    quoteOf: null,
    repostOf: null,
    engagement: typeof c.edge_liked_by?.count === 'number' ? { readAt, counts: { likes: exactCount(c.edge_liked_by.count) } } : null,
    sources: { id: 'api-json', author: 'api-json', published: 'api-json', text: 'api-json', replyTo: 'api-json', ...(c.edge_liked_by ? { engagement: 'api-json' as const } : {}) },
  };
}

/** The visible comments, each followed by its threaded replies, in the order served. */
export function igComments(m: IgMedia, readAt: string, origin: string): Post[] {
  const out: Post[] = [];
  for (const e of m.edge_media_to_parent_comment?.edges ?? []) {
    if (!e?.node || typeof e.node.text !== 'string') continue;
    out.push(commentToPost(e.node, m.shortcode, readAt, origin));
    for (const r of e.node.edge_threaded_comments?.edges ?? []) if (r?.node && typeof r.node.text === 'string') out.push(commentToPost(r.node, e.node.id, readAt, origin));
  }
  return out;
}

/** The post query the page made for this shortcode: its exchange and body (the last answer; the matching one when several). */
async function postQuery(view: RecordedView, shortcode: string): Promise<{ ex: RecordedExchange | null; body: Record<string, unknown> | null; media: IgMedia | null }> {
  const answered = [...view.all(GRAPHQL, { method: 'POST' }), ...view.all(GRAPHQL)].filter((ex) => ex.status !== null);
  let fallback: { ex: RecordedExchange; body: Record<string, unknown> | null } | null = null;
  for (const ex of answered) {
    const body = await view.json<Record<string, unknown>>(ex);
    const data = body?.data as Record<string, unknown> | undefined;
    const media = (data?.xdt_shortcode_media ?? data?.shortcode_media) as IgMedia | null | undefined;
    if (media && typeof media === 'object' && media.shortcode === shortcode) return { ex, body, media };
    // A post query that names no media (null, or an error body) still decides the state.
    if (ex.status !== 200 || (data && ('xdt_shortcode_media' in data || 'shortcode_media' in data)) || body?.require_login !== undefined) fallback = { ex, body };
  }
  return fallback ? { ...fallback, media: null } : { ex: null, body: null, media: null };
}

/** A page that is only Instagram's login form (it describes no post): its wall. A login form beside the post's metadata is not. */
function loginWallIn(html: string | null): string | null {
  if (!html) return null;
  const $ = cheerio.load(html);
  if ($('form#loginForm, input[name="password"]').length > 0 && !describesPost($)) return 'a login form (input[name=password]) and no og:description, og:image or JSON-LD post';
  return null;
}

export const instagramSpec: PlatformSpec<InstagramOptions> = {
  id: 'instagram',
  version: '1.0.0',
  platform: 'instagram',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: InstagramOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseInstagramUrl(url) !== null,
  async onPage(page, target) {
    const { shortcode } = parseInstagramUrl(target)!;
    await page.waitForNetworkQuiet();
    const { media } = await postQuery(page.view(), shortcode);
    if (!media) return;
    // The page shows the carousel one slide at a time and streams video in ranges; the evidence is every original file.
    const urls = igMediaItems(media).flatMap((n) => [n.display_url, n.is_video ? n.video_url : undefined]).filter((u): u is string => !!u);
    await page.ensureRecorded(urls.map((u) => new URL(u, target).href), 'original-size media named by xdt_shortcode_media');
  },
  async extract({ view, observedAt }, target) {
    const { shortcode } = parseInstagramUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'Instagram');
    if (http) return { visibility: http, post: null };
    const finalPath = new URL(main.url).pathname;
    if (/^\/accounts\/login\/?/.test(finalPath) || /^\/challenge\//.test(finalPath)) {
      return { visibility: observe('login-wall', 'Instagram sent the logged-out browser to its login page instead of the post', [signal('redirect', main, `final URL ${finalPath}${new URL(main.url).search}`)], main.status), post: null };
    }
    const { ex, body, media } = await postQuery(view, shortcode);
    if (!ex) {
      const wall = loginWallIn(await view.servedHtml('dom'));
      if (wall) return { visibility: observe('login-wall', 'Instagram served a login form instead of the post', [signal('dom', main, wall)], main.status), post: null };
      return { visibility: notRecognised('the page never fetched the post (no xdt_shortcode_media answer was recorded)', [signal('api-json', null, 'no POST /graphql/query response recorded')], main.status), post: null };
    }
    const apiHttp = observeHttpStatus(ex, 'the Instagram GraphQL endpoint');
    if (apiHttp) {
      if (typeof body?.message === 'string') apiHttp.signals.push(signal('api-json', ex, `message: ${body.message}`));
      if (body?.require_login === true && apiHttp.state !== 'rate-limited') apiHttp.state = 'login-wall';
      return { visibility: apiHttp, post: null };
    }
    if (!media) {
      if (body?.require_login === true) return { visibility: observe('login-wall', 'Instagram answered require_login for the post query', [signal('api-json', ex, 'require_login: true')], ex.status), post: null };
      return { visibility: observe('unavailable', 'Instagram answered the post query with no media (xdt_shortcode_media: null): removed, private, or withheld from logged-out visitors', [signal('api-json', ex, 'data.xdt_shortcode_media: null')], ex.status), post: null };
    }
    const origin = new URL(main.url).origin;
    for (const n of igMediaItems(media)) {
      if (n.display_url) n.display_url = new URL(n.display_url, main.url).href;
      if (n.video_url) n.video_url = new URL(n.video_url, main.url).href;
    }
    const post = igMediaToPost(media, observedAt, origin);
    return { visibility: visible([signal('api-json', ex, `HTTP ${ex.status}: xdt_shortcode_media ${media.__typename ?? ''} ${media.shortcode}`.replace('  ', ' '))], ex.status), post, replies: igComments(media, observedAt, origin) };
  },
};

export const instagramCollector = definePlatformCollector(instagramSpec);
