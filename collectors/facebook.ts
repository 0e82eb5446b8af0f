import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { readMobileStory } from './facebook-mobile.js';
import { describesPost } from './platform/generic-extract.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import { exactCount, hashtagsIn, textDirection } from './platform/text.js';

/**
 * Facebook: `/<page>/posts/<id>`, `/permalink.php?story_fbid=<id>`, `/story.php?story_fbid=<id>`,
 * `/watch/?v=<id>` and `/<page>/videos/<id>`. The served HTML carries the post as Relay preload
 * data: `<script type="application/json" data-sjs>` blocks whose `RelayPrefetchedStreamCache`
 * entries hold `__bbox.result.data` with the `Story` (message, actors, creation_time,
 * attachments with `Photo`/`Video` media, feedback counts, the first comments), read as
 * `embedded-json`. The mobile and basic sites (`m.`, `mbasic.`) and logged-out `permalink.php` /
 * `story.php` pages hold the post in markup instead (facebook-mobile.ts), read as `dom`.
 *
 * States only on Facebook's own word: a redirect to `/login/`, its "You must log in to continue"
 * wall (the OpenGraph preview it leaves is kept, labelled `opengraph`), a page that is only its
 * log-in form, or its "content isn't available" / "Content not found" pages. A page in neither
 * known layout and without those signals (a login banner beside the post's metadata is not one:
 * logged-out pages that show the post carry it too) is `not-recognised` and read by the generic
 * extraction.
 */

export const FacebookOptions = z.object({
  /** Hosts serving Facebook web pages (host[:port]); tests point this at a fixture. @defaultValue `["www.facebook.com", "facebook.com", "m.facebook.com", "mbasic.facebook.com", "web.facebook.com"]` */
  hosts: z.array(z.string().min(1)).default(['www.facebook.com', 'facebook.com', 'm.facebook.com', 'mbasic.facebook.com', 'web.facebook.com']),
});
export type FacebookOptions = z.infer<typeof FacebookOptions>;

/** `{ id, kind }` of a post or video URL (the id is numeric or a `pfbid…` token), or null. */
export function parseFacebookUrl(url: URL): { id: string; kind: 'post' | 'video' } | null {
  const p = url.pathname;
  let m = /^\/[\w.-]+\/posts\/(pfbid\w+|\d+)\/?$/.exec(p);
  if (m) return { id: m[1]!, kind: 'post' };
  if (/^\/(?:permalink|story)\.php$/.test(p)) {
    const id = url.searchParams.get('story_fbid');
    return id && /^(pfbid\w+|\d+)$/.test(id) ? { id, kind: 'post' } : null;
  }
  if (/^\/watch\/?$/.test(p)) {
    const v = url.searchParams.get('v');
    return v && /^\d+$/.test(v) ? { id: v, kind: 'video' } : null;
  }
  m = /^\/[\w.-]+\/videos\/(?:[\w.-]+\/)?(\d+)\/?$/.exec(p);
  return m ? { id: m[1]!, kind: 'video' } : null;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** Depth-first walk over a JSON value; `visit` returning false stops descending into that object. */
function walk(v: unknown, visit: (o: Json, key: string | null) => boolean | void, key: string | null = null, depth = 0): void {
  if (depth > 60) return;
  if (Array.isArray(v)) for (const x of v) walk(x, visit, key, depth + 1);
  else if (isObj(v)) {
    if (visit(v, key) === false) return;
    for (const [k, x] of Object.entries(v)) walk(x, visit, k, depth + 1);
  }
}

/** Every `__bbox.result.data` of the `RelayPrefetchedStreamCache` entries in the served `data-sjs` scripts. */
export function relayPreloads(html: string): Json[] {
  const $ = cheerio.load(html);
  const out: Json[] = [];
  $('script[type="application/json"]').each((_, el) => {
    const text = $(el).text();
    if (!text.includes('RelayPrefetchedStreamCache')) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    walk(json, (o) => {
      const req = o.require;
      if (!Array.isArray(req)) return;
      for (const r of req) {
        if (!Array.isArray(r) || r[0] !== 'RelayPrefetchedStreamCache') continue;
        const args = r[3];
        if (!Array.isArray(args)) continue;
        for (const a of args) {
          const data = isObj(a) && isObj(a.__bbox) && isObj(a.__bbox.result) ? a.__bbox.result.data : undefined;
          if (isObj(data)) out.push(data);
        }
      }
    });
  });
  return out;
}

/** The `Story` for this post (by `post_id`) or holding this video (by media id), outside shared (`attached_story`) posts. */
export function findStory(preloads: Json[], id: string): Json | null {
  let found: Json | null = null;
  for (const data of preloads) {
    walk(data, (o, key) => {
      if (found || key === 'attached_story') return false;
      if (o.__typename !== 'Story') return;
      if (o.post_id === id) found = o;
      else {
        let holds = false;
        walk(o, (x, k) => {
          if (k === 'attached_story') return false;
          if (x.__typename === 'Video' && x.id === id) holds = true;
        });
        if (holds) found = o;
      }
    });
    if (found) return found;
  }
  return null;
}

/** The first value `pick` returns while walking `root` (not inside shared posts or comments). */
function first<T>(root: unknown, pick: (o: Json) => T | undefined): T | undefined {
  let out: T | undefined;
  walk(root, (o, key) => {
    if (out !== undefined || key === 'attached_story' || o.__typename === 'Comment') return false;
    const v = pick(o);
    if (v !== undefined) out = v;
  });
  return out;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function handleOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    if (u.pathname === '/profile.php') return null;
    return u.pathname.split('/').filter(Boolean)[0] ?? null;
  } catch {
    return null;
  }
}

function durationOf(o: Json): number | null {
  const s = num(o.length_in_second);
  if (s !== undefined) return s;
  const ms = num(o.playable_duration_in_ms);
  return ms === undefined ? null : ms / 1000;
}

function mediaIn(story: Json, base: string): PostMedia[] {
  const seen = new Set<string>();
  const out: PostMedia[] = [];
  walk(story, (o, key) => {
    if (key === 'attached_story' || key === 'actors' || o.__typename === 'Comment') return false;
    const id = typeof o.id === 'string' ? o.id : null;
    if (o.__typename === 'Photo') {
      const img = [o.viewer_image, o.photo_image, o.image].filter(isObj).sort((a, b) => (num(b.width) ?? 0) - (num(a.width) ?? 0))[0];
      if (!img || typeof img.uri !== 'string' || (id && seen.has(id))) return false;
      if (id) seen.add(id);
      const alt = typeof o.accessibility_caption === 'string' ? o.accessibility_caption : null;
      out.push({ type: 'image', sourceUrl: new URL(img.uri, base).href, artifact: null, assembledArtifact: null, width: num(img.width) ?? null, height: num(img.height) ?? null, durationSeconds: null, alt, flags: [] });
      return false;
    }
    if (o.__typename === 'Video') {
      const src = [o.browser_native_hd_url, o.playable_url_quality_hd, o.browser_native_sd_url, o.playable_url].find((u): u is string => typeof u === 'string' && u !== '');
      if (!src || (id && seen.has(id))) return false;
      if (id) seen.add(id);
      out.push({ type: 'video', sourceUrl: new URL(src, base).href, artifact: null, assembledArtifact: null, width: num(o.width) ?? num(o.original_width) ?? null, height: num(o.height) ?? num(o.original_height) ?? null, durationSeconds: durationOf(o), alt: null, flags: [] });
      return false;
    }
  });
  return out;
}

/** A Comet `Story` as a Post; every field from `embedded-json`. */
export function storyToPost(story: Json, readAt: string, base: string): Post {
  const text = first(story, (o) => (isObj(o.message) && typeof o.message.text === 'string' ? o.message.text : undefined)) ?? null;
  const created = first(story, (o) => num(o.creation_time));
  const actor = first(story, (o) => (Array.isArray(o.actors) && isObj(o.actors[0]) ? o.actors[0] : undefined));
  const media = mediaIn(story, base);
  const counts: Record<string, { display: string; value: number | null }> = {};
  const reactions = first(story, (o) => (isObj(o.reaction_count) ? num(o.reaction_count.count) : undefined));
  const shares = first(story, (o) => (isObj(o.share_count) ? num(o.share_count.count) : undefined));
  const comments = first(story, (o) => num(o.total_comment_count) ?? (isObj(o.comments) ? num(o.comments.total_count) : undefined));
  const views = first(story, (o) => num(o.video_view_count) ?? num(o.play_count));
  if (reactions !== undefined) counts.reactions = exactCount(reactions);
  if (comments !== undefined) counts.replies = exactCount(comments);
  if (shares !== undefined) counts.shares = exactCount(shares);
  if (views !== undefined) counts.views = exactCount(views);
  const links: string[] = [];
  // Shared links: `web_link.url` of a link attachment (Facebook wraps it in l.facebook.com; kept as served).
  walk(story, (o, key) => {
    if (key === 'attached_story' || o.__typename === 'Comment') return false;
    if (isObj(o.web_link) && typeof o.web_link.url === 'string' && !links.includes(o.web_link.url)) links.push(o.web_link.url);
  });
  const url = typeof story.wwwURL === 'string' ? story.wwwURL : typeof story.url === 'string' ? story.url : null;
  const actorUrl = actor && typeof actor.url === 'string' ? actor.url : undefined;
  const hashtags = text ? hashtagsIn(text) : [];
  const sources: Partial<Record<PostField, PostSource>> = { id: 'embedded-json' };
  if (url) sources.url = 'embedded-json';
  if (actor) sources.author = 'embedded-json';
  if (created !== undefined) sources.published = 'embedded-json';
  if (text !== null) sources.text = 'embedded-json';
  if (media.length) sources.media = 'embedded-json';
  if (links.length) sources.links = 'embedded-json';
  if (hashtags.length) sources.hashtags = 'embedded-json';
  if (Object.keys(counts).length) sources.engagement = 'embedded-json';
  return {
    id: String(story.post_id ?? story.id),
    url: url ? new URL(url, base).href : null,
    uri: null,
    author: actor ? { id: typeof actor.id === 'string' ? actor.id : null, handle: handleOf(actorUrl), displayName: typeof actor.name === 'string' ? actor.name : null, profileUrl: actorUrl ?? null } : null,
    published: created === undefined ? null : { raw: String(created), utc: created > 0 ? new Date(created * 1000).toISOString() : null },
    text: text === null ? null : { content: text, html: null, language: null, direction: textDirection(text) },
    media,
    links,
    mentions: [],
    hashtags,
    replyTo: null,
    quoteOf: null,
    repostOf: null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources,
  };
}

/** The comments the logged-out page shows, in the order served (`Comment` nodes under the story's feedback). */
export function storyComments(story: Json, readAt: string, postId: string): Post[] {
  const out: Post[] = [];
  walk(story, (o, key) => {
    if (key === 'attached_story') return false;
    if (o.__typename !== 'Comment' || typeof o.id !== 'string') return;
    const body = isObj(o.body) && typeof o.body.text === 'string' ? o.body.text : null;
    const author = isObj(o.author) ? o.author : null;
    const created = num(o.created_time);
    const parent = isObj(o.comment_parent) && typeof o.comment_parent.id === 'string' ? o.comment_parent.id : postId;
    const authorUrl = author && typeof author.url === 'string' ? author.url : undefined;
    const likes = isObj(o.feedback) && isObj(o.feedback.reactors) ? num(o.feedback.reactors.count) : undefined;
    out.push({
      id: o.id,
      url: typeof o.url === 'string' ? o.url : null,
      uri: null,
      author: author ? { id: typeof author.id === 'string' ? author.id : null, handle: handleOf(authorUrl), displayName: typeof author.name === 'string' ? author.name : null, profileUrl: authorUrl ?? null } : null,
      published: created === undefined ? null : { raw: String(created), utc: new Date(created * 1000).toISOString() },
      text: body === null ? null : { content: body, html: null, language: null, direction: textDirection(body) },
      media: [],
      links: [],
      mentions: [],
      hashtags: body ? hashtagsIn(body) : [],
      replyTo: { id: parent, url: null, authorHandle: null },
      quoteOf: null,
      repostOf: null,
      engagement: likes === undefined ? null : { readAt, counts: { reactions: exactCount(likes) } },
      sources: { id: 'embedded-json', author: 'embedded-json', published: 'embedded-json', text: 'embedded-json', replyTo: 'embedded-json', ...(likes === undefined ? {} : { engagement: 'embedded-json' as const }) },
    });
    return false;
  });
  return out;
}

/** A post from the OpenGraph preview alone (what Facebook leaves for logged-out visitors behind a login form). */
export function openGraphPost($: cheerio.CheerioAPI, id: string, base: string): Post | null {
  const og = (p: string): string | null => $(`meta[property="og:${p}"]`).attr('content') ?? null;
  const desc = og('description');
  const image = og('image');
  if (desc === null && image === null) return null;
  const url = og('url');
  const sources: Partial<Record<PostField, PostSource>> = { id: 'opengraph' };
  if (url) sources.url = 'opengraph';
  if (desc !== null) sources.text = 'opengraph';
  if (image) sources.media = 'opengraph';
  return {
    id,
    url: url ? new URL(url, base).href : null,
    uri: null,
    author: null,
    published: null,
    text: desc === null ? null : { content: desc, html: null, language: null, direction: textDirection(desc) },
    media: image ? [{ type: 'image', sourceUrl: new URL(image, base).href, artifact: null, assembledArtifact: null, width: null, height: null, durationSeconds: null, alt: null, flags: [] }] : [],
    links: [],
    mentions: [],
    hashtags: [],
    replyTo: null,
    quoteOf: null,
    repostOf: null,
    engagement: null,
    sources,
  };
}

/** Facebook's own words for its log-in wall (not a login banner: pages that show the post carry one too). */
const WALL = [/you must log in to continue/i, /you must log in first/i];
/** Facebook's own words for content it does not show, as page headings or title. */
const UNAVAILABLE = [/this content isn.t available/i, /content not found/i, /the page you requested cannot be displayed/i, /this content is no longer available/i, /this page isn.t available/i];

/** The log-in wall message Facebook serves, or null. */
export function facebookWall($: cheerio.CheerioAPI): string | null {
  const text = $('body').text().replace(/\s+/g, ' ');
  const m = WALL.map((re) => re.exec(text)).find((x) => x);
  return m ? `log-in wall message: "${m[0]}"` : null;
}

/** The heading or title in which Facebook says the content is not available, or null. */
export function facebookUnavailableNotice($: cheerio.CheerioAPI): string | null {
  for (const el of $('title, h1, h2, h3, [role="heading"]').toArray()) {
    const t = $(el).text().replace(/\s+/g, ' ').trim();
    if (t.length < 200 && UNAVAILABLE.some((re) => re.test(t))) return t;
  }
  return null;
}

export const facebookSpec: PlatformSpec<FacebookOptions> = {
  id: 'facebook',
  version: '1.0.0',
  platform: 'facebook',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: FacebookOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseFacebookUrl(url) !== null,
  async onPage(page, target) {
    const { id } = parseFacebookUrl(target)!;
    await page.waitForNetworkQuiet();
    const view = page.view();
    const main = view.mainDocument();
    const html = main?.status === 200 ? await view.text(main, 'embedded-json') : null;
    const story = html ? findStory(relayPreloads(html), id) : null;
    if (story) {
      const urls = mediaIn(story, main!.url).map((m) => m.sourceUrl).filter((u): u is string => !!u);
      await page.ensureRecorded(urls, 'full-size media named by the Story preload (photo_image, browser_native_hd_url)');
      return;
    }
    // Mobile/basic markup: the touch site loads inline video only on a tap; the evidence is the file it names.
    const mobile = html ? readMobileStory(html, id, main!.url, new Date(0).toISOString()) : null;
    const urls = (mobile?.post.media ?? []).map((m) => m.sourceUrl).filter((u): u is string => !!u);
    if (urls.length) await page.ensureRecorded(urls, 'media named by the mobile story markup (img, i.img background, inlineVideo data-store src)');
  },
  async extract({ view, observedAt }, target) {
    const { id } = parseFacebookUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'Facebook');
    if (http) return { visibility: http, post: null };
    const finalUrl = new URL(main.url);
    if (/^\/(login|checkpoint)(\/|\.php|$)/.test(finalUrl.pathname)) {
      return { visibility: observe('login-wall', 'Facebook sent the logged-out browser to its login page instead of the post', [signal('redirect', main, `final URL ${finalUrl.pathname}${finalUrl.search}`)], main.status), post: null };
    }
    const html = await view.servedHtml('embedded-json');
    if (html === null) return null;
    const story = findStory(relayPreloads(html), id);
    if (story) {
      const post = storyToPost(story, observedAt, main.url);
      return { visibility: visible([signal('embedded-json', main, `RelayPrefetchedStreamCache: Story post_id ${String(story.post_id ?? '')}`.trim())], main.status), post, replies: storyComments(story, observedAt, post.id) };
    }
    const mobile = readMobileStory(html, id, main.url, observedAt);
    if (mobile) return { visibility: visible([signal('dom', main, mobile.marker)], main.status), post: mobile.post };
    const $ = cheerio.load(html);
    const wall = facebookWall($);
    if (wall) {
      const og = openGraphPost($, id, main.url);
      const sig = [signal('dom', main, wall)];
      if (og) sig.push(signal('opengraph', main, 'only the og:* preview is served'));
      return { visibility: observe('login-wall', `Facebook shows logged-out visitors its log-in wall instead of the post${og ? ' (only its OpenGraph preview is in the page)' : ''}`, sig, main.status), post: og };
    }
    const notice = facebookUnavailableNotice($);
    if (notice) {
      return { visibility: observe('unavailable', `Facebook says the content is not available: "${notice}" (removed, restricted by its owner, or never existed; Facebook does not say which)`, [signal('dom', main, `notice: ${notice}`)], main.status), post: null };
    }
    const hasLoginForm = $('form#login_form, form[action*="/login"], input[name="pass"]').length > 0;
    if (hasLoginForm && !describesPost($)) {
      return { visibility: observe('login-wall', 'Facebook served its log-in form in place of the post (the page describes no post)', [signal('dom', main, 'a log-in form (#login_form, input[name=pass]) and no og:description, og:image or JSON-LD post')], main.status), post: null };
    }
    return {
      visibility: notRecognised(`the page holds neither a Story preload nor mobile story markup${hasLoginForm ? ' (a log-in form is in the page, but no log-in wall message)' : ''}, and no Facebook error message`, [signal('dom', main, `no RelayPrefetchedStreamCache Story ${id}, no #m_story_permalink_view`)], main.status),
      post: null,
    };
  },
};

export const facebookCollector = definePlatformCollector(facebookSpec);
