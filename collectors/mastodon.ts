import * as cheerio from 'cheerio';
import { z } from 'zod';
import type { Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import { exactCount, htmlToText, publishedTime, textDirection } from './platform/text.js';

/**
 * Mastodon and other servers speaking its API: `/@user/<id>` (also `/@user@domain/<id>` and
 * `/users/<user>/statuses/<id>`). The web app is a shell whose script fetches
 * `/api/v1/statuses/<id>` and `/context`; those recorded responses are the primary source
 * (`api-json`). The collector also asks for the ActivityPub `Note` (`Accept: application/activity+json`)
 * and the original-size media, through the same recorded browser context.
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

interface MastoAccount {
  id: string;
  username: string;
  acct: string;
  display_name: string;
  url: string;
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
}

function isStatus(v: unknown): v is MastoStatus {
  const s = v as MastoStatus | null;
  return !!s && typeof s === 'object' && typeof s.id === 'string' && typeof s.content === 'string' && typeof s.account === 'object';
}

const MEDIA_TYPES: Record<string, PostMedia['type']> = { image: 'image', video: 'video', gifv: 'gif', audio: 'audio' };

/** A Mastodon Status entity as a Post; every field from `api-json`. */
export function statusToPost(s: MastoStatus, readAt: string, pageUrl: string): Post {
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
  return {
    id: s.id,
    url: s.url ?? s.uri,
    uri: s.uri,
    author: { id: s.account.id, handle: s.account.acct, displayName: s.account.display_name || null, profileUrl: s.account.url },
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
    mentions: s.mentions.map((m) => ({ handle: m.acct, id: m.id, url: m.url })),
    hashtags: s.tags.map((t) => t.name),
    replyTo: s.in_reply_to_id ? { id: s.in_reply_to_id, url: null, authorHandle: null } : null,
    quoteOf: quoted ? { id: quoted.id, url: quoted.url, authorHandle: quoted.account.acct } : null,
    repostOf: s.reblog ? { id: s.reblog.id, url: s.reblog.url, authorHandle: s.reblog.account.acct } : null,
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
  };
}

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
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: MastodonOptions,
  // Servers in "authorized fetch"/limited mode answer the status API only to signed-in users.
  accountHelps: ['login-wall'],
  matches: (url, o) => hostIn(url, o.hosts) && parseMastodonUrl(url) !== null,
  async onPage(page, target, o) {
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
    const ctxJson = contextEx?.status === 200 ? await view.json<{ descendants?: unknown[] }>(contextEx) : null;
    for (const d of ctxJson?.descendants ?? []) if (isStatus(d)) replies.push(statusToPost(d, observedAt, view.pageUrl));
    const quoted = body.quote?.quoted_status ? statusToPost(body.quote.quoted_status, observedAt, view.pageUrl) : null;
    return { visibility: visible([signal('api-json', statusEx, `HTTP ${statusEx.status}: status ${body.id}`)], statusEx.status), post, replies, quoted };
  },
};

export const mastodonCollector = definePlatformCollector(mastodonSpec);
