import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostMedia, PostRef, Profile } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import { hashtagsIn, htmlToText, innerSource, parseCount, publishedTime, textDirection } from './platform/text.js';

/**
 * Telegram public channels: `t.me/<channel>/<id>` and `t.me/s/<channel>/<id>`, and the channel
 * preview itself, `t.me/s/<channel>` (its visible messages become post.json `replies`; no `post`). Telegram serves
 * logged-out visitors an HTML web preview of public channels (`t.me/s/<channel>`), with each message
 * in a `.tgme_widget_message[data-post="<channel>/<id>"]`; there is no public JSON, so every field
 * comes from the served markup (`dom`). Private channels and groups need an account (not here).
 */

export const TelegramOptions = z.object({
  /** Hosts serving t.me pages (host[:port]); tests point this at a fixture. @defaultValue `["t.me", "telegram.me"]` */
  hosts: z.array(z.string().min(1)).default(['t.me', 'telegram.me']),
});
export type TelegramOptions = z.infer<typeof TelegramOptions>;

/** `{ channel, id }` of a post URL, or null. */
export function parseTelegramUrl(url: URL): { channel: string; id: string } | null {
  const m = /^\/(?:s\/)?([A-Za-z][A-Za-z0-9_]{3,31})\/(\d+)\/?$/.exec(url.pathname);
  return m ? { channel: m[1]!, id: m[2]! } : null;
}

/** `{ channel }` of a channel preview URL (`/s/<channel>`, no post id), or null. */
export function parseTelegramChannelUrl(url: URL): { channel: string } | null {
  const m = /^\/s\/([A-Za-z][A-Za-z0-9_]{3,31})\/?$/.exec(url.pathname);
  return m ? { channel: m[1]! } : null;
}

/**
 * "Forwarded from …": the link (when the origin is public) names the channel and often the message;
 * the link text is the origin's display name. A hidden sender has a name and no link, so no handle.
 */
function forwardedFrom(url: string | null, name: string): PostRef {
  const u = url ? new URL(url) : null;
  const post = u ? parseTelegramUrl(u) : null;
  const channel = post?.channel ?? (u ? /^\/([A-Za-z][A-Za-z0-9_]{3,31})\/?$/.exec(u.pathname)?.[1] ?? null : null);
  return { id: post ? `${post.channel}/${post.id}` : null, url, authorHandle: channel, authorDisplayName: name || null };
}

/** `0:02`, `1:02:03` → seconds. */
function durationOf(text: string): number | null {
  const parts = text.trim().split(':').map(Number);
  if (parts.length < 2 || parts.some((n) => !Number.isInteger(n))) return null;
  return parts.reduce((n, p) => n * 60 + p, 0);
}

function backgroundUrl(style: string | undefined): string | null {
  const m = style ? /background-image:\s*url\((['"]?)(.*?)\1\)/.exec(style) : null;
  return m ? m[2]! : null;
}

/** Read one message widget into a Post; `base` resolves relative links. */
export function readTelegramMessage($: cheerio.CheerioAPI, el: cheerio.Cheerio<never>, base: string, readAt: string, source: string | null = null): Post {
  const abs = (u: string | undefined): string | null => {
    if (!u) return null;
    try {
      return new URL(u, base).href;
    } catch {
      return null;
    }
  };
  const dataPost = el.attr('data-post') ?? '';
  const [channel] = dataPost.split('/');
  const bubble = el.find('.tgme_widget_message_bubble').first();
  const owner = bubble.children('.tgme_widget_message_author').find('.tgme_widget_message_owner_name').first();
  const textEl = bubble.children('.tgme_widget_message_text').first();
  const html = textEl.length ? (source !== null ? innerSource($, textEl as cheerio.Cheerio<never>, source) : (textEl.html() ?? '')) : null;
  const content = html === null ? null : htmlToText(html);
  const dirAttr = textEl.attr('dir');
  const date = bubble.find('.tgme_widget_message_date').first();
  const time = date.find('time[datetime]').first().attr('datetime');

  const media: PostMedia[] = [];
  bubble.find('.tgme_widget_message_photo_wrap').each((_, a) => {
    const url = abs(backgroundUrl($(a).attr('style')) ?? undefined);
    if (url) media.push({ type: 'image', sourceUrl: url, artifact: null, assembledArtifact: null, width: null, height: null, durationSeconds: null, alt: null, flags: [] });
  });
  bubble.find('.tgme_widget_message_video_player').each((_, a) => {
    const v = $(a).find('video').first();
    const url = abs(v.attr('src'));
    const dur = $(a).find('.message_video_duration').first().text();
    if (url) media.push({ type: 'video', sourceUrl: url, artifact: null, assembledArtifact: null, width: null, height: null, durationSeconds: dur ? durationOf(dur) : null, alt: null, flags: [] });
  });

  const links: string[] = [];
  const mentions: Post['mentions'] = [];
  const hashtags: string[] = [];
  textEl.find('a[href]').each((_, a) => {
    const href = $(a).attr('href') ?? '';
    const label = $(a).text();
    if (href.startsWith('?q=%23') || label.startsWith('#')) {
      const tag = label.replace(/^#/, '');
      if (tag && !hashtags.includes(tag)) hashtags.push(tag);
    } else if (label.startsWith('@')) mentions.push({ handle: label.slice(1), id: null, url: abs(href) });
    else {
      const u = abs(href);
      if (u && !links.includes(u)) links.push(u);
    }
  });
  for (const t of content ? hashtagsIn(content) : []) if (!hashtags.includes(t)) hashtags.push(t);

  const reply = bubble.children('.tgme_widget_message_reply').first();
  const replyUrl = abs(reply.attr('href'));
  const fwd = bubble.find('.tgme_widget_message_forwarded_from_name').first();
  const fwdUrl = abs(fwd.attr('href'));
  const views = bubble.find('.tgme_widget_message_views').first().text().trim();

  return {
    id: dataPost,
    url: abs(date.attr('href')),
    uri: null,
    author: owner.length ? { id: channel ?? null, handle: channel ?? null, displayName: owner.text().trim() || null, profileUrl: abs(owner.attr('href')) } : null,
    published: publishedTime(time),
    text: content === null ? null : { content, html, language: null, direction: dirAttr === 'rtl' || dirAttr === 'ltr' ? dirAttr : textDirection(content) },
    media,
    links,
    mentions,
    hashtags,
    replyTo: replyUrl ? { id: parseTelegramUrl(new URL(replyUrl)) ? `${parseTelegramUrl(new URL(replyUrl))!.channel}/${parseTelegramUrl(new URL(replyUrl))!.id}` : null, url: replyUrl, authorHandle: null } : null,
    quoteOf: null,
    repostOf: fwd.length ? forwardedFrom(fwdUrl, fwd.text().trim()) : null,
    engagement: views ? { readAt, counts: { views: parseCount(views) } } : null,
    sources: Object.fromEntries(
      (['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'replyTo', 'repostOf', 'engagement'] as const)
        .filter((f) => f === 'id' || (f === 'url' && date.length) || (f === 'author' && owner.length) || (f === 'published' && time) || (f === 'text' && content !== null) || (f === 'media' && media.length) || (f === 'links' && links.length) || (f === 'mentions' && mentions.length) || (f === 'hashtags' && hashtags.length) || (f === 'replyTo' && replyUrl) || (f === 'repostOf' && fwd.length) || (f === 'engagement' && views))
        .map((f) => [f, 'dom']),
    ),
  };
}

/**
 * The channel as its public preview shows it (`.tgme_channel_info`): title, `@username`, description,
 * avatar and every counter as displayed (`12.4K subscribers`, `photos`, `videos`, …). Null when the
 * page has no channel info block.
 */
export function readTelegramChannelInfo($: cheerio.CheerioAPI, base: string, readAt: string): Profile | null {
  const info = $('.tgme_channel_info').first();
  if (info.length === 0) return null;
  const abs = (u: string | undefined): string | null => {
    try {
      return u ? new URL(u, base).href : null;
    } catch {
      return null;
    }
  };
  const title = info.find('.tgme_channel_info_header_title').first().text().trim() || null;
  const userEl = info.find('.tgme_channel_info_header_username').first();
  const handle = userEl.text().trim().replace(/^@/, '') || null;
  const descEl = info.find('.tgme_channel_info_description').first();
  const descHtml = descEl.length ? (descEl.html() ?? '') : null;
  const avatar = abs(info.find('.tgme_page_photo_image img').first().attr('src'));
  const counts: Profile['counts'] = {};
  info.find('.tgme_channel_info_counter').each((_, c) => {
    const type = $(c).find('.counter_type').first().text().trim();
    const value = $(c).find('.counter_value').first().text().trim();
    if (type && value) counts[type] = parseCount(value);
  });
  const sources: Profile['sources'] = {};
  if (handle) sources.id = sources.handle = 'dom';
  if (title) sources.displayName = 'dom';
  if (descHtml !== null) sources.description = 'dom';
  if (avatar) sources.avatar = 'dom';
  if (Object.keys(counts).length) sources.counts = 'dom';
  return { kind: 'channel', id: handle, handle, displayName: title, description: descHtml === null ? null : htmlToText(descHtml), descriptionHtml: descHtml, avatarUrl: avatar, url: abs(userEl.find('a').attr('href')), counts, readAt, sources };
}

export const telegramSpec: PlatformSpec<TelegramOptions> = {
  id: 'telegram',
  version: '1.0.0',
  platform: 'telegram',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'profile'],
  configSchema: TelegramOptions,
  matches: (url, o) => hostIn(url, o.hosts) && (parseTelegramUrl(url) !== null || parseTelegramChannelUrl(url) !== null),
  // The public web preview serves the whole message (text, all media, views); the single-post page only an embed script.
  pageUrl: (target) => {
    const t = parseTelegramUrl(target);
    return t ? new URL(`/s/${t.channel}/${t.id}`, target) : target;
  },
  async extract({ view, observedAt }, target) {
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'Telegram');
    if (http) return { visibility: http, post: null };
    const html = await view.servedHtml('dom');
    if (html === null) return null;
    const $ = cheerio.load(html, { sourceCodeLocationInfo: true });
    const t = parseTelegramUrl(target);
    if (!t) {
      // The channel preview: every message it shows, in page order; the channel is not a post.
      const channel = parseTelegramChannelUrl(target)!.channel.toLowerCase();
      const els = $('.tgme_widget_message[data-post]').filter((_, e) => (($(e).attr('data-post') ?? '').split('/')[0] ?? '').toLowerCase() === channel);
      if ($('.tgme_channel_info').length === 0 && els.length === 0) {
        // Telegram answers a channel without a public preview by redirecting away from /s/: that is its word; a page at /s/ without the markup is not.
        if (!/^\/s\//.test(new URL(main.url).pathname)) return { visibility: observe('unavailable', `Telegram serves no public preview of channel ${channel}`, [signal('redirect', main, `the preview redirected to ${main.url}`)], main.status), post: null };
        return { visibility: notRecognised('the preview page holds no .tgme_channel_info and no .tgme_widget_message', [signal('dom', main, `no .tgme_channel_info at ${main.url}`)], main.status), post: null };
      }
      const replies = els.toArray().map((e) => readTelegramMessage($, $(e) as unknown as cheerio.Cheerio<never>, main.url, observedAt, html));
      return { visibility: visible([signal('dom', main, `.tgme_channel_info with ${replies.length} .tgme_widget_message`)], main.status), post: null, replies, profile: readTelegramChannelInfo($, main.url, observedAt) };
    }
    const key = `${t.channel}/${t.id}`.toLowerCase();
    const el = $('.tgme_widget_message[data-post]').filter((_, e) => ($(e).attr('data-post') ?? '').toLowerCase() === key).first();
    const finalUrl = main.url;
    if (el.length === 0) {
      const error = $('.tgme_widget_message_error').first().text().trim();
      const isChannel = $('.tgme_channel_info').length > 0;
      // Telegram's word: its error block, the channel preview without the message, or the redirect away from /s/ for a channel without one.
      if (!error && !isChannel && /^\/s\//.test(new URL(finalUrl).pathname)) {
        return { visibility: notRecognised('the preview page holds no .tgme_widget_message, no .tgme_widget_message_error and no .tgme_channel_info', [signal('dom', main, `no .tgme_widget_message[data-post="${key}"] at ${finalUrl}`)], main.status), post: null };
      }
      const detail = error ? `.tgme_widget_message_error: ${error}` : isChannel ? `the channel preview has no .tgme_widget_message[data-post="${key}"]` : `no public preview of the channel at ${finalUrl}`;
      return { visibility: observe('unavailable', `Telegram's public preview does not show message ${key} (deleted, never existed, or the channel is not public)`, [signal('dom', main, detail)], main.status), post: null };
    }
    return { visibility: visible([signal('dom', main, `.tgme_widget_message[data-post="${key}"]`)], main.status), post: readTelegramMessage($, el as cheerio.Cheerio<never>, finalUrl, observedAt, html) };
  },
};

export const telegramCollector = definePlatformCollector(telegramSpec);
