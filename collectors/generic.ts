import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { parseJsonLd } from './browser/page-facts.js';
import { fetchActivityPub, readActivityPub } from './platform/activitypub-object.js';
import { definePlatformCollector, type PlatformSpec } from './platform/capture-platform-page.js';
import { signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import { hashtagsIn, htmlToText, parseCount, publishedTime, textDirection } from './platform/text.js';

/**
 * The generic fallback: any http(s) page, asked after the platform collectors and before `web`.
 * It captures exactly what `web` does and, when the served page describes a post or article through
 * oEmbed (discovered via `<link rel="alternate" type="application/json+oembed">`), OpenGraph or
 * JSON-LD, also writes post.json. A page with none of these gets no post.json.
 *
 * A page that advertises an ActivityPub representation (`<link rel="alternate"
 * type="application/activity+json">`, or a `Link` header of that meaning) is a fediverse object on a
 * server no platform collector knows: the object and its author's actor document are fetched through
 * the recording context and read first (post.json `platform: activitypub`). Pages without the link
 * cost nothing more: the served HTML is parsed here anyway.
 */

export const GenericOptions = z.object({
  /** Fetch the oEmbed document the page advertises (recorded like the page's own requests). @defaultValue true */
  oembed: z.boolean().default(true),
  /** Fetch and read the ActivityPub object a page advertises (`link rel=alternate type=application/activity+json`). @defaultValue true */
  activityPub: z.boolean().default(true),
});
export type GenericOptions = z.infer<typeof GenericOptions>;

/** JSON-LD types that describe one post or article. */
const POST_TYPES = new Set(['SocialMediaPosting', 'DiscussionForumPosting', 'BlogPosting', 'NewsArticle', 'Article', 'ReportageNewsArticle', 'VideoObject', 'ImageObject', 'Comment']);

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
const first = <T>(v: T | T[] | undefined | null): T | null => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));

/** The first JSON-LD node (also inside `@graph` and arrays) describing a post. */
export function findPostNode(blocks: unknown[]): Json | null {
  const stack = [...blocks];
  while (stack.length) {
    const n = stack.shift();
    if (Array.isArray(n)) stack.push(...n);
    else if (n && typeof n === 'object') {
      const o = n as Json;
      const types = ([] as unknown[]).concat(o['@type'] ?? []).map(String);
      if (types.some((t) => POST_TYPES.has(t))) return o;
      if (Array.isArray(o['@graph'])) stack.push(...(o['@graph'] as unknown[]));
    }
  }
  return null;
}

function oembedHref(html: string, base: string): string | null {
  const href = cheerio.load(html)('link[rel="alternate"][type="application/json+oembed"]').attr('href');
  try {
    return href ? new URL(href, base).href : null;
  } catch {
    return null;
  }
}

function metas(html: string): Map<string, string[]> {
  const $ = cheerio.load(html);
  const out = new Map<string, string[]>();
  $('meta').each((_, m) => {
    const key = ($(m).attr('property') ?? $(m).attr('name') ?? '').trim();
    const content = $(m).attr('content');
    if (key && content !== undefined) out.set(key, [...(out.get(key) ?? []), content]);
  });
  return out;
}

async function readOembed(view: RecordedView, html: string): Promise<Json | null> {
  const href = oembedHref(html, view.pageUrl);
  const ex = href ? view.last(href) : null;
  return ex?.status === 200 ? view.json<Json>(ex, 'oembed') : null;
}

export const genericSpec: PlatformSpec<GenericOptions> = {
  id: 'generic',
  version: '1.0.0',
  platform: 'generic',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post'],
  configSchema: GenericOptions,
  matches: (url) => url.protocol === 'http:' || url.protocol === 'https:',
  async onPage(page, target, o) {
    if (o.activityPub) await fetchActivityPub(page, target, { negotiate: false, actor: true });
    if (!o.oembed) return;
    const html = await page.view().servedHtml();
    const href = html ? oembedHref(html, page.view().pageUrl) : null;
    if (href) await page.fetch(href, { purpose: 'oEmbed document the page advertises (link rel=alternate type=application/json+oembed)', headers: { Accept: 'application/json' } });
  },
  async extract({ view, observedAt }, target, o) {
    if (o.activityPub) {
      const ap = await readActivityPub(view, target, observedAt);
      if (ap) return ap;
    }
    const main = view.mainDocument();
    if (!main || main.status === null || main.status >= 400) return null;
    const html = await view.servedHtml('dom');
    if (!html) return null;
    const meta = metas(html);
    const og = (k: string): string | null => str(meta.get(k)?.[0]);
    const $ = cheerio.load(html);
    const ld = findPostNode(parseJsonLd($('script[type="application/ld+json"]').map((_, s) => $(s).text()).get()));
    const oembed = await readOembed(view, html);
    const hasOg = og('og:title') !== null || og('og:description') !== null;
    if (!ld && !oembed && !hasOg) return null;

    const sources: Partial<Record<PostField, PostSource>> = {};
    const pick = <T>(field: PostField, options: Array<[T | null | undefined, PostSource]>): T | null => {
      for (const [v, s] of options) {
        if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) {
          sources[field] = s;
          return v;
        }
      }
      return null;
    };
    const ldAuthor = first(ld?.author as Json | Json[] | undefined) as Json | null;
    const canonical = $('link[rel="canonical"]').attr('href');
    const url = pick('url', [[str(ld?.url) ?? str(ld?.mainEntityOfPage), 'json-ld'], [str(oembed?.url) && oembed?.type !== 'photo' ? str(oembed?.url) : null, 'oembed'], [og('og:url'), 'opengraph']]) ?? (canonical ? new URL(canonical, view.pageUrl).href : main.url);
    const id = pick('id', [[str(ld?.identifier) ?? str(ld?.['@id']), 'json-ld'], [url, sources.url ?? 'dom']])!;
    const author = pick('author', [
      [ldAuthor ? { id: str(ldAuthor.identifier) ?? str(ldAuthor['@id']), handle: str(ldAuthor.alternateName), displayName: str(ldAuthor.name), profileUrl: str(ldAuthor.url) } : null, 'json-ld'],
      [str(oembed?.author_name) ? { id: null, handle: null, displayName: str(oembed?.author_name), profileUrl: str(oembed?.author_url) } : null, 'oembed'],
      [og('article:author') ? { id: null, handle: null, displayName: og('article:author'), profileUrl: null } : null, 'opengraph'],
    ]);
    const published = pick('published', [[publishedTime(str(ld?.datePublished)), 'json-ld'], [publishedTime(og('article:published_time')), 'opengraph']]);
    const rawText = pick('text', [[str(ld?.articleBody) ?? str(ld?.text), 'json-ld'], [og('og:description'), 'opengraph'], [str(oembed?.title), 'oembed']]);
    const language = str(ld?.inLanguage) ?? og('og:locale') ?? $('html').attr('lang') ?? null;
    const mediaItems: PostMedia[] = [];
    const addMedia = (u: string | null, type: PostMedia['type'], w: unknown = null, h: unknown = null): void => {
      if (!u) return;
      let abs: string;
      try {
        abs = new URL(u, view.pageUrl).href;
      } catch {
        return;
      }
      if (mediaItems.some((m) => m.sourceUrl === abs)) return;
      const n = (v: unknown): number | null => (Number.isInteger(Number(v)) && Number(v) > 0 ? Number(v) : null);
      mediaItems.push({ type, sourceUrl: abs, artifact: null, assembledArtifact: null, width: n(w), height: n(h), durationSeconds: null, alt: null, flags: [] });
    };
    const ldImages = ([] as unknown[]).concat(ld?.image ?? []).map((i) => (typeof i === 'string' ? i : str((i as Json).url) ?? str((i as Json).contentUrl)));
    if (ld?.['@type'] === 'VideoObject') addMedia(str(ld.contentUrl), 'video');
    for (const i of ldImages) addMedia(i, 'image');
    if (mediaItems.length) sources.media = 'json-ld';
    if (oembed?.type === 'photo') addMedia(str(oembed.url), 'image', oembed.width, oembed.height);
    if (mediaItems.length && !sources.media) sources.media = 'oembed';
    (meta.get('og:image') ?? []).forEach((u, i) => addMedia(u, 'image', i === 0 ? og('og:image:width') : null, i === 0 ? og('og:image:height') : null));
    if (og('og:video')) addMedia(og('og:video'), 'video');
    if (mediaItems.length && !sources.media) sources.media = 'opengraph';
    const hashtags = rawText ? hashtagsIn(rawText) : [];
    if (hashtags.length) sources.hashtags = sources.text!;
    const counts: Record<string, { display: string; value: number | null }> = {};
    for (const s of ([] as unknown[]).concat(ld?.interactionStatistic ?? [])) {
      const t = String((s as Json).interactionType ?? '').replace(/^.*[/:]/, '').replace(/Action$/, '').toLowerCase();
      const c = (s as Json).userInteractionCount;
      if (t && c !== undefined) counts[t] = parseCount(String(c));
    }
    if (Object.keys(counts).length) sources.engagement = 'json-ld';
    const content = rawText === null ? null : /<[a-z][\s\S]*>/i.test(rawText) ? htmlToText(rawText) : rawText;
    const post: Post = {
      id,
      url,
      uri: null,
      author,
      published,
      text: content === null ? null : { content, html: content !== rawText ? rawText : null, language, direction: textDirection(content) },
      media: mediaItems,
      links: [],
      mentions: [],
      hashtags,
      replyTo: null,
      quoteOf: null,
      repostOf: null,
      engagement: Object.keys(counts).length ? { readAt: observedAt, counts } : null,
      sources,
    };
    const found = [ld ? 'json-ld' : null, oembed ? 'oembed' : null, hasOg ? 'opengraph' : null].filter(Boolean).join(', ');
    return { visibility: visible([signal('dom', main, `post metadata found: ${found}`)], main.status), post };
  },
};

export const genericCollector = definePlatformCollector(genericSpec);
