import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { headerValue } from './browser/page-facts.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { describesPost } from './platform/generic-extract.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import { hashtagsIn, htmlToText, innerSource, parseCount, textDirection } from './platform/text.js';

/**
 * VK: `/wall<owner>_<id>` (owner negative for communities), also `?w=wall<owner>_<id>` on any VK
 * page. VK renders wall posts on the server: the post is a `._post[data-post-id]` block with the
 * author (`.post_author a.author`), the date (`.rel_date[time]`, Unix seconds), the text
 * (`.wall_post_text`), photo thumbnails whose `showPhoto(…)` onclick JSON names every size
 * (`temp.x_/y_/z_/w_` = `[url, width, height]`), counts and the first replies. There is no JSON;
 * every field comes from the served markup (`dom`), decoded by the charset VK states.
 */

export const VkOptions = z.object({
  /** Hosts serving VK pages (host[:port]); tests point this at a fixture. @defaultValue `["vk.com", "m.vk.com", "vk.ru", "m.vk.ru"]` */
  hosts: z.array(z.string().min(1)).default(['vk.com', 'www.vk.com', 'm.vk.com', 'vk.ru', 'm.vk.ru']),
});
export type VkOptions = z.infer<typeof VkOptions>;

/** `{ owner, id }` of a wall post URL (`/wall-1_2`, `/club1?w=wall-1_2`), or null. */
export function parseVkUrl(url: URL): { owner: string; id: string } | null {
  const m = /^\/wall(-?\d{1,12})_(\d{1,12})\/?$/.exec(url.pathname) ?? /^wall(-?\d{1,12})_(\d{1,12})$/.exec(url.searchParams.get('w') ?? '');
  return m ? { owner: m[1]!, id: m[2]! } : null;
}

/** The body as text in the charset the response states (VK has long served windows-1251), UTF-8 otherwise. */
export function decodeBody(body: Buffer, contentType: string | null): string {
  const charset = /charset=["']?([\w-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return body.toString('utf8');
  }
}

type Size = [string, number, number];
/** The largest size named by a `showPhoto(…)` onclick (`w_` > `z_` > `y_` > `x_`), resolved against `base`. */
export function largestPhoto(onclick: string, base: string): { url: string; width: number | null; height: number | null } | null {
  const m = /showPhoto\([^{]*(\{.*\})\s*,\s*event\s*\)/s.exec(onclick);
  if (!m) return null;
  let temp: Record<string, unknown> | undefined;
  try {
    temp = (JSON.parse(m[1]!) as { temp?: Record<string, unknown> }).temp;
  } catch {
    return null;
  }
  if (!temp) return null;
  const prefix = typeof temp.base === 'string' ? temp.base : '';
  for (const k of ['w_', 'z_', 'y_', 'x_']) {
    const s = temp[k] as Size | undefined;
    if (Array.isArray(s) && typeof s[0] === 'string') {
      try {
        return { url: new URL(prefix + s[0], base).href, width: Number.isInteger(s[1]) ? s[1] : null, height: Number.isInteger(s[2]) ? s[2] : null };
      } catch {
        return null;
      }
    }
  }
  return null;
}

function dateOf(el: cheerio.Cheerio<never>): { raw: string; utc: string | null } | null {
  const rel = el.find('.rel_date').first();
  if (rel.length === 0) return null;
  const t = rel.attr('time');
  if (t && /^\d{1,12}$/.test(t)) return { raw: t, utc: new Date(Number(t) * 1000).toISOString() };
  const shown = (rel.attr('abs_time') ?? rel.text()).trim();
  return shown ? { raw: shown, utc: null } : null;
}

/** `/away.php?to=<url>` → the URL VK links out to. */
function outbound(href: string, base: string): string | null {
  try {
    const u = new URL(href, base);
    if (u.pathname === '/away.php' && u.searchParams.get('to')) return u.searchParams.get('to');
    return u.href;
  } catch {
    return null;
  }
}

/** One server-rendered post or reply block as a Post; `textSel` is `.wall_post_text` or `.wall_reply_text`. */
export function readVkBlock($: cheerio.CheerioAPI, el: cheerio.Cheerio<never>, base: string, readAt: string, source: string, textSel: string, replyTo: string | null): Post {
  const abs = (u: string | undefined): string | null => {
    if (!u) return null;
    try {
      return new URL(u, base).href;
    } catch {
      return null;
    }
  };
  const id = el.attr('data-post-id') ?? '';
  // Only this block's own markup: a post's replies (and a reply's nested replies) are read separately.
  const own = (sel: string): cheerio.Cheerio<never> => el.find(sel).filter((_, x) => $(x).closest('.reply[data-post-id], ._post[data-post-id]').get(0) === el.get(0)) as cheerio.Cheerio<never>;
  const authorEl = own('.post_author a.author, .reply_author a.author').first();
  const textEl = own(textSel).first();
  const html = textEl.length ? innerSource($, textEl as cheerio.Cheerio<never>, source) : null;
  const content = html === null ? null : htmlToText(html);
  const published = dateOf(own('.post_date, .reply_date'));
  const links: string[] = [];
  const mentions: Post['mentions'] = [];
  const hashtags: string[] = [];
  textEl.find('a[href]').each((_, a) => {
    const href = $(a).attr('href')!;
    const label = $(a).text();
    if (label.startsWith('#')) {
      if (!hashtags.includes(label.slice(1))) hashtags.push(label.slice(1));
    } else if ($(a).attr('mention_id') !== undefined) {
      const slug = href.replace(/^\/+/, '').split(/[/?#]/)[0] ?? '';
      mentions.push({ handle: slug, id: $(a).attr('mention_id') ?? null, url: abs(href) });
    } else {
      const u = outbound(href, base);
      if (u && !links.includes(u)) links.push(u);
    }
  });
  for (const t of content ? hashtagsIn(content) : []) if (!hashtags.includes(t)) hashtags.push(t);
  const media: PostMedia[] = [];
  own('.page_post_sized_thumbs a.page_post_thumb_wrap[onclick]').each((_, a) => {
    const p = largestPhoto($(a).attr('onclick') ?? '', base);
    if (p) media.push({ type: 'image', sourceUrl: p.url, artifact: null, assembledArtifact: null, width: p.width, height: p.height, durationSeconds: null, alt: $(a).attr('aria-label') ?? null, flags: [] });
  });
  const counts: Record<string, { display: string; value: number | null }> = {};
  const count = (sel: string): string => own(sel).first().text().trim();
  for (const [name, sel] of [['likes', '.PostBottomAction--like .PostBottomAction__count, .reply_like .like_button_count'], ['replies', '.PostBottomAction--comment .PostBottomAction__count'], ['reposts', '.PostBottomAction--share .PostBottomAction__count'], ['views', '.like_views ._views']] as const) {
    const shown = count(sel);
    if (shown) counts[name] = parseCount(shown);
  }
  const from = authorEl.attr('data-from-id') ?? null;
  const authorUrl = abs(authorEl.attr('href'));
  const fields: Array<[PostField, boolean]> = [['id', true], ['url', replyTo === null], ['author', authorEl.length > 0], ['published', published !== null], ['text', content !== null], ['media', media.length > 0], ['links', links.length > 0], ['mentions', mentions.length > 0], ['hashtags', hashtags.length > 0], ['replyTo', replyTo !== null], ['engagement', Object.keys(counts).length > 0]];
  const sources: Partial<Record<PostField, PostSource>> = Object.fromEntries(fields.filter(([, has]) => has).map(([f]) => [f, 'dom']));
  const dirAttr = textEl.attr('dir');
  return {
    id,
    url: replyTo === null ? abs(`/wall${id}`) : null,
    uri: null,
    author: authorEl.length ? { id: from, handle: authorUrl ? (new URL(authorUrl).pathname.replace(/^\//, '') || null) : null, displayName: authorEl.text().trim() || null, profileUrl: authorUrl } : null,
    published,
    text: content === null ? null : { content, html, language: null, direction: dirAttr === 'rtl' || dirAttr === 'ltr' ? dirAttr : textDirection(content) },
    media,
    links,
    mentions,
    hashtags,
    replyTo: replyTo === null ? null : { id: replyTo, url: null, authorHandle: null },
    quoteOf: null,
    repostOf: null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources,
  };
}

/** The replies shown under a post, in order; a reply in another's `.replies_list_deep` answers that reply. */
export function readVkReplies($: cheerio.CheerioAPI, post: cheerio.Cheerio<never>, postId: string, base: string, readAt: string, source: string): Post[] {
  const out: Post[] = [];
  post.find('.replies_list .reply[data-post-id]').each((_, r) => {
    const el = $(r) as cheerio.Cheerio<never>;
    const parent = el.parent().closest('.replies_list_deep').closest('.reply[data-post-id]');
    out.push(readVkBlock($, el, base, readAt, source, '.wall_reply_text', parent.length ? (parent.attr('data-post-id') ?? postId) : postId));
  });
  return out;
}

export const vkSpec: PlatformSpec<VkOptions> = {
  id: 'vk',
  version: '1.0.0',
  platform: 'vk',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: VkOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseVkUrl(url) !== null,
  pageUrl: (target) => {
    const t = parseVkUrl(target)!;
    return new URL(`/wall${t.owner}_${t.id}`, target);
  },
  async onPage(page, target) {
    const t = parseVkUrl(target)!;
    await page.waitForNetworkQuiet();
    const view = page.view();
    const main = view.mainDocument();
    const body = main?.status === 200 ? await view.bytes(main, 'dom') : null;
    if (!main || !body) return;
    const $ = cheerio.load(decodeBody(body, headerValue(main.responseHeaders, 'content-type')));
    const urls: string[] = [];
    // The feed shows small thumbnails; the evidence is the largest size each onclick names.
    $(`[data-post-id="${t.owner}_${t.id}"] .page_post_sized_thumbs a.page_post_thumb_wrap[onclick]`).each((_, a) => {
      const p = largestPhoto($(a).attr('onclick') ?? '', main.url);
      if (p) urls.push(p.url);
    });
    await page.ensureRecorded(urls, 'largest photo size named by showPhoto() in the post markup');
  },
  async extract({ view, observedAt }, target) {
    const t = parseVkUrl(target)!;
    const key = `${t.owner}_${t.id}`;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'VK');
    if (http) return { visibility: http, post: null };
    const finalUrl = new URL(main.url);
    if (/^\/(login|join)\/?$/.test(finalUrl.pathname) || finalUrl.pathname === '/login.php') {
      return { visibility: observe('login-wall', 'VK sent the logged-out browser to its login page instead of the post', [signal('redirect', main, `final URL ${finalUrl.pathname}${finalUrl.search}`)], main.status), post: null };
    }
    const body = await view.bytes(main, 'dom');
    if (body === null) return null;
    const html = decodeBody(body, headerValue(main.responseHeaders, 'content-type'));
    const $ = cheerio.load(html, { sourceCodeLocationInfo: true });
    const el = $(`._post[data-post-id="${key}"], .post[data-post-id="${key}"]`).first();
    if (el.length === 0) {
      const msg = $('.message_page_body').first().text().trim();
      if (msg && /deleted|удал[её]н/i.test(msg)) return { visibility: observe('deleted', `VK states the post was deleted ("${msg}")`, [signal('dom', main, `.message_page_body: ${msg}`)], main.status), post: null };
      // VK's word is its error block (.message_page_body), the redirect to /login, or a page that is only its login form; a login form beside the post's metadata is not (logged-out pages that show posts carry one).
      if (!msg) {
        const form = $('#index_login_form, #quick_login_form, form[action*="login"]').length > 0;
        if (form && !describesPost($)) return { visibility: observe('login-wall', 'VK shows logged-out visitors a login form instead of the post', [signal('dom', main, 'a login form, no post block, and no og:description, og:image or JSON-LD post')], main.status), post: null };
        return { visibility: notRecognised(`the page holds no ._post[data-post-id="${key}"] and no VK error message${form ? ' (a login form is in the page)' : ''}`, [signal('dom', main, `no ._post[data-post-id="${key}"], no .message_page_body`)], main.status), post: null };
      }
      return { visibility: observe('unavailable', `VK did not show post ${key} ("${msg}")`, [signal('dom', main, `.message_page_body: ${msg}`)], main.status), post: null };
    }
    const post = readVkBlock($, el as cheerio.Cheerio<never>, main.url, observedAt, html, '.wall_post_text', null);
    return { visibility: visible([signal('dom', main, `._post[data-post-id="${key}"]`)], main.status), post, replies: readVkReplies($, el as cheerio.Cheerio<never>, key, main.url, observedAt, html) };
  },
};

export const vkCollector = definePlatformCollector(vkSpec);
