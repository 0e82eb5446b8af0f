import { z } from 'zod';
import type { PlatformObservation, Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedExchange } from './browser/recorded-exchange.js';
import { exactCount, hashtagsIn, publishedTime, textDirection } from './platform/text.js';

/**
 * YouTube videos and Shorts: `/watch?v=<id>`, `/shorts/<id>` (also `/live/<id>`). The watch and
 * Shorts pages embed the player's answer as `var ytInitialPlayerResponse = {…};` (videoDetails,
 * microformat, playabilityStatus, streamingData) and the page data as `var ytInitialData = {…};`
 * in the served HTML: every field is read from there (`embedded-json`). The video is linked when
 * the player streamed it as HLS (`streamingData.hlsManifestUrl`: the recorded segments are assembled)
 * or as a progressive format with a plain URL; streams served only with a `signatureCipher` (the
 * usual case for the web client) are reported with a flag, not fetched: deciphering them needs
 * yt-dlp. `playabilityStatus` gives the honest state (age gate, region block, removal, bot check).
 */

export const YouTubeOptions = z.object({
  /** Hosts serving watch and Shorts pages (host[:port]). @defaultValue `["www.youtube.com", "youtube.com", "m.youtube.com"]` */
  hosts: z.array(z.string().min(1)).default(['www.youtube.com', 'youtube.com', 'm.youtube.com']),
});
export type YouTubeOptions = z.infer<typeof YouTubeOptions>;

const VIDEO_ID = /^[A-Za-z0-9_-]{11}$/;

/** `{ id, kind }` of a watch, Shorts or live URL, or null. */
export function parseYouTubeUrl(url: URL): { id: string; kind: 'watch' | 'shorts' | 'live' } | null {
  if (url.pathname === '/watch') {
    const v = url.searchParams.get('v') ?? '';
    return VIDEO_ID.test(v) ? { id: v, kind: 'watch' } : null;
  }
  const m = /^\/(shorts|live)\/([A-Za-z0-9_-]{11})\/?$/.exec(url.pathname);
  return m ? { id: m[2]!, kind: m[1] as 'shorts' | 'live' } : null;
}

/**
 * The JSON object assigned to `name` in an inline script (`var ytInitialPlayerResponse = {…};`,
 * `window["ytInitialData"] = {…}`), cut at its balanced closing brace (strings and escapes
 * respected), parsed; null when absent or not JSON.
 */
export function embeddedJson<T = Record<string, unknown>>(html: string, name: string): T | null {
  const re = new RegExp(`(?:var\\s+${name}|window\\[["']${name}["']\\])\\s*=\\s*\\{`, 'g');
  const m = re.exec(html);
  if (!m) return null;
  const start = m.index + m[0].length - 1;
  let depth = 0;
  let inStr = false;
  for (let i = start; i < html.length; i++) {
    const c = html[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(html.slice(start, i + 1)) as T;
      } catch {
        return null;
      }
    }
  }
  return null;
}

interface Format {
  itag?: number;
  url?: string;
  signatureCipher?: string;
  cipher?: string;
  mimeType?: string;
  width?: number;
  height?: number;
  bitrate?: number;
  approxDurationMs?: string;
}
/** The parts of `ytInitialPlayerResponse` the collector reads. */
export interface PlayerResponse {
  playabilityStatus?: {
    status?: string;
    reason?: string;
    messages?: string[];
    errorScreen?: { playerErrorMessageRenderer?: { reason?: { simpleText?: string }; subreason?: { simpleText?: string; runs?: Array<{ text: string }> } } };
  };
  streamingData?: { hlsManifestUrl?: string; formats?: Format[]; adaptiveFormats?: Format[] };
  videoDetails?: { videoId?: string; title?: string; lengthSeconds?: string; channelId?: string; shortDescription?: string; author?: string; viewCount?: string; isLiveContent?: boolean; keywords?: string[] };
  microformat?: { playerMicroformatRenderer?: { publishDate?: string; uploadDate?: string; ownerProfileUrl?: string; ownerChannelName?: string; externalChannelId?: string; isFamilySafe?: boolean; availableCountries?: string[]; lengthSeconds?: string; title?: { simpleText?: string } } };
}

function allFrom(source: PostSource, fields: readonly PostField[]): Partial<Record<PostField, PostSource>> {
  return Object.fromEntries(fields.map((f) => [f, source]));
}

/** The video as the player was served it: HLS playlist, else the best plain progressive URL, else a flagged cipher-only stream. */
export function youtubeMedia(pr: PlayerResponse): PostMedia[] {
  const sd = pr.streamingData;
  if (!sd) return [];
  const seconds = pr.videoDetails?.lengthSeconds && /^\d+$/.test(pr.videoDetails.lengthSeconds) ? Number(pr.videoDetails.lengthSeconds) : null;
  const base = { artifact: null, assembledArtifact: null, alt: null, durationSeconds: seconds, flags: [] };
  if (sd.hlsManifestUrl) return [{ ...base, type: 'video', sourceUrl: sd.hlsManifestUrl, width: null, height: null }];
  const plain = (sd.formats ?? []).filter((f) => f.url && /^video\//.test(f.mimeType ?? '')).sort((a, b) => (b.height ?? 0) - (a.height ?? 0) || (b.bitrate ?? 0) - (a.bitrate ?? 0));
  const best = plain[0];
  if (best?.url) return [{ ...base, type: 'video', sourceUrl: best.url, width: best.width ?? null, height: best.height ?? null }];
  const all = [...(sd.formats ?? []), ...(sd.adaptiveFormats ?? [])];
  if (all.length === 0) return [];
  const ciphered = all.filter((f) => !f.url && (f.signatureCipher || f.cipher)).length;
  const top = [...all].sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0];
  return [{
    ...base,
    type: 'video',
    sourceUrl: null,
    width: top?.width ?? null,
    height: top?.height ?? null,
    flags: [{ code: 'youtube-stream-ciphered', message: `the player was served ${all.length} stream format(s), ${ciphered} only with a signatureCipher and the rest as separate audio/video adaptive streams: fetching the full video needs yt-dlp (pinned from PyPI); nothing was downloaded` }],
  }];
}

/** The post a watch/Shorts page describes; null when the player response names no video. */
export function playerResponseToPost(pr: PlayerResponse, readAt: string, origin: string, kind: 'watch' | 'shorts' | 'live'): Post | null {
  const v = pr.videoDetails;
  if (!v?.videoId) return null;
  const mf = pr.microformat?.playerMicroformatRenderer;
  const title = v.title ?? mf?.title?.simpleText ?? '';
  const desc = v.shortDescription ?? '';
  const content = desc ? `${title}\n\n${desc}` : title;
  const profile = mf?.ownerProfileUrl ?? null;
  const handle = profile ? (/\/@([^/?#]+)/.exec(profile)?.[1] ?? null) : null;
  const links: string[] = [];
  for (const m of desc.matchAll(/https?:\/\/[^\s<>"]+/g)) if (!links.includes(m[0])) links.push(m[0]);
  const views = v.viewCount && /^\d+$/.test(v.viewCount) ? { views: exactCount(Number(v.viewCount)) } : null;
  const media = youtubeMedia(pr);
  const fields: PostField[] = ['id', 'url', 'author', 'text', 'links', 'hashtags'];
  if (mf?.publishDate ?? mf?.uploadDate) fields.push('published');
  if (media.length) fields.push('media');
  if (views) fields.push('engagement');
  return {
    id: v.videoId,
    url: kind === 'shorts' ? `${origin}/shorts/${v.videoId}` : `${origin}/watch?v=${v.videoId}`,
    uri: null,
    author: { id: v.channelId ?? mf?.externalChannelId ?? null, handle: handle ? decodeURIComponent(handle) : null, displayName: v.author ?? mf?.ownerChannelName ?? null, profileUrl: profile },
    published: publishedTime(mf?.publishDate ?? mf?.uploadDate),
    text: { content, html: null, language: null, direction: textDirection(content) },
    media,
    links,
    mentions: [],
    hashtags: hashtagsIn(desc),
    replyTo: null,
    quoteOf: null,
    repostOf: null,
    engagement: views ? { readAt, counts: views } : null,
    sources: allFrom('embedded-json', fields),
  };
}

/** What `playabilityStatus` says about whether a logged-out visitor can watch. */
export function observePlayability(pr: PlayerResponse, ex: RecordedExchange): PlatformObservation {
  const ps = pr.playabilityStatus ?? {};
  const status = ps.status ?? 'MISSING';
  const sub = ps.errorScreen?.playerErrorMessageRenderer?.subreason;
  const subText = sub?.simpleText ?? sub?.runs?.map((r) => r.text).join('') ?? '';
  const reason = [ps.reason, subText, ...(ps.messages ?? [])].filter(Boolean).join(' — ');
  const sig = [signal('embedded-json', ex, `playabilityStatus.status: ${status}${reason ? `; reason: ${reason}` : ''}`)];
  const http = ex.status;
  const say = (s: string): string => `YouTube: ${reason || s}`;
  if (status === 'OK') return visible(sig, http);
  // No playability status at all is a player response of an unknown shape, not YouTube refusing.
  if (ps.status === undefined) return notRecognised('the player response carries no playabilityStatus.status', sig, http);
  if (status === 'LOGIN_REQUIRED' || status === 'AGE_CHECK_REQUIRED' || status === 'AGE_VERIFICATION_REQUIRED' || status === 'CONTENT_CHECK_REQUIRED') {
    if (/not a bot/i.test(reason)) return observe('rate-limited', say('sign in to confirm you are not a bot'), sig, http);
    if (/private/i.test(reason)) return observe('login-wall', say('private video'), sig, http);
    if (status !== 'LOGIN_REQUIRED' || /age|inappropriate/i.test(reason)) return observe('age-gated', say('age-restricted'), sig, http);
    return observe('login-wall', say('sign in required'), sig, http);
  }
  if (/country|region|location/i.test(reason)) return observe('region-gated', say('not available in this country'), sig, http);
  if (/removed|terminated|deleted|no longer available/i.test(reason)) return observe('deleted', say('removed'), sig, http);
  if (/members|join this channel|premium|rent|purchase/i.test(reason)) return observe('login-wall', say('needs a paying or member account'), sig, http);
  return observe('unavailable', say(`playability ${status}`), sig, http);
}

export const youtubeSpec: PlatformSpec<YouTubeOptions> = {
  id: 'youtube',
  version: '1.0.0',
  platform: 'youtube',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post'],
  configSchema: YouTubeOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseYouTubeUrl(url) !== null,
  async extract({ view, observedAt }, target) {
    const t = parseYouTubeUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'YouTube');
    if (http) return { visibility: http, post: null };
    const finalUrl = new URL(main.url);
    const html = await view.servedHtml('embedded-json');
    const pr = html ? embeddedJson<PlayerResponse>(html, 'ytInitialPlayerResponse') : null;
    if (!pr) {
      // A redirect to /sorry (rate limit) or the consent host is YouTube's word; a page without the player JSON is not.
      const consent = /^consent\./.test(finalUrl.hostname) || finalUrl.pathname.startsWith('/sorry');
      if (!consent) return { visibility: notRecognised(`the page holds no ytInitialPlayerResponse for ${t.id}`, [signal('dom', main, 'no ytInitialPlayerResponse in the served HTML')], main.status), post: null };
      const state = finalUrl.pathname.startsWith('/sorry') ? 'rate-limited' : 'unavailable';
      return { visibility: observe(state, `YouTube served no player response for ${t.id}`, [signal('redirect', main, `the page redirected to ${finalUrl.host}${finalUrl.pathname}`)], main.status), post: null };
    }
    const post = playerResponseToPost(pr, observedAt, target.origin, t.kind);
    const visibility = observePlayability(pr, main);
    if (post && post.id !== t.id) return { visibility: notRecognised(`the player response is for ${post.id}, not ${t.id}`, [signal('embedded-json', main, `videoDetails.videoId: ${post.id}`)], main.status), post: null };
    return { visibility, post };
  },
};

export const youtubeCollector = definePlatformCollector(youtubeSpec);
