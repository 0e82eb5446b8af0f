import * as cheerio from 'cheerio';
import type { Post, PostField, PostMedia, PostSource } from '../../schemas/post.js';
import { parseJsonLd } from '../browser/page-facts.js';
import type { RecordedExchange } from '../browser/recorded-exchange.js';
import type { RecordedView } from './recorded.js';
import { hashtagsIn, htmlToText, parseCount, publishedTime, textDirection } from './text.js';

/**
 * The generic post extraction: what any served page says about the post it shows, through oEmbed
 * (discovered via `<link rel="alternate" type="application/json+oembed">`), JSON-LD, OpenGraph
 * (`og:*`, `article:*`) and plain markup (`<time datetime>`, `<link rel="canonical">`). Used by the
 * generic collector, and by every platform collector as the fallback for a page it does not
 * recognise. Every field names the source it was read from.
 */

/** JSON-LD types that describe one post or article. */
const POST_TYPES = new Set(['SocialMediaPosting', 'DiscussionForumPosting', 'BlogPosting', 'NewsArticle', 'Article', 'ReportageNewsArticle', 'VideoObject', 'ImageObject', 'Comment']);

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
const firstOf = <T>(v: T | T[] | undefined | null): T | null => (Array.isArray(v) ? (v[0] ?? null) : (v ?? null));

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

/** The oEmbed document a page advertises, absolute, or null. */
export function oembedHref(html: string, base: string): string | null {
  const href = cheerio.load(html)('link[rel="alternate"][type="application/json+oembed"]').attr('href');
  try {
    return href ? new URL(href, base).href : null;
  } catch {
    return null;
  }
}

/**
 * Whether a page describes a post at all (an `og:description`, `og:image` or JSON-LD post node).
 * A login form on a page that does is not a login wall: logged-out pages that show a post carry
 * login banners too; a page that is only a login form, describing nothing, is the platform's wall.
 */
export function describesPost($: cheerio.CheerioAPI): boolean {
  if ($('meta[property="og:description"], meta[property="og:image"]').length > 0) return true;
  return findPostNode(parseJsonLd($('script[type="application/ld+json"]').map((_, s) => $(s).text()).get())) !== null;
}

function metas($: cheerio.CheerioAPI): Map<string, string[]> {
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

/** What the generic extraction found: the post, which kinds of metadata held it, and the document read. */
export interface GenericFinding {
  post: Post;
  /** `json-ld`, `oembed`, `opengraph`, `dom`: which kinds of metadata the page carried. */
  found: PostSource[];
  main: RecordedExchange;
}

/**
 * The post a served page describes, or null when the main document is missing, failed (HTTP ≥ 400)
 * or carries no post metadata (no JSON-LD post node, no oEmbed, no `og:title`/`og:description`).
 * No network: reads only what was recorded.
 */
export async function extractGenericPost(view: RecordedView, observedAt: string): Promise<GenericFinding | null> {
  const main = view.mainDocument();
  if (!main || main.status === null || main.status >= 400) return null;
  const html = await view.servedHtml('dom');
  if (!html) return null;
  const $ = cheerio.load(html);
  const meta = metas($);
  const og = (k: string): string | null => str(meta.get(k)?.[0]);
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
  const ldAuthor = firstOf(ld?.author as Json | Json[] | undefined) as Json | null;
  const canonical = $('link[rel="canonical"]').attr('href');
  let canonicalUrl: string | null = null;
  try {
    canonicalUrl = canonical ? new URL(canonical, view.pageUrl).href : null;
  } catch {
    canonicalUrl = null;
  }
  const url = pick('url', [[str(ld?.url) ?? str(ld?.mainEntityOfPage), 'json-ld'], [str(oembed?.url) && oembed?.type !== 'photo' ? str(oembed?.url) : null, 'oembed'], [og('og:url'), 'opengraph'], [canonicalUrl, 'dom']]) ?? main.url;
  const id = pick('id', [[str(ld?.identifier) ?? str(ld?.['@id']), 'json-ld'], [url, sources.url ?? 'dom']])!;
  const author = pick('author', [
    [ldAuthor ? { id: str(ldAuthor.identifier) ?? str(ldAuthor['@id']), handle: str(ldAuthor.alternateName), displayName: str(ldAuthor.name), profileUrl: str(ldAuthor.url) } : null, 'json-ld'],
    [str(oembed?.author_name) ? { id: null, handle: null, displayName: str(oembed?.author_name), profileUrl: str(oembed?.author_url) } : null, 'oembed'],
    [og('article:author') ? { id: null, handle: null, displayName: og('article:author'), profileUrl: null } : null, 'opengraph'],
  ]);
  const timeAttr = str($('time[datetime]').first().attr('datetime'));
  const published = pick('published', [[publishedTime(str(ld?.datePublished)), 'json-ld'], [publishedTime(og('article:published_time')), 'opengraph'], [publishedTime(timeAttr), 'dom']]);
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
  const found = [ld ? 'json-ld' : null, oembed ? 'oembed' : null, hasOg ? 'opengraph' : null].filter((x): x is PostSource => x !== null);
  return { post, found, main };
}
