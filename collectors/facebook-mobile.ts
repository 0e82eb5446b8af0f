import * as cheerio from 'cheerio';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { hashtagsIn, htmlToText, parseCount, textDirection } from './platform/text.js';

/**
 * Facebook's mobile (`m.facebook.com`) and basic (`mbasic.facebook.com`) story pages, and the
 * `permalink.php`/`story.php` pages served in the same markup to logged-out visitors. They hold the
 * post in server-rendered markup, not in the Relay JSON the desktop page embeds:
 *
 * - `#m_story_permalink_view` (or `#MPhotoContent` for a photo page) wraps the story;
 * - a `data-ft` attribute holds JSON with `top_level_post_id` (or `mf_story_key`),
 *   `content_owner_id_new` / `page_id`, and `page_insights.<owner>.post_context.publish_time`;
 * - the touch site puts the body in `.story_body_container`: a `<header>` whose `h3 strong a`
 *   names the author, an `<abbr>` with the time (`data-store` JSON `{"time":…}` on the touch site,
 *   display text only on basic), then the text paragraphs; the basic site marks the text block
 *   `data-ft='{"tn":"*s"}'`;
 * - photos are links to `/photo.php?fbid=…` or `/<page>/photos/…` holding an `<img>` or an
 *   `i.img` whose `style` names the image in `background-image: url('…')`, alt text in `alt` /
 *   `aria-label`; inline video is `[data-sigil="inlineVideo"]` with `data-store` JSON `src`;
 * - shared links go through `l.facebook.com/l.php?u=…` / `lm.facebook.com/l.php?u=…` (kept as served);
 * - counts are displayed in the `<footer>`: reactions (`reactions-sentence-container`, or the
 *   reaction-browser link on basic), "N Comments", "N Shares".
 *
 * Every value is read from the markup (`dom`).
 */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

function parseJsonAttr(v: string | undefined): Json | null {
  if (!v) return null;
  try {
    const j: unknown = JSON.parse(v);
    return isObj(j) ? j : null;
  } catch {
    return null;
  }
}

const idOf = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : null);

/** `publish_time` under `page_insights.<owner>.post_context`, as stated (epoch seconds). */
function publishTime(ft: Json): number | null {
  const insights = ft.page_insights;
  if (!isObj(insights)) return null;
  for (const v of Object.values(insights)) {
    const t = isObj(v) && isObj(v.post_context) ? v.post_context.publish_time : undefined;
    if (typeof t === 'number' && Number.isFinite(t)) return t;
  }
  return null;
}

function handleOf(href: string): string | null {
  try {
    const u = new URL(href);
    if (u.pathname.endsWith('.php')) return null;
    return u.pathname.split('/').filter(Boolean)[0] ?? null;
  } catch {
    return null;
  }
}

/** Strip Facebook's click-tracking query (`refid`, `__tn__`, …) from a profile link; keep `id` of `profile.php`. */
function profileUrl(href: string, base: string): string | null {
  try {
    const u = new URL(href, base);
    const id = u.pathname === '/profile.php' ? u.searchParams.get('id') : null;
    u.search = id ? `?id=${id}` : '';
    u.hash = '';
    return u.href;
  } catch {
    return null;
  }
}

const abs = (u: string | undefined, base: string): string | null => {
  if (!u) return null;
  try {
    return new URL(u, base).href;
  } catch {
    return null;
  }
};

/** The number in a displayed count ("1.2K", "2 Comments", "87 shares"), or null. */
function countIn(text: string, word: RegExp | null): { display: string; value: number | null } | null {
  const t = text.replace(/\s+/g, ' ').trim();
  const m = word ? new RegExp(`([\\d.,]+\\s*[KkMm]?)\\s+${word.source}`, 'i').exec(t) : /^([\d.,]+\s*[KkMm]?)$/.exec(t);
  return m ? parseCount(m[1]!.replace(/\s+/g, '')) : null;
}

/** What the mobile/basic story markup holds, and where it was seen (for the visibility signal). */
export interface MobileStory {
  post: Post;
  marker: string;
}

/**
 * The story `id` (numeric, or a `pfbid…` token when the markup names the numeric id instead) from
 * mobile/basic markup, or null when the page does not hold it in that markup.
 */
export function readMobileStory(html: string, id: string, pageUrl: string, readAt: string): MobileStory | null {
  const $ = cheerio.load(html);
  let root = $('#m_story_permalink_view').first();
  let marker = '#m_story_permalink_view';
  if (!root.length) {
    root = $('#MPhotoContent').first();
    marker = '#MPhotoContent';
  }
  if (!root.length) return null;
  // The story's own data-ft (not a comment's): the first one naming a post id.
  let ft: Json | null = null;
  for (const el of [root.get(0), ...root.find('[data-ft]').toArray()]) {
    const j = parseJsonAttr(el ? $(el).attr('data-ft') : undefined);
    if (j && (idOf(j.top_level_post_id) || idOf(j.mf_story_key))) {
      ft = j;
      break;
    }
  }
  const storyId = ft ? (idOf(ft.top_level_post_id) ?? idOf(ft.mf_story_key)) : null;
  if (storyId && storyId !== id && !id.startsWith('pfbid')) return null;
  const body = root.find('.story_body_container').first();
  const scope = body.length ? body : root;
  const header = scope.find('header').first();
  const authorA = (header.length ? header : scope).find('h3 strong a, h3 a, strong.actor a, a.actor-link').first();
  const textEl = root.find('[data-ft*="\\"tn\\":\\"*s\\""]').first().length ? root.find('[data-ft*="\\"tn\\":\\"*s\\""]').first() : body.children('div').not(':has(header)').first();
  if (!storyId && !textEl.length) return null;

  const sources: Partial<Record<PostField, PostSource>> = { id: 'dom' };
  // Text: the paragraphs as served, without the "… More" expander the basic site appends.
  let text: string | null = null;
  if (textEl.length) {
    const copy = cheerio.load(`<div id="__t">${textEl.html() ?? ''}</div>`, null, false);
    copy('a').filter((_, a) => /^(more|see more)$/i.test(copy(a).text().trim())).remove();
    const paras = copy('#__t p');
    const t = (paras.length ? paras.toArray().map((p) => htmlToText(copy(p).html() ?? '')).join('\n\n') : htmlToText(copy('#__t').html() ?? '')).trim();
    if (t !== '') {
      text = t;
      sources.text = 'dom';
    }
  }
  const authorHref = authorA.attr('href');
  const ownerId = ft ? (idOf(ft.content_owner_id_new) ?? idOf(ft.page_id)) : null;
  const author = authorA.length
    ? { id: ownerId, handle: authorHref ? handleOf(new URL(authorHref, pageUrl).href) : null, displayName: authorA.text().trim() || null, profileUrl: authorHref ? profileUrl(authorHref, pageUrl) : null }
    : null;
  if (author) sources.author = 'dom';

  // Time: the exact epoch the markup states, else the displayed text (no zone or year: no UTC reading).
  const abbr = root.find('abbr').first();
  const epoch = (ft ? publishTime(ft) : null) ?? (() => {
    const t = parseJsonAttr(abbr.attr('data-store'))?.time;
    return typeof t === 'number' && Number.isFinite(t) ? t : null;
  })();
  const shown = abbr.text().trim();
  const published = epoch !== null ? { raw: String(epoch), utc: new Date(epoch * 1000).toISOString() } : shown ? { raw: shown, utc: null } : null;
  if (published) sources.published = 'dom';

  const media: PostMedia[] = [];
  const seen = new Set<string>();
  const push = (type: PostMedia['type'], src: string | null, alt: string | null): void => {
    if (!src || seen.has(src)) return;
    seen.add(src);
    media.push({ type, sourceUrl: src, artifact: null, assembledArtifact: null, width: null, height: null, durationSeconds: null, alt, flags: [] });
  };
  root.find('a[href*="/photo.php"], a[href*="/photos/"]').each((_, a) => {
    $(a)
      .find('img:not(.profpic), i.img:not(.profpic)')
      .each((__, el) => {
        const e = $(el);
        const bg = /url\(\s*(['"]?)(.*?)\1\s*\)/.exec(e.attr('style') ?? '')?.[2];
        push('image', abs(e.attr('src') ?? bg, pageUrl), e.attr('alt') ?? e.attr('aria-label') ?? null);
      });
  });
  root.find('[data-sigil="inlineVideo"][data-store]').each((_, el) => {
    const src = parseJsonAttr($(el).attr('data-store'))?.src;
    push('video', typeof src === 'string' ? abs(src, pageUrl) : null, null);
  });
  if (media.length) sources.media = 'dom';

  const links: string[] = [];
  // Facebook's outbound redirector (`l.facebook.com`, `lm.facebook.com`): kept as served.
  root.find('a[href*="facebook.com/l.php"]').each((_, a) => {
    const u = abs($(a).attr('href'), pageUrl);
    if (u && !links.includes(u)) links.push(u);
  });
  if (links.length) sources.links = 'dom';

  const footer = root.find('footer').first();
  const counts: Record<string, { display: string; value: number | null }> = {};
  if (footer.length) {
    const reactions = footer.find('[data-sigil="reactions-sentence-container"], a[href*="/ufi/reaction/profile/browser/"]').first().text();
    const r = reactions ? countIn(reactions, null) : null;
    if (r) counts.reactions = r;
    // Each displayed count is its own element: read them one by one, not the footer's run-together text.
    const texts = footer.find('*').toArray().filter((el) => $(el).children().length === 0).map((el) => $(el).text());
    const c = texts.map((t) => countIn(t, /comments?\b/)).find((x) => x);
    if (c) counts.replies = c;
    const sh = texts.map((t) => countIn(t, /shares?\b/)).find((x) => x);
    if (sh) counts.shares = sh;
  }
  if (Object.keys(counts).length) sources.engagement = 'dom';

  const canonical = abs($('link[rel="canonical"]').attr('href'), pageUrl);
  sources.url = 'dom';
  const hashtags = text ? hashtagsIn(text) : [];
  if (hashtags.length) sources.hashtags = 'dom';
  return {
    marker: `${marker}${storyId ? ` data-ft top_level_post_id ${storyId}` : ' story text block'}`,
    post: {
      id: storyId ?? id,
      url: canonical ?? pageUrl,
      uri: null,
      author,
      published,
      text: text === null ? null : { content: text, html: null, language: $('html').attr('lang') ?? null, direction: textDirection(text) },
      media,
      links,
      mentions: [],
      hashtags,
      replyTo: null,
      quoteOf: null,
      repostOf: null,
      engagement: Object.keys(counts).length ? { readAt, counts } : null,
      sources,
    },
  };
}
