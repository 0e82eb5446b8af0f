import { z } from 'zod';
import type { PlatformObservation, Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import type { RecordedExchange } from './browser/recorded-exchange.js';
import { headerValue } from './browser/page-facts.js';
import { exactCount, textDirection } from './platform/text.js';

/**
 * X (Twitter): `x.com/<user>/status/<id>` (also twitter.com, `/i/web/status/<id>`). The post page
 * is a JavaScript app: for a logged-out visitor it activates a guest token and reads the post from
 * the GraphQL API (`TweetResultByRestId`; `TweetDetail` with the reply thread where guests still get
 * it). Those recorded responses are the primary source (`api-json`). When the page showed no
 * GraphQL answer at all (a login redirect), the collector asks the public embed endpoint
 * (`cdn.syndication.twimg.com/tweet-result`) through the same recorded context. Photos are fetched
 * at `name=orig`, video as the highest-bitrate MP4 variant.
 */

export const XOptions = z.object({
  /** Hosts serving post pages (host[:port]). @defaultValue `["x.com", "twitter.com", "mobile.x.com", "mobile.twitter.com"]` */
  hosts: z.array(z.string().min(1)).default(['x.com', 'twitter.com', 'www.x.com', 'www.twitter.com', 'mobile.x.com', 'mobile.twitter.com']),
  /** Base URL of the public embed (syndication) endpoint, asked only when the page recorded no GraphQL answer. @defaultValue `https://cdn.syndication.twimg.com` */
  syndication: z.string().url().default('https://cdn.syndication.twimg.com'),
  /** Ask the syndication endpoint when the page itself showed nothing. @defaultValue true */
  syndicationFallback: z.boolean().default(true),
});
export type XOptions = z.infer<typeof XOptions>;

/** `{ user, id }` of a post URL (user null for `/i/web/status/<id>`), or null. */
export function parseXUrl(url: URL): { user: string | null; id: string } | null {
  const m = /^\/([A-Za-z0-9_]{1,15})\/status(?:es)?\/(\d{1,20})(?:\/(?:photo|video)\/\d)?\/?$/.exec(url.pathname);
  if (m && m[1] !== 'i') return { user: m[1]!, id: m[2]! };
  const w = /^\/i\/(?:web\/)?status\/(\d{1,20})\/?$/.exec(url.pathname);
  return w ? { user: null, id: w[1]! } : null;
}

/** The token the embed widget sends with `tweet-result` (derived from the id, as react-tweet computes it). */
export function syndicationToken(id: string): string {
  return ((Number(id) / 1e15) * Math.PI).toString(36).replace(/(0+|\.)/g, '');
}

const MONTHS: Record<string, string> = { Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06', Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12' };

/** X's `created_at` (`Wed Mar 13 09:15:02 +0000 2024`, or ISO from the syndication API) as raw string and UTC. */
export function xTime(raw: string | null | undefined): { raw: string; utc: string | null } | null {
  if (!raw) return null;
  const m = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{2}:\d{2}:\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})$/.exec(raw.trim());
  let iso: string | null = null;
  if (m && MONTHS[m[1]!]) iso = `${m[7]}-${MONTHS[m[1]!]}-${m[2]}T${m[3]}${m[4]}${m[5]}:${m[6]}`;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(raw.trim())) iso = raw.trim();
  const t = iso ? Date.parse(iso) : Number.NaN;
  return { raw, utc: Number.isNaN(t) ? null : new Date(t).toISOString() };
}

interface Entities {
  hashtags?: Array<{ text: string }>;
  urls?: Array<{ url: string; expanded_url?: string }>;
  user_mentions?: Array<{ screen_name: string; id_str?: string }>;
}
interface XMedia {
  type: 'photo' | 'video' | 'animated_gif';
  media_url_https: string;
  ext_alt_text?: string | null;
  original_info?: { width?: number; height?: number };
  video_info?: { duration_millis?: number; variants?: Array<{ content_type: string; url: string; bitrate?: number }> };
}
interface XUser {
  __typename?: string;
  rest_id?: string;
  id_str?: string;
  core?: { screen_name?: string; name?: string };
  legacy?: { screen_name?: string; name?: string; protected?: boolean };
}
/** A GraphQL tweet result (`Tweet`, `TweetWithVisibilityResults`, `TweetTombstone`, `TweetUnavailable`). */
export interface XTweetResult {
  __typename?: string;
  rest_id?: string;
  reason?: string;
  tweet?: XTweetResult;
  tombstone?: { text?: { text?: string } };
  core?: { user_results?: { result?: XUser } };
  views?: { count?: string };
  note_tweet?: { note_tweet_results?: { result?: { text?: string; entity_set?: Entities } } };
  quoted_status_result?: { result?: XTweetResult };
  legacy?: {
    id_str?: string;
    full_text?: string;
    created_at?: string;
    lang?: string;
    entities?: Entities;
    extended_entities?: { media?: XMedia[] };
    in_reply_to_status_id_str?: string | null;
    in_reply_to_screen_name?: string | null;
    quoted_status_id_str?: string;
    retweeted_status_result?: { result?: XTweetResult };
    reply_count?: number;
    retweet_count?: number;
    favorite_count?: number;
    quote_count?: number;
    bookmark_count?: number;
  };
}

const unwrap = (r: XTweetResult | undefined | null): XTweetResult | null => (r ? (r.__typename === 'TweetWithVisibilityResults' && r.tweet ? r.tweet : r) : null);

function userOf(u: XUser | undefined): { id: string | null; handle: string | null; name: string | null } {
  return { id: u?.rest_id ?? u?.id_str ?? null, handle: u?.core?.screen_name ?? u?.legacy?.screen_name ?? null, name: u?.core?.name ?? u?.legacy?.name ?? null };
}

/** Best MP4 variant (highest bitrate), else the HLS playlist. */
function bestVariant(v: XMedia['video_info']): string | null {
  const variants = v?.variants ?? [];
  const mp4 = variants.filter((x) => x.content_type === 'video/mp4').sort((a, b) => (b.bitrate ?? 0) - (a.bitrate ?? 0));
  return mp4[0]?.url ?? variants.find((x) => /mpegurl/i.test(x.content_type))?.url ?? null;
}

/** The original-size URL of a pbs.twimg.com photo (`?format=jpg&name=orig`). */
export function originalPhotoUrl(mediaUrl: string): string {
  const u = new URL(mediaUrl);
  const ext = /\.([a-z0-9]+)$/i.exec(u.pathname);
  if (ext) u.pathname = u.pathname.slice(0, -ext[0].length);
  u.search = `?format=${ext?.[1]?.toLowerCase() ?? 'jpg'}&name=orig`;
  return u.href;
}

function mediaOf(list: XMedia[] | undefined): PostMedia[] {
  return (list ?? []).map((m) => {
    const base = { artifact: null, assembledArtifact: null, width: m.original_info?.width ?? null, height: m.original_info?.height ?? null, alt: m.ext_alt_text ?? null, flags: [] };
    if (m.type === 'photo') return { ...base, type: 'image' as const, sourceUrl: originalPhotoUrl(m.media_url_https), durationSeconds: null };
    const ms = m.video_info?.duration_millis;
    return { ...base, type: m.type === 'animated_gif' ? ('gif' as const) : ('video' as const), sourceUrl: bestVariant(m.video_info), durationSeconds: typeof ms === 'number' ? ms / 1000 : null };
  });
}

function allFrom(source: PostSource, fields: readonly PostField[]): Partial<Record<PostField, PostSource>> {
  return Object.fromEntries(fields.map((f) => [f, source]));
}

/** A GraphQL `Tweet` as a Post; every field from `api-json`. Returns null for tombstones and unavailable results. */
export function tweetToPost(result: XTweetResult, readAt: string, origin: string): Post | null {
  const t = unwrap(result);
  const l = t?.legacy;
  if (!t || t.__typename === 'TweetTombstone' || t.__typename === 'TweetUnavailable' || !l) return null;
  const id = t.rest_id ?? l.id_str ?? null;
  if (!id) return null;
  const user = userOf(t.core?.user_results?.result);
  const note = t.note_tweet?.note_tweet_results?.result;
  const text = note?.text ?? l.full_text ?? '';
  const entities = note?.entity_set ?? l.entities ?? {};
  const quoted = unwrap(t.quoted_status_result?.result);
  const quotedUser = quoted ? userOf(quoted.core?.user_results?.result) : null;
  const retweet = unwrap(l.retweeted_status_result?.result);
  const counts: Record<string, { display: string; value: number | null }> = {};
  for (const [k, v] of [['replies', l.reply_count], ['reposts', l.retweet_count], ['likes', l.favorite_count], ['quotes', l.quote_count], ['bookmarks', l.bookmark_count]] as const) if (typeof v === 'number') counts[k] = exactCount(v);
  if (t.views?.count && /^\d+$/.test(t.views.count)) counts.views = exactCount(Number(t.views.count));
  const handle = user.handle;
  return {
    id,
    url: handle ? `${origin}/${handle}/status/${id}` : `${origin}/i/web/status/${id}`,
    uri: null,
    author: { id: user.id, handle, displayName: user.name, profileUrl: handle ? `${origin}/${handle}` : null },
    published: xTime(l.created_at),
    text: { content: text, html: null, language: l.lang && l.lang !== 'und' && l.lang !== 'zxx' ? l.lang : null, direction: textDirection(text) },
    media: mediaOf(l.extended_entities?.media),
    links: (entities.urls ?? []).map((u) => u.expanded_url ?? u.url),
    mentions: (entities.user_mentions ?? []).map((m) => ({ handle: m.screen_name, id: m.id_str ?? null, url: `${origin}/${m.screen_name}` })),
    hashtags: (entities.hashtags ?? []).map((h) => h.text),
    replyTo: l.in_reply_to_status_id_str ? { id: l.in_reply_to_status_id_str, url: l.in_reply_to_screen_name ? `${origin}/${l.in_reply_to_screen_name}/status/${l.in_reply_to_status_id_str}` : null, authorHandle: l.in_reply_to_screen_name ?? null } : null,
    quoteOf: l.quoted_status_id_str || quoted ? { id: quoted?.rest_id ?? l.quoted_status_id_str ?? null, url: quotedUser?.handle && quoted?.rest_id ? `${origin}/${quotedUser.handle}/status/${quoted.rest_id}` : null, authorHandle: quotedUser?.handle ?? null } : null,
    repostOf: retweet?.rest_id ? { id: retweet.rest_id, url: null, authorHandle: userOf(retweet.core?.user_results?.result).handle } : null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources: allFrom('api-json', ['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'replyTo', 'quoteOf', 'repostOf', 'engagement']),
  };
}

/** The embed endpoint's JSON (`cdn.syndication.twimg.com/tweet-result`). */
export interface SyndicationTweet {
  __typename?: string;
  id_str?: string;
  text?: string;
  lang?: string;
  created_at?: string;
  user?: { id_str?: string; screen_name?: string; name?: string };
  entities?: Entities;
  mediaDetails?: XMedia[];
  in_reply_to_status_id_str?: string;
  in_reply_to_screen_name?: string;
  favorite_count?: number;
  conversation_count?: number;
  quoted_tweet?: { id_str?: string; user?: { screen_name?: string } };
}

/** A syndication `Tweet` as a Post (`api-json`: X's own embed API). */
export function syndicationToPost(s: SyndicationTweet, readAt: string, origin: string): Post | null {
  if (!s.id_str || typeof s.text !== 'string' || s.__typename === 'TweetTombstone') return null;
  const handle = s.user?.screen_name ?? null;
  const counts: Record<string, { display: string; value: number | null }> = {};
  if (typeof s.conversation_count === 'number') counts.replies = exactCount(s.conversation_count);
  if (typeof s.favorite_count === 'number') counts.likes = exactCount(s.favorite_count);
  return {
    id: s.id_str,
    url: handle ? `${origin}/${handle}/status/${s.id_str}` : `${origin}/i/web/status/${s.id_str}`,
    uri: null,
    author: { id: s.user?.id_str ?? null, handle, displayName: s.user?.name ?? null, profileUrl: handle ? `${origin}/${handle}` : null },
    published: xTime(s.created_at),
    text: { content: s.text, html: null, language: s.lang && s.lang !== 'und' ? s.lang : null, direction: textDirection(s.text) },
    media: mediaOf(s.mediaDetails),
    links: (s.entities?.urls ?? []).map((u) => u.expanded_url ?? u.url),
    mentions: (s.entities?.user_mentions ?? []).map((m) => ({ handle: m.screen_name, id: m.id_str ?? null, url: `${origin}/${m.screen_name}` })),
    hashtags: (s.entities?.hashtags ?? []).map((h) => h.text),
    replyTo: s.in_reply_to_status_id_str ? { id: s.in_reply_to_status_id_str, url: null, authorHandle: s.in_reply_to_screen_name ?? null } : null,
    quoteOf: s.quoted_tweet?.id_str ? { id: s.quoted_tweet.id_str, url: null, authorHandle: s.quoted_tweet.user?.screen_name ?? null } : null,
    repostOf: null,
    engagement: Object.keys(counts).length ? { readAt, counts } : null,
    sources: allFrom('api-json', ['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'replyTo', 'quoteOf', 'engagement']),
  };
}

interface TimelineEntry {
  entryId?: string;
  content?: { itemContent?: { tweet_results?: { result?: XTweetResult } }; items?: Array<{ item?: { itemContent?: { tweet_results?: { result?: XTweetResult } } } }> };
}
interface TweetDetailBody {
  data?: { threaded_conversation_with_injections_v2?: { instructions?: Array<{ type?: string; entries?: TimelineEntry[] }> } };
}

/** Every tweet result of a `TweetDetail` response, in timeline order (conversation modules flattened). */
export function tweetDetailResults(body: TweetDetailBody): XTweetResult[] {
  const out: XTweetResult[] = [];
  for (const ins of body.data?.threaded_conversation_with_injections_v2?.instructions ?? []) {
    for (const e of ins.entries ?? []) {
      const single = e.content?.itemContent?.tweet_results?.result;
      if (single) out.push(single);
      for (const it of e.content?.items ?? []) {
        const r = it.item?.itemContent?.tweet_results?.result;
        if (r) out.push(r);
      }
    }
  }
  return out;
}

const GRAPHQL = /\/graphql\/[^/]+\/(TweetResultByRestId|TweetDetail)(\?|$)/;

function variablesOf(u: URL): Record<string, unknown> {
  try {
    return JSON.parse(u.searchParams.get('variables') ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The last recorded GraphQL exchange of `op` for tweet `id`. */
function graphqlExchange(view: RecordedView, op: 'TweetResultByRestId' | 'TweetDetail', id: string): RecordedExchange | null {
  return view.last((u) => {
    const m = GRAPHQL.exec(u.pathname);
    if (!m || m[1] !== op) return false;
    const v = variablesOf(u);
    return v.tweetId === id || v.focalTweetId === id;
  });
}

const syndicationUrl = (o: XOptions, id: string): string => `${o.syndication.replace(/\/$/, '')}/tweet-result?id=${id}&token=${syndicationToken(id)}&lang=en`;

/** What an unavailable result says: `TweetTombstone` text or `TweetUnavailable` reason. */
export function observeUnavailable(r: XTweetResult | null, ex: RecordedExchange): PlatformObservation {
  const status = ex.status;
  if (!r || !r.__typename) return observe('unavailable', 'the API answered with an empty tweet result (deleted, suspended or never existed; X does not say which)', [signal('api-json', ex, 'data.tweetResult: {}')], status);
  if (r.__typename === 'TweetTombstone') {
    const text = r.tombstone?.text?.text ?? '';
    const sig = [signal('api-json', ex, `TweetTombstone: ${text || '(no text)'}`)];
    if (/deleted/i.test(text)) return observe('deleted', `X shows a tombstone: ${text}`, sig, status);
    if (/withheld/i.test(text) && /countr/i.test(text)) return observe('region-gated', `X shows a tombstone: ${text}`, sig, status);
    if (/age|adult|sensitive/i.test(text)) return observe('age-gated', `X shows a tombstone: ${text}`, sig, status);
    if (/log ?in|sign ?in|protected|authori[sz]ed/i.test(text)) return observe('login-wall', `X shows a tombstone: ${text}`, sig, status);
    return observe('unavailable', `X shows a tombstone: ${text || 'no reason given'}`, sig, status);
  }
  // Only X's own unavailable node speaks for X; a result of another shape is not a refusal.
  if (r.__typename !== 'TweetUnavailable') return notRecognised(`the API answered with a ${r.__typename} result that holds no readable post`, [signal('api-json', ex, `tweetResult.__typename: ${r.__typename}`)], status);
  const reason = r.reason ?? 'unknown';
  const sig = [signal('api-json', ex, `TweetUnavailable: reason ${reason}`)];
  if (reason === 'Protected') return observe('login-wall', "the author's posts are protected: only approved followers, logged in, can see them", sig, status);
  if (/^Nsfw/.test(reason)) return observe('age-gated', `X marks the post as sensitive media (${reason}): logged-out visitors are not shown it`, sig, status);
  if (/Withheld|Geo/i.test(reason)) return observe('region-gated', `X withholds the post (${reason})`, sig, status);
  if (/Suspended|Deleted/i.test(reason)) return observe('deleted', `X reports the post unavailable (${reason})`, sig, status);
  return observe('unavailable', `X reports the post unavailable (${reason})`, sig, status);
}

export const xSpec: PlatformSpec<XOptions> = {
  id: 'x',
  version: '1.0.0',
  platform: 'x',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: XOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseXUrl(url) !== null,
  async onPage(page, target, o) {
    const { id } = parseXUrl(target)!;
    await page.waitForNetworkQuiet();
    let view = page.view();
    const gql = graphqlExchange(view, 'TweetDetail', id) ?? graphqlExchange(view, 'TweetResultByRestId', id);
    let syndicated: SyndicationTweet | null = null;
    if (!gql && o.syndicationFallback) {
      // Read the answer from the fetch itself: the recorder may not have marked the exchange complete yet.
      const res = await page.fetch(syndicationUrl(o, id), { purpose: 'the public embed (syndication) JSON of the post: the page showed no GraphQL answer' });
      try {
        syndicated = res.status === 200 && res.body ? (JSON.parse(res.body.toString('utf8')) as SyndicationTweet) : null;
      } catch {
        syndicated = null;
      }
      view = page.view();
    }
    const urls: string[] = [];
    const results: XTweetResult[] = [];
    const detail = graphqlExchange(view, 'TweetDetail', id);
    const byId = graphqlExchange(view, 'TweetResultByRestId', id);
    if (detail?.status === 200) results.push(...tweetDetailResults((await view.json<TweetDetailBody>(detail)) ?? {}));
    if (byId?.status === 200) {
      const r = (await view.json<{ data?: { tweetResult?: { result?: XTweetResult } } }>(byId))?.data?.tweetResult?.result;
      if (r) results.push(r);
    }
    for (const r of results) for (const m of mediaOf(unwrap(r)?.legacy?.extended_entities?.media)) if (m.sourceUrl) urls.push(m.sourceUrl);
    for (const m of mediaOf(syndicated?.mediaDetails)) if (m.sourceUrl) urls.push(m.sourceUrl);
    await page.ensureRecorded([...new Set(urls)], 'original-size photos (name=orig) and the best MP4 variant named by the post JSON');
  },
  async extract({ view, observedAt }, target, o) {
    const { id } = parseXUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const origin = target.origin;
    const pageHttp = observeHttpStatus(main, 'x.com');
    if (pageHttp) return { visibility: pageHttp, post: null };
    const loginRedirect = /^\/i\/flow\/login/.test(new URL(main.url).pathname);
    const detail = graphqlExchange(view, 'TweetDetail', id);
    const byId = graphqlExchange(view, 'TweetResultByRestId', id);
    const primary = detail?.status === 200 ? detail : (byId ?? detail);

    if (primary) {
      const http = observeHttpStatus(primary, 'the X GraphQL API');
      if (http?.state === 'rate-limited' && http.retryAfter === null) {
        // X names its reset `x-rate-limit-reset` (epoch seconds), not the `x-ratelimit-*` the shared helper reads.
        const reset = headerValue(primary.responseHeaders, 'x-rate-limit-reset');
        if (reset) {
          http.retryAfter = reset;
          http.signals.push(signal('header', primary, `x-rate-limit-reset: ${reset}`));
        }
      }
      if (http) return { visibility: http, post: null };
      let focal: XTweetResult | null = null;
      const replies: Post[] = [];
      if (primary === detail) {
        const body = (await view.json<TweetDetailBody & { errors?: Array<{ message?: string }> }>(detail)) ?? {};
        const all = tweetDetailResults(body);
        const at = all.findIndex((r) => (unwrap(r)?.rest_id ?? null) === id);
        focal = at >= 0 ? all[at]! : null;
        if (!focal) {
          // X's word is an error it names; a conversation without the post is not.
          const err = (Array.isArray(body.errors) ? body.errors : []).map((e) => e.message).find((m): m is string => typeof m === 'string' && m !== '');
          if (err) return { visibility: observe('unavailable', `X answered TweetDetail with an error: ${err}`, [signal('api-json', primary, `errors[0].message: ${err}`)], primary.status), post: null };
          return { visibility: notRecognised(`the TweetDetail answer holds no tweet ${id}`, [signal('api-json', primary, `HTTP ${primary.status}: no entry with rest_id ${id}`)], primary.status), post: null };
        }
        // The timeline lists ancestors, then the focal post, then the conversation below it: only the latter are replies.
        for (const r of at >= 0 ? all.slice(at + 1) : []) {
          const p = tweetToPost(r, observedAt, origin);
          if (p) replies.push(p);
        }
      } else {
        const body = await view.json<{ data?: { tweetResult?: { result?: XTweetResult } } }>(primary);
        // `data.tweetResult: {}` is X's answer for a post it will not show; a body without `tweetResult` is of an unknown shape.
        if (!body?.data || typeof body.data.tweetResult !== 'object' || body.data.tweetResult === null) return { visibility: notRecognised('the TweetResultByRestId answer has no data.tweetResult', [signal('api-json', primary, `HTTP ${primary.status}: no data.tweetResult`)], primary.status), post: null };
        focal = body.data.tweetResult.result ?? null;
      }
      const post = focal ? tweetToPost(focal, observedAt, origin) : null;
      if (!post) return { visibility: observeUnavailable(unwrap(focal), primary), post: null };
      const q = unwrap(unwrap(focal)?.quoted_status_result?.result);
      const quoted = q ? tweetToPost(q, observedAt, origin) : null;
      const op = primary === detail ? 'TweetDetail' : 'TweetResultByRestId';
      return { visibility: visible([signal('api-json', primary, `HTTP ${primary.status}: ${op} Tweet ${post.id}`)], primary.status), post, replies, quoted };
    }

    const syn = view.last(syndicationUrl(o, id));
    const wall = loginRedirect ? [signal('dom', main, `the post page redirected to ${new URL(main.url).pathname}`)] : [];
    if (syn) {
      const http = observeHttpStatus(syn, 'the X syndication endpoint');
      const body = await view.json<SyndicationTweet>(syn);
      const post = !http && body ? syndicationToPost(body, observedAt, origin) : null;
      if (post) return { visibility: visible([...wall, signal('api-json', syn, `HTTP ${syn.status}: syndication Tweet ${post.id}`)], syn.status), post };
      if (loginRedirect) return { visibility: observe('login-wall', 'x.com sent the logged-out visitor to its login flow, and the embed endpoint did not serve the post', [...wall, signal('api-json', syn, `HTTP ${syn.status}${body?.__typename ? `: ${body.__typename}` : ''}`)], main.status), post: null };
      if (http) return { visibility: http, post: null };
      // A tombstone is X's word; an answer of unknown shape is not.
      if (body?.__typename) return { visibility: observe('unavailable', `the embed endpoint answered ${body.__typename} without a post`, [signal('api-json', syn, `HTTP ${syn.status}: ${body.__typename}`)], syn.status), post: null };
      return { visibility: notRecognised('the embed endpoint answered, but not with a post of a known shape', [signal('api-json', syn, `HTTP ${syn.status}`)], syn.status), post: null };
    }
    if (loginRedirect) return { visibility: observe('login-wall', 'x.com sent the logged-out visitor to its login flow instead of the post', wall, main.status), post: null };
    return { visibility: notRecognised('the page made no GraphQL request for the post and no embed JSON was recorded', [signal('api-json', null, `no TweetResultByRestId/TweetDetail response recorded for ${id}`)], main.status), post: null };
  },
};

export const xCollector = definePlatformCollector(xSpec);
