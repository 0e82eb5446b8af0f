import * as cheerio from 'cheerio';
import type { Post, PostField, PostMedia, PostRef, PostSource } from '../../schemas/post.js';
import { headerValue } from '../browser/page-facts.js';
import type { RecordedExchange } from '../browser/recorded-exchange.js';
import type { Extraction, PlatformPage } from './capture-platform-page.js';
import { observe, observeHttpStatus, signal, visible } from './honest-state.js';
import type { RecordedView } from './recorded.js';
import { htmlToText, publishedTime, textDirection } from './text.js';

/**
 * Reading ActivityPub objects (Note, Article, Page, Question, Video, …) from what the browser
 * recorded, shared by the `activitypub` collector (any server, by URL shape) and `generic` (any page
 * that advertises an ActivityPub alternate). See collectors/activitypub.ts for how hosts are matched.
 */

/** Path shapes of fediverse objects (Mastodon, Pleroma/Akkoma, Misskey/Firefish/Sharkey, PeerTube). */
const OBJECT_PATHS: readonly RegExp[] = [
  /^\/@[A-Za-z0-9_.-]+(?:@[A-Za-z0-9.-]+)?\/(?=[A-Za-z]*\d)[A-Za-z0-9]{6,}\/?$/, // Mastodon, Akkoma web: /@user/<id> (an id has a digit: not /@channel/videos)
  /^\/users\/[A-Za-z0-9_.-]+\/statuses\/\d+\/?$/, // Mastodon ActivityPub id
  /^\/notice\/[A-Za-z0-9]+\/?$/, // Pleroma/Akkoma web
  /^\/objects\/[0-9a-f-]{16,}\/?$/i, // Pleroma/Akkoma ActivityPub id
  /^\/notes\/[a-z0-9]{8,}\/?$/, // Misskey and forks (web and ActivityPub id)
  /^\/videos\/watch\/[0-9a-f-]{16,}\/?$/i, // PeerTube
  /^\/w\/[A-Za-z0-9]{16,}\/?$/, // PeerTube short URL
];

export function looksLikeActivityPubObject(url: URL): boolean {
  return (url.protocol === 'http:' || url.protocol === 'https:') && OBJECT_PATHS.some((r) => r.test(url.pathname));
}

/** What the request asks for: ActivityPub's own type first, the JSON-LD profile form second (both in the spec). */
export const AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"';
const AP_TYPES = /^application\/(activity\+json|ld\+json)/i;
/** Attachments recorded per object at most (Mastodon allows 4 per status; other servers more, none this many in practice). */
const MAX_MEDIA = 20;
/** Object types read as a post. */
const POST_TYPES = new Set(['Note', 'Article', 'Page', 'Question', 'Video', 'Audio', 'Image', 'Event']);

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const idOf = (v: unknown): string | null => str(v) ?? (v && typeof v === 'object' ? str((v as Json).id) ?? str((v as Json).href) : null);

/** The ActivityPub alternate a page advertises: `<link rel="alternate" type=…>` or the same as a `Link` header. */
export function advertisedObjectUrl(html: string | null, headers: ReadonlyArray<readonly [string, string]>, base: string): string | null {
  const abs = (h: string | undefined | null): string | null => {
    try {
      return h ? new URL(h, base).href : null;
    } catch {
      return null;
    }
  };
  if (html) {
    const $ = cheerio.load(html);
    const link = $('link[rel~="alternate"]').filter((_, l) => {
      const t = ($(l).attr('type') ?? '').toLowerCase();
      return t.startsWith('application/activity+json') || (t.startsWith('application/ld+json') && t.includes('activitystreams'));
    });
    const href = abs(link.first().attr('href'));
    if (href) return href;
  }
  const header = headerValue(headers, 'link');
  for (const part of (header ?? '').split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]+)>(.*)$/.exec(part);
    if (m && /rel="?alternate"?/i.test(m[2]!) && /type="?application\/activity\+json"?/i.test(m[2]!)) return abs(m[1]);
  }
  return null;
}

/** Whether a recorded exchange is an ActivityPub request (the Accept header asked for it). */
function askedForActivityPub(ex: RecordedExchange): boolean {
  const accept = headerValue(ex.requestHeaders, 'accept') ?? '';
  return /application\/activity\+json|activitystreams/i.test(accept);
}

/** The last recorded ActivityPub answer for `url`, or null. */
export function recordedObject(view: RecordedView, url: string): RecordedExchange | null {
  const found = view.all((u, ex) => askedForActivityPub(ex) && u.href === new URL(url).href).filter((ex) => ex.status !== null);
  return found[found.length - 1] ?? null;
}

/** The author's actor id: `attributedTo` (a string, an object, or PeerTube's list of Person and Group; the Person wins). */
export function authorIdOf(o: Json): string | null {
  const list = arr(o.attributedTo ?? o.actor);
  const person = list.find((a) => a && typeof a === 'object' && (a as Json).type === 'Person');
  return idOf(person ?? list[0]);
}

/**
 * Ask for the object (advertised alternate, else by negotiation when `negotiate`) and its author's
 * actor document, through the recording context. Returns the object URL asked for, or null.
 */
export async function fetchActivityPub(page: PlatformPage, target: URL, opts: { negotiate: boolean; actor: boolean }): Promise<string | null> {
  const view = page.view();
  const main = view.mainDocument();
  const advertised = advertisedObjectUrl(await view.servedHtml(), main?.responseHeaders ?? [], main?.url ?? target.href);
  const url = advertised ?? (opts.negotiate ? target.href : null);
  if (!url) return null;
  const r = await page.fetch(url, { purpose: advertised ? 'the ActivityPub object the page advertises (link rel=alternate, Accept: application/activity+json)' : 'the ActivityPub object, by content negotiation (Accept: application/activity+json)', headers: { Accept: AP_ACCEPT } });
  if (r.status !== 200 || !r.body || !opts.actor) return url;
  let o: Json | null = null;
  try {
    o = JSON.parse(r.body.toString('utf8')) as Json;
  } catch {
    return url;
  }
  const actor = o && typeof o === 'object' ? authorIdOf(o) : null;
  if (actor) await page.fetch(actor, { purpose: "the author's ActivityPub actor document (preferredUsername, for the handle)", headers: { Accept: AP_ACCEPT } });
  // Bounded: an object may name any number of attachments; the first MAX_MEDIA are what a server shows.
  const media = o ? objectMedia(o, url).map((m) => m.sourceUrl!).filter(Boolean).slice(0, MAX_MEDIA) : [];
  await page.ensureRecorded(media, 'attachments named by the ActivityPub object');
  return url;
}

/** `preferredUsername@host` of an actor document (the host of its id, where the actor lives). */
export function actorHandle(actor: Json): string | null {
  const name = str(actor.preferredUsername);
  const id = str(actor.id);
  if (!name || !id) return null;
  try {
    return `${name}@${new URL(id).host}`;
  } catch {
    return null;
  }
}

/** A Mention's `name` (`@nadia`, `@karim@other.example`) fully qualified with the host of its `href` when it names none. */
export function mentionHandle(name: string, href: string | null): string {
  const n = name.replace(/^@/, '');
  if (n.includes('@') || !href) return n;
  try {
    return `${n}@${new URL(href).host}`;
  } catch {
    return n;
  }
}

function firstUrl(v: unknown, preferType: RegExp | null = null): string | null {
  const list = arr(v);
  if (preferType) {
    const links = list.filter((l): l is Json => !!l && typeof l === 'object' && preferType.test(String((l as Json).mediaType ?? (l as Json).mimeType ?? '')));
    links.sort((a, b) => Number(b.height ?? 0) - Number(a.height ?? 0));
    const best = links[0] ? idOf(links[0]) : null;
    if (best) return best;
  }
  for (const l of list) {
    const u = idOf(l);
    if (u) return u;
  }
  return null;
}

const MEDIA_OF: Array<[RegExp, PostMedia['type']]> = [
  [/^image\/gif/i, 'gif'],
  [/^image\//i, 'image'],
  [/^video\//i, 'video'],
  [/^audio\//i, 'audio'],
];

function mediaType(mime: string, type: string): PostMedia['type'] {
  for (const [re, t] of MEDIA_OF) if (re.test(mime)) return t;
  if (type === 'Image') return 'image';
  if (type === 'Video') return 'video';
  if (type === 'Audio') return 'audio';
  return 'other';
}

/** Media of an object: its `attachment`s (Document/Image/Video/Audio; `url` a string or Link objects), and for a PeerTube `Video` its largest MP4. */
export function objectMedia(o: Json, base: string): PostMedia[] {
  const out: PostMedia[] = [];
  const abs = (u: string | null): string | null => {
    try {
      return u ? new URL(u, base).href : null;
    } catch {
      return null;
    }
  };
  const n = (v: unknown): number | null => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : null);
  for (const a of arr(o.attachment)) {
    if (!a || typeof a !== 'object') continue;
    const at = a as Json;
    if (at.type === 'PropertyValue' || at.type === 'Link' && !at.mediaType) continue;
    const link = arr(at.url).find((l) => l && typeof l === 'object') as Json | undefined;
    const mime = String(at.mediaType ?? link?.mediaType ?? '');
    const url = abs(typeof at.url === 'string' ? at.url : firstUrl(at.url));
    if (!url) continue;
    out.push({ type: mediaType(mime, String(at.type ?? '')), sourceUrl: url, artifact: null, assembledArtifact: null, width: n(at.width ?? link?.width), height: n(at.height ?? link?.height), durationSeconds: null, alt: str(at.name), flags: [] });
  }
  if (o.type === 'Video' || o.type === 'Audio') {
    const url = abs(firstUrl(o.url, /^(video|audio)\//i));
    const link = arr(o.url).find((l) => l && typeof l === 'object' && idOf(l) === url) as Json | undefined;
    const iso = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(String(o.duration ?? ''));
    const seconds = iso ? Number(iso[1] ?? 0) * 3600 + Number(iso[2] ?? 0) * 60 + Number(iso[3] ?? 0) : null;
    if (url && /^(video|audio)\//i.test(String(link?.mediaType ?? link?.mimeType ?? ''))) out.push({ type: o.type === 'Audio' ? 'audio' : 'video', sourceUrl: url, artifact: null, assembledArtifact: null, width: null, height: n(link?.height), durationSeconds: seconds, alt: null, flags: [] });
  }
  return out;
}

/** The object's HTML URL for people: `url` as a string, or the `text/html` Link among several (PeerTube). */
function humanUrl(o: Json): string | null {
  if (typeof o.url === 'string') return o.url;
  return firstUrl(o.url, /^text\/html/i) ?? str(o.id);
}

/**
 * An ActivityPub object as a Post; every field from the object (`api-json`: the server's federation
 * API). `actor` is the author's actor document when it was recorded.
 */
export function objectToPost(o: Json, actor: Json | null, readAt: string, base: string): Post {
  const sources: Partial<Record<PostField, PostSource>> = {};
  const set = (f: PostField): void => void (sources[f] = 'api-json');
  const id = str(o.id) ?? base;
  const contentMap = o.contentMap && typeof o.contentMap === 'object' ? Object.entries(o.contentMap as Record<string, unknown>) : [];
  const html = str(o.content) ?? (contentMap[0] ? str(contentMap[0][1]) : null);
  const isMarkdown = /markdown/i.test(String(o.mediaType ?? ''));
  // Video/Article: the title is `name`; the body follows.
  const title = o.type === 'Question' ? null : str(o.name);
  const body = html === null ? null : isMarkdown ? html : htmlToText(html);
  const content = [title, body].filter((x): x is string => x !== null).join('\n\n') || null;
  const language = contentMap.length === 1 ? contentMap[0]![0] : (str((o.language as Json | undefined)?.identifier) ?? null);
  const authorId = authorIdOf(o);
  const handle = actor && str(actor.id) === authorId ? actorHandle(actor) : null;
  const mentions: Post['mentions'] = [];
  const hashtags: string[] = [];
  for (const t of arr(o.tag)) {
    if (!t || typeof t !== 'object') continue;
    const tag = t as Json;
    const name = str(tag.name);
    if (tag.type === 'Mention' && name) mentions.push({ handle: mentionHandle(name, str(tag.href)), id: null, url: str(tag.href) });
    if (tag.type === 'Hashtag' && name) {
      const h = name.replace(/^#/, '');
      if (!hashtags.includes(h)) hashtags.push(h);
    }
  }
  const links: string[] = [];
  if (html && !isMarkdown) {
    const $ = cheerio.load(html, null, false);
    const tagged = new Set(arr(o.tag).map((t) => (t && typeof t === 'object' ? str((t as Json).href) : null)));
    $('a[href]').each((_, a) => {
      const el = $(a);
      if (/\b(mention|hashtag)\b/.test(el.attr('class') ?? '') || el.attr('rel') === 'tag' || tagged.has(el.attr('href') ?? '')) return;
      try {
        const u = new URL(el.attr('href')!, base).href;
        if (!links.includes(u)) links.push(u);
      } catch {
        // not a URL
      }
    });
  }
  const media = objectMedia(o, base);
  const reply = idOf(o.inReplyTo);
  const quote = str(o.quoteUrl) ?? str(o.quoteUri) ?? str(o._misskey_quote) ?? idOf(o.quote);
  const ref = (uri: string): PostRef => ({ id: uri, url: null, authorHandle: null, uri });
  const summary = str(o.summary);
  const sensitive = typeof o.sensitive === 'boolean' ? o.sensitive : null;
  const pollOptions = o.type === 'Question' ? arr(o.oneOf ?? o.anyOf) : [];
  const poll =
    o.type === 'Question'
      ? {
          multiple: o.anyOf !== undefined,
          options: pollOptions.map((x) => {
            const opt = (x ?? {}) as Json;
            const total = (opt.replies as Json | undefined)?.totalItems;
            return { title: str(opt.name) ?? '', votes: Number.isInteger(total) ? (total as number) : null };
          }),
          votersCount: Number.isInteger(o.votersCount) ? (o.votersCount as number) : null,
          endTime: publishedTime(str(o.endTime)),
          closed: publishedTime(str(o.closed)),
        }
      : null;
  set('id');
  set('url');
  if (authorId) set('author');
  if (str(o.published)) set('published');
  if (content !== null) set('text');
  if (media.length) set('media');
  if (links.length) set('links');
  if (mentions.length) set('mentions');
  if (hashtags.length) set('hashtags');
  if (reply) set('replyTo');
  if (quote) set('quoteOf');
  if (str(o.updated)) set('updated');
  if (summary !== null || sensitive !== null) set('contentWarning');
  if (poll) set('poll');
  return {
    id,
    url: humanUrl(o),
    uri: str(o.id),
    author: authorId ? { id: authorId, handle, displayName: actor ? str(actor.name) : null, profileUrl: actor ? (typeof actor.url === 'string' ? actor.url : firstUrl(actor.url, /^text\/html/i)) ?? authorId : authorId } : null,
    published: publishedTime(str(o.published)),
    text: content === null ? null : { content, html: isMarkdown ? null : html, language, direction: textDirection(content) },
    media,
    links,
    mentions,
    hashtags,
    replyTo: reply ? ref(reply) : null,
    quoteOf: quote ? ref(quote) : null,
    repostOf: null,
    engagement: null,
    sources,
    ...(str(o.updated) ? { updated: publishedTime(str(o.updated)) } : {}),
    ...(summary !== null || sensitive !== null ? { contentWarning: { summary, sensitive } } : {}),
    ...(poll ? { poll } : {}),
  };
}

/**
 * Read the ActivityPub object recorded for this page (advertised alternate or the URL itself), or
 * null when none was asked for or none came back as an object (then the page is read another way).
 * A `410 Gone` or a `Tombstone` is the server saying the object was deleted.
 */
export async function readActivityPub(view: RecordedView, target: URL, readAt: string): Promise<Extraction | null> {
  const main = view.mainDocument();
  const advertised = advertisedObjectUrl(await view.servedHtml(), main?.responseHeaders ?? [], main?.url ?? target.href);
  const ex = (advertised ? recordedObject(view, advertised) : null) ?? recordedObject(view, target.href);
  if (!ex) return null;
  const body = await view.json<Json>(ex);
  if (ex.status === 410 || body?.type === 'Tombstone') {
    return { platform: 'activitypub', visibility: observe('deleted', 'the server answered for the ActivityPub object that it is gone', [signal('api-json', ex, `HTTP ${ex.status}${body?.type === 'Tombstone' ? ': type Tombstone' : ''}`)], ex.status), post: null };
  }
  if (ex.status !== 200 || !AP_TYPES.test(headerValue(ex.responseHeaders, 'content-type') ?? '') || !body || !POST_TYPES.has(String(body.type))) return null;
  const authorId = authorIdOf(body);
  const actorEx = authorId ? recordedObject(view, authorId) : null;
  const actor = actorEx?.status === 200 ? await view.json<Json>(actorEx) : null;
  const post = objectToPost(body, actor, readAt, ex.url);
  const http = main ? observeHttpStatus(main, 'the server') : null;
  const signals = [signal('api-json', ex, `HTTP ${ex.status}: ActivityPub ${String(body.type)}`)];
  if (http) signals.push(signal('http-status', main, `the HTML page answered HTTP ${main!.status}`));
  return { platform: 'activitypub', visibility: visible(signals, ex.status), post };
}

