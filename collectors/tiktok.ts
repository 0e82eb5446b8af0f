import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import { exactCount, hashtagsIn, textDirection } from './platform/text.js';

/**
 * TikTok: `/@<user>/video/<id>` (and `/@<user>/photo/<id>`). The served HTML embeds the page state
 * in `<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">`; the post is
 * `__DEFAULT_SCOPE__["webapp.video-detail"].itemInfo.itemStruct` and `statusCode` says why there
 * is none (`embedded-json`). The web app fetches the comments from `/api/comment/list/`
 * (`api-json`). The video is the progressive MP4 named by `video.playAddr`, recorded in full.
 */

export const TikTokOptions = z.object({
  /** Hosts serving TikTok web pages (host[:port]); tests point this at a fixture. @defaultValue `["www.tiktok.com", "tiktok.com", "m.tiktok.com"]` */
  hosts: z.array(z.string().min(1)).default(['www.tiktok.com', 'tiktok.com', 'm.tiktok.com']),
});
export type TikTokOptions = z.infer<typeof TikTokOptions>;

/** `{ user, id }` of a video (or photo-mode) post URL, or null. */
export function parseTikTokUrl(url: URL): { user: string; id: string } | null {
  const m = /^\/@([\w.-]{1,64})\/(?:video|photo)\/(\d{6,25})\/?$/.exec(url.pathname);
  return m ? { user: m[1]!, id: m[2]! } : null;
}

export interface TikTokItem {
  id: string;
  desc?: string;
  createTime?: string | number;
  textLanguage?: string;
  isContentClassified?: boolean;
  author?: { id?: string; uniqueId?: string; nickname?: string; secUid?: string };
  video?: { playAddr?: string; downloadAddr?: string; width?: number; height?: number; duration?: number; cover?: string };
  stats?: { diggCount?: number; shareCount?: number; commentCount?: number; playCount?: number; collectCount?: number };
  textExtra?: Array<{ hashtagName?: string; userUniqueId?: string; userId?: string; type?: number }>;
}
export interface TikTokVideoDetail {
  statusCode?: number;
  statusMsg?: string;
  itemInfo?: { itemStruct?: TikTokItem };
}
interface TikTokComment {
  cid: string;
  text: string;
  create_time: number;
  aweme_id: string;
  reply_id?: string;
  user?: { uid?: string; unique_id?: string; nickname?: string };
  digg_count?: number;
  reply_comment_total?: number;
}

/** A Unix time in seconds as the platform states it, and its UTC reading. */
export function unixPublished(raw: string | number | null | undefined): { raw: string; utc: string | null } | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const n = typeof raw === 'number' ? raw : /^\d{1,12}$/.test(raw) ? Number(raw) : Number.NaN;
  return { raw: String(raw), utc: Number.isFinite(n) && n > 0 ? new Date(n * 1000).toISOString() : null };
}

/** The `webapp.video-detail` scope of the served rehydration script, or null when the page has none. */
export function videoDetailOf(html: string): { found: boolean; detail: TikTokVideoDetail | null } {
  const script = cheerio.load(html)('script#__UNIVERSAL_DATA_FOR_REHYDRATION__').first();
  if (script.length === 0) return { found: false, detail: null };
  try {
    const data = JSON.parse(script.text()) as { __DEFAULT_SCOPE__?: Record<string, unknown> };
    const detail = data.__DEFAULT_SCOPE__?.['webapp.video-detail'];
    return { found: true, detail: detail && typeof detail === 'object' ? (detail as TikTokVideoDetail) : null };
  } catch {
    return { found: true, detail: null };
  }
}

/** An itemStruct as a Post; every field from `embedded-json`. */
export function itemToPost(item: TikTokItem, readAt: string, origin: string): Post {
  const text = item.desc ?? '';
  const handle = item.author?.uniqueId ?? null;
  const hashtags: string[] = [];
  const mentions: Post['mentions'] = [];
  for (const t of item.textExtra ?? []) {
    if (t.hashtagName && !hashtags.includes(t.hashtagName)) hashtags.push(t.hashtagName);
    else if (t.userUniqueId && !mentions.some((m) => m.handle === t.userUniqueId)) mentions.push({ handle: t.userUniqueId, id: t.userId ?? null, url: `${origin}/@${t.userUniqueId}` });
  }
  for (const h of hashtagsIn(text)) if (!hashtags.includes(h)) hashtags.push(h);
  const v = item.video ?? {};
  const src = v.playAddr || v.downloadAddr || null;
  const media: PostMedia[] = src ? [{ type: 'video', sourceUrl: src, artifact: null, assembledArtifact: null, width: v.width || null, height: v.height || null, durationSeconds: v.duration ?? null, alt: null, flags: [] }] : [];
  const s = item.stats;
  const counts: Record<string, { display: string; value: number | null }> = {};
  if (s) {
    if (typeof s.playCount === 'number') counts.views = exactCount(s.playCount);
    if (typeof s.diggCount === 'number') counts.likes = exactCount(s.diggCount);
    if (typeof s.commentCount === 'number') counts.replies = exactCount(s.commentCount);
    if (typeof s.shareCount === 'number') counts.shares = exactCount(s.shareCount);
    if (typeof s.collectCount === 'number') counts.saves = exactCount(s.collectCount);
  }
  const published = unixPublished(item.createTime);
  const sources: Partial<Record<PostField, PostSource>> = { id: 'embedded-json', url: 'embedded-json' };
  if (item.author) sources.author = 'embedded-json';
  if (published) sources.published = 'embedded-json';
  sources.text = 'embedded-json';
  if (media.length) sources.media = 'embedded-json';
  if (hashtags.length) sources.hashtags = 'embedded-json';
  if (mentions.length) sources.mentions = 'embedded-json';
  if (s) sources.engagement = 'embedded-json';
  return {
    id: item.id,
    url: handle ? `${origin}/@${handle}/video/${item.id}` : null,
    uri: null,
    author: item.author ? { id: item.author.id ?? null, handle, displayName: item.author.nickname ?? null, profileUrl: handle ? `${origin}/@${handle}` : null } : null,
    published,
    text: { content: text, html: null, language: item.textLanguage && item.textLanguage !== 'un' ? item.textLanguage : null, direction: textDirection(text) },
    media,
    links: [],
    mentions,
    hashtags,
    replyTo: null,
    quoteOf: null,
    repostOf: null,
    engagement: s ? { readAt, counts } : null,
    sources,
  };
}

function commentToPost(c: TikTokComment, videoId: string, readAt: string, origin: string): Post {
  const handle = c.user?.unique_id ?? null;
  const parent = c.reply_id && c.reply_id !== '0' ? c.reply_id : videoId;
  return {
    id: c.cid,
    url: null,
    uri: null,
    author: c.user ? { id: c.user.uid ?? null, handle, displayName: c.user.nickname ?? null, profileUrl: handle ? `${origin}/@${handle}` : null } : null,
    published: unixPublished(c.create_time),
    text: { content: c.text, html: null, language: null, direction: textDirection(c.text) },
    media: [],
    links: [],
    mentions: [],
    hashtags: hashtagsIn(c.text),
    replyTo: { id: parent, url: null, authorHandle: null },
    quoteOf: null,
    repostOf: null,
    engagement: typeof c.digg_count === 'number' ? { readAt, counts: { likes: exactCount(c.digg_count), ...(typeof c.reply_comment_total === 'number' ? { replies: exactCount(c.reply_comment_total) } : {}) } } : null,
    sources: { id: 'api-json', author: 'api-json', published: 'api-json', text: 'api-json', replyTo: 'api-json', ...(c.digg_count !== undefined ? { engagement: 'api-json' as const } : {}) },
  };
}

const commentsMatch = (id: string) => (u: URL) => /\/api\/comment\/list\/?$/.test(u.pathname) && u.searchParams.get('aweme_id') === id;

async function comments(view: RecordedView, id: string, readAt: string, origin: string): Promise<Post[]> {
  const ex = view.last(commentsMatch(id));
  if (!ex || ex.status !== 200) return [];
  const body = await view.json<{ status_code?: number; comments?: TikTokComment[] | null }>(ex);
  if (!body || body.status_code !== 0) return [];
  return (body.comments ?? []).filter((c) => typeof c?.cid === 'string' && typeof c.text === 'string').map((c) => commentToPost(c, id, readAt, origin));
}

export const tiktokSpec: PlatformSpec<TikTokOptions> = {
  id: 'tiktok',
  version: '1.0.0',
  platform: 'tiktok',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: TikTokOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseTikTokUrl(url) !== null,
  async onPage(page) {
    await page.waitForNetworkQuiet();
    const view = page.view();
    const main = view.mainDocument();
    const html = main?.status === 200 ? await view.text(main, 'embedded-json') : null;
    const item = html ? videoDetailOf(html).detail?.itemInfo?.itemStruct : undefined;
    // The player streams the MP4 in byte ranges; the evidence is the whole file.
    const src = item?.video?.playAddr || item?.video?.downloadAddr;
    if (src) await page.ensureRecorded([new URL(src, view.pageUrl).href], 'the full video file named by itemStruct.video.playAddr');
  },
  async extract({ view, observedAt }) {
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'TikTok');
    if (http) return { visibility: http, post: null };
    const html = await view.servedHtml('embedded-json');
    if (html === null) return null;
    const { found, detail } = videoDetailOf(html);
    if (!found || !detail) {
      return { visibility: notRecognised('the page carries no webapp.video-detail state', [signal('embedded-json', main, found ? '__UNIVERSAL_DATA_FOR_REHYDRATION__ has no webapp.video-detail' : 'no <script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">')], main.status), post: null };
    }
    const code = detail.statusCode ?? 0;
    const item = detail.itemInfo?.itemStruct;
    // statusCode 0 is TikTok's "ok": without an item the state is of an unknown shape, not a refusal.
    if (code === 0 && !item) return { visibility: notRecognised('webapp.video-detail says statusCode 0 but holds no itemStruct', [signal('embedded-json', main, 'webapp.video-detail.statusCode: 0, no itemInfo.itemStruct')], main.status), post: null };
    if (code !== 0 || !item) {
      const msg = detail.statusMsg ?? '';
      const sig = [signal('embedded-json', main, `webapp.video-detail.statusCode: ${code}${msg ? `, statusMsg: ${msg}` : ''}`)];
      if (/deleted/i.test(msg)) return { visibility: observe('deleted', `TikTok states the video was deleted (${msg})`, sig, main.status), post: null };
      if (code === 10216) return { visibility: observe('unavailable', 'TikTok states the video is private (statusCode 10216): only the accounts its author allows can see it', sig, main.status), post: null };
      return { visibility: observe('unavailable', `TikTok did not serve the video (statusCode ${code}${msg ? `, ${msg}` : ''})`, sig, main.status), post: null };
    }
    const origin = new URL(main.url).origin;
    // Media URLs may be protocol-relative or relative; make them absolute against the page.
    if (item.video?.playAddr) item.video.playAddr = new URL(item.video.playAddr, main.url).href;
    if (item.video?.downloadAddr) item.video.downloadAddr = new URL(item.video.downloadAddr, main.url).href;
    const post = itemToPost(item, observedAt, origin);
    const replies = await comments(view, item.id, observedAt, origin);
    const ok = signal('embedded-json', main, `webapp.video-detail.statusCode: 0, itemStruct.id: ${item.id}`);
    if (item.isContentClassified) {
      return { visibility: observe('age-gated', 'TikTok marks the video as content-classified (isContentClassified): logged-out visitors must log in to confirm their age before it plays', [signal('embedded-json', main, 'itemStruct.isContentClassified: true')], main.status), post, replies };
    }
    return { visibility: visible([ok], main.status), post, replies };
  },
};

export const tiktokCollector = definePlatformCollector(tiktokSpec);
