import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource, Profile } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type Extraction, type PlatformPage, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import { exactCount, htmlToText, publishedTime, textDirection } from './platform/text.js';

/**
 * Mastodon and other servers speaking its API: `/@user/<id>` (also `/@user@domain/<id>` and
 * `/users/<user>/statuses/<id>`). The web app is a shell whose script fetches
 * `/api/v1/statuses/<id>` and `/context`; those recorded responses are the primary source
 * (`api-json`). The collector also asks for the ActivityPub `Note` (`Accept: application/activity+json`)
 * and the original-size media, through the same recorded browser context.
 *
 * Two list pages are targets too (post.json `post` null, every visible status in `replies`, so a
 * watch diffs them): a profile `/@user` (the account as `profile`, from
 * `/api/v1/accounts/lookup` and `/api/v1/accounts/<id>/statuses`) and a hashtag timeline
 * `/tags/<tag>` (`/api/v1/timelines/tag/<tag>`).
 *
 * Handles are written fully qualified: the API's `acct` is `user` for an account local to the
 * server and `user@domain` for a remote one, so a bare `acct` gets the domain of its own profile URL.
 */

export const MastodonOptions = z.object({
  /** Mastodon servers (host[:port]) this collector answers for; any server can be added. @defaultValue a few large public servers */
  hosts: z.array(z.string().min(1)).default(['mastodon.social', 'mastodon.online', 'mas.to', 'mstdn.social', 'fosstodon.org', 'hachyderm.io', 'infosec.exchange', 'journa.host']),
  /** Also fetch the ActivityPub representation of the status. @defaultValue true */
  activityPub: z.boolean().default(true),
});
export type MastodonOptions = z.infer<typeof MastodonOptions>;

export function parseMastodonUrl(url: URL): { user: string; id: string } | null {
  const m = /^\/@([A-Za-z0-9_]+(?:@[A-Za-z0-9.-]+)?)\/(\d+)\/?$/.exec(url.pathname) ?? /^\/users\/([A-Za-z0-9_]+)\/statuses\/(\d+)\/?$/.exec(url.pathname);
  return m ? { user: m[1]!, id: m[2]! } : null;
}

/** A list page: a profile (`/@user`, `/@user@domain`) or a hashtag timeline (`/tags/<tag>`), or null. */
export function parseMastodonListUrl(url: URL): { kind: 'profile'; acct: string } | { kind: 'tag'; tag: string } | null {
  const p = /^\/@([A-Za-z0-9_]+(?:@[A-Za-z0-9.-]+)?)\/?$/.exec(url.pathname);
  if (p) return { kind: 'profile', acct: p[1]! };
  const t = /^\/tags\/([^/]+)\/?$/.exec(url.pathname);
  if (!t) return null;
  try {
    return { kind: 'tag', tag: decodeURIComponent(t[1]!) };
  } catch {
    return null;
  }
}

/**
 * A fully qualified handle: `acct` as the API gives it when it names a domain, else `acct@<host of
 * the account's own URL>` (the server that holds a local account; its web domain, which is also the
 * handle's domain on the common single-domain set-up).
 */
export function qualifyAcct(acct: string, accountUrl: string | null | undefined, fallbackHost: string | null = null): string {
  const a = acct.replace(/^@/, '');
  if (a.includes('@')) return a;
  let host: string | null = fallbackHost;
  try {
    if (accountUrl) host = new URL(accountUrl).host;
  } catch {
    // not a URL: keep the fallback
  }
  return host ? `${a}@${host}` : a;
}

interface MastoAccount {
  id: string;
  username: string;
  acct: string;
  display_name: string;
  url: string;
  note?: string;
  avatar?: string;
  followers_count?: number;
  following_count?: number;
  statuses_count?: number;
}
interface MastoStatus {
  id: string;
  uri: string;
  url: string | null;
  created_at: string;
  language: string | null;
  content: string;
  spoiler_text?: string;
  in_reply_to_id: string | null;
  in_reply_to_account_id?: string | null;
  reblog: MastoStatus | null;
  quote?: { state?: string; quoted_status?: MastoStatus | null } | null;
  account: MastoAccount;
  media_attachments: Array<{ type: string; url: string; remote_url?: string | null; description: string | null; meta?: { original?: { width?: number; height?: number; duration?: number } } }>;
  mentions: Array<{ id: string; username: string; acct: string; url: string }>;
  tags: Array<{ name: string; url: string }>;
  replies_count: number;
  reblogs_count: number;
  favourites_count: number;
  quotes_count?: number;
  sensitive?: boolean;
  poll?: { expires_at: string | null; expired: boolean; multiple: boolean; votes_count: number; voters_count: number | null; options: Array<{ title: string; votes_count: number | null }> } | null;
}

function isStatus(v: unknown): v is MastoStatus {
  const s = v as MastoStatus | null;
  return !!s && typeof s === 'object' && typeof s.id === 'string' && typeof s.content === 'string' && typeof s.account === 'object';
}

const MEDIA_TYPES: Record<string, PostMedia['type']> = { image: 'image', video: 'video', gifv: 'gif', audio: 'audio' };

/** A Mastodon Status entity as a Post; every field from `api-json`. A boost is the booster's status with `repostOf` and the boosted content. */
export function statusToPost(s: MastoStatus, readAt: string, pageUrl: string): Post {
  if (s.reblog) {
    const inner = statusToPost(s.reblog, readAt, pageUrl);
    const by = s.account;
    return {
      ...inner,
      id: s.id,
      url: s.url ?? s.uri,
      uri: s.uri,
      author: { id: by.id, handle: qualifyAcct(by.acct, by.url), displayName: by.display_name || null, profileUrl: by.url },
      published: publishedTime(s.created_at),
      repostOf: { id: s.reblog.id, url: s.reblog.url, authorHandle: qualifyAcct(s.reblog.account.acct, s.reblog.account.url), uri: s.reblog.uri },
    };
  }
  const content = htmlToText(s.content);
  const links: string[] = [];
  const $ = cheerio.load(s.content, null, false);
  $('a[href]').each((_, a) => {
    const el = $(a);
    const cls = el.attr('class') ?? '';
    if (/\b(mention|hashtag)\b/.test(cls) || el.attr('rel') === 'tag') return;
    const href = el.attr('href')!;
    try {
      const u = new URL(href, pageUrl).href;
      if (!links.includes(u)) links.push(u);
    } catch {
      // not a URL: skip
    }
  });
  const sources: Partial<Record<PostField, PostSource>> = {};
  for (const f of ['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'replyTo', 'quoteOf', 'repostOf', 'engagement'] as const) sources[f] = 'api-json';
  const quoted = s.quote?.quoted_status ?? null;
  const cw = (s.spoiler_text ?? '') !== '' || s.sensitive === true ? { summary: s.spoiler_text || null, sensitive: s.sensitive ?? null } : null;
  if (cw) sources.contentWarning = 'api-json';
  const poll = s.poll
    ? {
        multiple: s.poll.multiple,
        options: s.poll.options.map((o) => ({ title: o.title, votes: o.votes_count })),
        votersCount: s.poll.voters_count,
        endTime: publishedTime(s.poll.expires_at),
        closed: s.poll.expired ? publishedTime(s.poll.expires_at) : null,
      }
    : null;
  if (poll) sources.poll = 'api-json';
  const host = (() => {
    try {
      return new URL(pageUrl).host;
    } catch {
      return null;
    }
  })();
  return {
    id: s.id,
    url: s.url ?? s.uri,
    uri: s.uri,
    author: { id: s.account.id, handle: qualifyAcct(s.account.acct, s.account.url, host), displayName: s.account.display_name || null, profileUrl: s.account.url },
    published: publishedTime(s.created_at),
    text: { content, html: s.content, language: s.language, direction: textDirection(content) },
    media: s.media_attachments.map((m) => ({
      type: MEDIA_TYPES[m.type] ?? 'other',
      sourceUrl: m.url,
      artifact: null,
      assembledArtifact: null,
      width: m.meta?.original?.width ?? null,
      height: m.meta?.original?.height ?? null,
      durationSeconds: m.meta?.original?.duration ?? null,
      alt: m.description,
      flags: [],
    })),
    links,
    mentions: s.mentions.map((m) => ({ handle: qualifyAcct(m.acct, m.url, host), id: m.id, url: m.url })),
    hashtags: s.tags.map((t) => t.name),
    replyTo: s.in_reply_to_id ? { id: s.in_reply_to_id, url: null, authorHandle: replyAuthor(s, host) } : null,
    quoteOf: quoted ? { id: quoted.id, url: quoted.url, authorHandle: qualifyAcct(quoted.account.acct, quoted.account.url, host), uri: quoted.uri } : null,
    repostOf: null,
    engagement: {
      readAt,
      counts: {
        replies: exactCount(s.replies_count),
        reposts: exactCount(s.reblogs_count),
        likes: exactCount(s.favourites_count),
        ...(typeof s.quotes_count === 'number' ? { quotes: exactCount(s.quotes_count) } : {}),
      },
    },
    sources,
    ...(cw ? { contentWarning: cw } : {}),
    ...(poll ? { poll } : {}),
  };
}

/** The replied-to account's handle, when the status names it: itself (a self-reply) or one of its mentions. */
function replyAuthor(s: MastoStatus, host: string | null): string | null {
  const id = s.in_reply_to_account_id;
  if (!id) return null;
  if (id === s.account.id) return qualifyAcct(s.account.acct, s.account.url, host);
  const m = s.mentions.find((x) => x.id === id);
  return m ? qualifyAcct(m.acct, m.url, host) : null;
}

/** Fill reply references from the statuses of the same thread response (URL, ActivityPub id, author). */
function linkReplies(posts: Post[], thread: readonly MastoStatus[], host: string | null): void {
  const byId = new Map(thread.map((t) => [t.id, t]));
  for (const p of posts) {
    const parent = p.replyTo?.id ? byId.get(p.replyTo.id) : undefined;
    if (!p.replyTo || !parent) continue;
    p.replyTo = { id: parent.id, url: parent.url ?? parent.uri, authorHandle: qualifyAcct(parent.account.acct, parent.account.url, host), uri: parent.uri };
  }
}

/** A Mastodon Account entity as a profile; every field from `api-json`. */
export function accountToProfile(a: MastoAccount, readAt: string, pageUrl: string): Profile {
  const counts: Profile['counts'] = {};
  if (typeof a.statuses_count === 'number') counts.posts = exactCount(a.statuses_count);
  if (typeof a.followers_count === 'number') counts.followers = exactCount(a.followers_count);
  if (typeof a.following_count === 'number') counts.following = exactCount(a.following_count);
  const description = a.note ? htmlToText(a.note) : null;
  const sources: Profile['sources'] = { id: 'api-json', handle: 'api-json', displayName: 'api-json' };
  if (description !== null) sources.description = 'api-json';
  if (a.avatar) sources.avatar = 'api-json';
  if (Object.keys(counts).length) sources.counts = 'api-json';
  let host: string | null = null;
  try {
    host = new URL(pageUrl).host;
  } catch {
    // keep null
  }
  return {
    kind: 'account',
    id: a.id,
    handle: qualifyAcct(a.acct, a.url, host),
    displayName: a.display_name || null,
    description,
    descriptionHtml: a.note ?? null,
    avatarUrl: a.avatar ?? null,
    url: a.url,
    counts,
    readAt,
    sources,
  };
}

function isAccount(v: unknown): v is MastoAccount {
  const a = v as MastoAccount | null;
  return !!a && typeof a === 'object' && typeof a.id === 'string' && typeof a.acct === 'string';
}

const lookupMatch = (acct: string) => (u: URL): boolean => u.pathname === '/api/v1/accounts/lookup' && (u.searchParams.get('acct') ?? '').toLowerCase() === acct.toLowerCase();
const accountStatusesMatch = (id: string) => (u: URL): boolean => u.pathname === `/api/v1/accounts/${id}/statuses`;
const tagTimelineMatch = (tag: string) => (u: URL): boolean => {
  try {
    return decodeURIComponent(u.pathname).normalize('NFC').toLowerCase() === `/api/v1/timelines/tag/${tag}`.normalize('NFC').toLowerCase();
  } catch {
    return false;
  }
};

function apiUrl(page: URL, id: string, suffix = ''): string {
  return new URL(`/api/v1/statuses/${id}${suffix}`, page).href;
}

/** The ActivityPub id the page advertises (`<link rel="alternate" type="application/activity+json">`). */
async function activityPubUrl(view: RecordedView): Promise<string | null> {
  const html = await view.servedHtml('dom');
  if (!html) return null;
  const href = cheerio.load(html)('link[rel="alternate"][type="application/activity+json"]').attr('href');
  return href ? new URL(href, view.pageUrl).href : null;
}

export const mastodonSpec: PlatformSpec<MastodonOptions> = {
  id: 'mastodon',
  version: '1.0.0',
  platform: 'mastodon',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread', 'profile'],
  configSchema: MastodonOptions,
  // Servers in "authorized fetch"/limited mode answer the status API only to signed-in users.
  accountHelps: ['login-wall'],
  matches: (url, o) => hostIn(url, o.hosts) && (parseMastodonUrl(url) !== null || parseMastodonListUrl(url) !== null),
  async onPage(page, target, o) {
    const list = parseMastodonListUrl(target);
    if (list) return onListPage(page, target, list);
    const { id } = parseMastodonUrl(target)!;
    await page.waitForNetworkQuiet();
    let view = page.view();
    // The app normally fetched these; if its script did not run, ask for them the way it would.
    for (const u of [apiUrl(target, id), apiUrl(target, id, '/context')]) if (!view.last(u)) await page.fetch(u, { purpose: 'status JSON the web app reads', headers: { Accept: 'application/json' } });
    view = page.view();
    if (o.activityPub) {
      const ap = await activityPubUrl(view);
      if (ap) await page.fetch(ap, { purpose: 'ActivityPub Note (Accept: application/activity+json)', headers: { Accept: 'application/activity+json' } });
    }
    // Original-size media: the app shows `preview_url`; the evidence is `url`.
    const statusEx = view.last(apiUrl(target, id));
    const contextEx = view.last(apiUrl(target, id, '/context'));
    const urls: string[] = [];
    const s = statusEx?.status === 200 ? await view.json(statusEx) : null;
    if (isStatus(s)) urls.push(...s.media_attachments.map((m) => m.url));
    const c = contextEx?.status === 200 ? await view.json<{ descendants?: unknown[] }>(contextEx) : null;
    for (const d of c?.descendants ?? []) if (isStatus(d)) urls.push(...d.media_attachments.map((m) => m.url));
    await page.ensureRecorded(urls, 'original-size media named by the status JSON');
  },
  async extract({ view, observedAt }, target) {
    const list = parseMastodonListUrl(target);
    if (list) return extractList(view, observedAt, target, list);
    const { id } = parseMastodonUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const pageHttp = observeHttpStatus(main, 'the Mastodon server');
    if (pageHttp) return { visibility: pageHttp, post: null };
    const statusEx = view.last(apiUrl(target, id));
    if (!statusEx) return { visibility: notRecognised('the status API was never answered', [signal('api-json', null, `no response recorded for ${apiUrl(target, id)}`)], main.status), post: null };
    const body = await view.json<Record<string, unknown>>(statusEx);
    const apiHttp = observeHttpStatus(statusEx, 'the Mastodon API');
    if (apiHttp) {
      const err = typeof body?.error === 'string' ? body.error : null;
      if (err) apiHttp.signals.push(signal('api-json', statusEx, `error: ${err}`));
      if (apiHttp.state === 'unavailable' && statusEx.status === 401) apiHttp.state = 'login-wall';
      return { visibility: apiHttp, post: null };
    }
    if (!isStatus(body)) return { visibility: notRecognised('the status API answered, but not with a Mastodon status', [signal('api-json', statusEx, `HTTP ${statusEx.status}`)], statusEx.status), post: null };
    const post = statusToPost(body, observedAt, view.pageUrl);
    const ap = await activityPubUrl(view);
    const note = ap ? view.last(ap) : null;
    if (note?.status === 200) {
      const n = await view.json<{ id?: string; type?: string }>(note);
      if (n?.type === 'Note' && typeof n.id === 'string' && n.id !== post.uri) post.uri = n.id;
    }
    const replies: Post[] = [];
    const contextEx = view.last(apiUrl(target, id, '/context'));
    const ctxJson = contextEx?.status === 200 ? await view.json<{ ancestors?: unknown[]; descendants?: unknown[] }>(contextEx) : null;
    const descendants = (ctxJson?.descendants ?? []).filter(isStatus);
    for (const d of descendants) replies.push(statusToPost(d, observedAt, view.pageUrl));
    linkReplies([post, ...replies], [body, ...(ctxJson?.ancestors ?? []).filter(isStatus), ...descendants], new URL(view.pageUrl).host);
    const quoted = body.quote?.quoted_status ? statusToPost(body.quote.quoted_status, observedAt, view.pageUrl) : null;
    return { visibility: visible([signal('api-json', statusEx, `HTTP ${statusEx.status}: status ${body.id}`)], statusEx.status), post, replies, quoted };
  },
};

type ListTarget = NonNullable<ReturnType<typeof parseMastodonListUrl>>;

/** The API responses the web app reads for a list page; asked for when its script did not. */
async function onListPage(page: PlatformPage, target: URL, list: ListTarget): Promise<void> {
  await page.waitForNetworkQuiet();
  let view = page.view();
  let statusesUrl: string | null = null;
  if (list.kind === 'profile') {
    const lookup = new URL(`/api/v1/accounts/lookup?acct=${encodeURIComponent(list.acct)}`, target).href;
    if (!view.last(lookupMatch(list.acct))) await page.fetch(lookup, { purpose: 'the account the profile page shows (the web app reads it)', headers: { Accept: 'application/json' } });
    view = page.view();
    const ex = view.last(lookupMatch(list.acct));
    const a = ex?.status === 200 ? await view.json(ex) : null;
    if (isAccount(a) && !view.last(accountStatusesMatch(a.id))) statusesUrl = new URL(`/api/v1/accounts/${a.id}/statuses?exclude_replies=true`, target).href;
  } else if (!view.last(tagTimelineMatch(list.tag))) statusesUrl = new URL(`/api/v1/timelines/tag/${encodeURIComponent(list.tag)}`, target).href;
  if (statusesUrl) await page.fetch(statusesUrl, { purpose: 'the statuses the list page shows (the web app reads them)', headers: { Accept: 'application/json' } });
  view = page.view();
  const ex = await listExchange(view, list);
  const items = ex?.status === 200 ? await view.json<unknown[]>(ex) : null;
  const urls: string[] = [];
  for (const st of Array.isArray(items) ? items : []) if (isStatus(st)) urls.push(...(st.reblog ?? st).media_attachments.map((m) => m.url));
  await page.ensureRecorded(urls, 'original-size media named by the list JSON');
}

async function listExchange(view: RecordedView, list: ListTarget): Promise<ReturnType<RecordedView['last']>> {
  if (list.kind === 'tag') return view.last(tagTimelineMatch(list.tag));
  const lookup = view.last(lookupMatch(list.acct));
  const a = lookup?.status === 200 ? await view.json(lookup) : null;
  return isAccount(a) ? view.last(accountStatusesMatch(a.id)) : null;
}

/** A profile or hashtag timeline: every status it shows as `replies` (`post` null), the account as `profile`. */
async function extractList(view: RecordedView, observedAt: string, target: URL, list: ListTarget): Promise<Extraction | null> {
  const main = view.mainDocument();
  if (!main || main.status === null) return null;
  const pageHttp = observeHttpStatus(main, 'the Mastodon server');
  if (pageHttp) return { visibility: pageHttp, post: null };
  let profile: Profile | null = null;
  if (list.kind === 'profile') {
    const lookup = view.last(lookupMatch(list.acct));
    // No answer, or not an account: nothing the server said, so no state is claimed: not-recognised (read the generic way, flagged for review).
    if (!lookup) return { visibility: notRecognised('the account lookup API was never answered', [signal('api-json', null, `no response recorded for /api/v1/accounts/lookup?acct=${list.acct}`)], main.status), post: null };
    const http = observeHttpStatus(lookup, 'the Mastodon API');
    if (http) return { visibility: http, post: null };
    const a = await view.json(lookup);
    if (!isAccount(a)) return { visibility: notRecognised('the account lookup API answered, but not with a Mastodon account', [signal('api-json', lookup, `HTTP ${lookup.status}`)], lookup.status), post: null };
    profile = accountToProfile(a, observedAt, view.pageUrl);
  }
  const ex = await listExchange(view, list);
  // A list not read is not an empty list (a watch would call every earlier item gone): not-recognised, never `visible` with no items.
  if (!ex) return { visibility: notRecognised(`the ${list.kind === 'tag' ? 'hashtag timeline' : 'account statuses'} API was never answered`, [signal('api-json', null, list.kind === 'tag' ? `no response recorded for /api/v1/timelines/tag/${list.tag}` : 'no /api/v1/accounts/<id>/statuses response recorded')], main.status), post: null, profile };
  const http = observeHttpStatus(ex, 'the Mastodon API');
  if (http) {
    if (http.state === 'unavailable' && ex.status === 401) http.state = 'login-wall';
    return { visibility: http, post: null, profile };
  }
  const items = await view.json<unknown[]>(ex);
  if (!Array.isArray(items)) return { visibility: notRecognised('the list API answered, but not with a list of statuses', [signal('api-json', ex, `HTTP ${ex.status}`)], ex.status), post: null, profile };
  const replies = items.filter(isStatus).map((st) => statusToPost(st, observedAt, view.pageUrl));
  return { visibility: visible([signal('api-json', ex, `HTTP ${ex.status}: ${replies.length} statuses`)], ex.status), post: null, replies, profile };
}

export const mastodonCollector = definePlatformCollector(mastodonSpec);
