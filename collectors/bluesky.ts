import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { z } from 'zod';
import type { AuthorshipProof, Post, PostField, PostMedia, PostRef, PostSource, Profile } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type ExtractContext, type Extraction, type PlatformPage, type PlatformSpec } from './platform/capture-platform-page.js';
import { notRecognised, observe, observeHttpStatus, signal, visible } from './platform/honest-state.js';
import type { RecordedView } from './platform/recorded.js';
import { exactCount, publishedTime, textDirection } from './platform/text.js';

/**
 * Bluesky: `bsky.app/profile/<handle|did>/post/<rkey>`. The web app reads the thread from the
 * public appview (`app.bsky.feed.getPostThread`), recorded as `api-json`. For authorship the
 * collector also records the DID document (plc.directory or did:web) and the record with its
 * signed repo commit from the author's PDS (`com.atproto.sync.getRecord`, a CAR), keeps both as
 * artifacts and checks the commit signature with @atproto/repo.
 */

export const BlueskyOptions = z.object({
  /** Hosts of the web app (host[:port]). @defaultValue `["bsky.app"]` */
  hosts: z.array(z.string().min(1)).default(['bsky.app']),
  /** Public appview used when the page did not fetch the thread itself. @defaultValue `https://public.api.bsky.app` */
  appview: z.string().url().default('https://public.api.bsky.app'),
  /** PLC directory for `did:plc` documents. @defaultValue `https://plc.directory` */
  plc: z.string().url().default('https://plc.directory'),
  /** Record the DID document and the signed record CAR, and verify the commit signature. @defaultValue true */
  proof: z.boolean().default(true),
});
export type BlueskyOptions = z.infer<typeof BlueskyOptions>;

export function parseBlueskyUrl(url: URL): { actor: string; rkey: string } | null {
  const m = /^\/profile\/([^/]+)\/post\/([a-z0-9]{2,64})\/?$/i.exec(url.pathname);
  return m ? { actor: decodeURIComponent(m[1]!), rkey: m[2]! } : null;
}

interface Facet {
  index: { byteStart: number; byteEnd: number };
  features: Array<{ $type: string; uri?: string; did?: string; tag?: string }>;
}
interface BskyRecord {
  text?: string;
  langs?: string[];
  createdAt?: string;
  facets?: Facet[];
  reply?: { parent?: { uri: string } };
}
interface PostView {
  uri: string;
  cid: string;
  author: { did: string; handle: string; displayName?: string; labels?: Array<{ val: string }> };
  record: BskyRecord;
  embed?: { $type: string; images?: Array<{ fullsize: string; alt?: string; aspectRatio?: { width: number; height: number } }>; playlist?: string; alt?: string; aspectRatio?: { width: number; height: number }; record?: { uri?: string; author?: { handle?: string } }; media?: PostView['embed'] };
  replyCount?: number;
  repostCount?: number;
  likeCount?: number;
  quoteCount?: number;
  labels?: Array<{ val: string }>;
}
interface ThreadNode {
  $type?: string;
  post?: PostView;
  parent?: ThreadNode;
  replies?: ThreadNode[];
}
/** `app.bsky.embed.record#viewRecord`: the quoted post as the appview embeds it. */
interface ViewRecord {
  uri: string;
  cid?: string;
  author?: { did: string; handle: string; displayName?: string };
  value?: BskyRecord;
  embeds?: Array<PostView['embed']>;
  indexedAt?: string;
}
/** `app.bsky.feed.defs#feedViewPost`: a feed item; `reason` says a repost brought it. */
interface FeedViewPost {
  post: PostView;
  reason?: { $type: string; by?: { did: string; handle: string; displayName?: string }; uri?: string; indexedAt?: string };
}

const THREAD = /\/xrpc\/app\.bsky\.feed\.getPostThread\?/;
/** Labels that hide a post from logged-out visitors as adult content. */
const ADULT = new Set(['porn', 'sexual', 'nudity']);

const rkeyOf = (uri: string): string => uri.split('/').pop() ?? uri;

function media(embed: PostView['embed']): PostMedia[] {
  if (!embed) return [];
  const base = { artifact: null, assembledArtifact: null, durationSeconds: null, flags: [] };
  if (embed.images) return embed.images.map((i) => ({ ...base, type: 'image' as const, sourceUrl: i.fullsize, width: i.aspectRatio?.width ?? null, height: i.aspectRatio?.height ?? null, alt: i.alt ?? null }));
  if (embed.playlist) return [{ ...base, type: 'video', sourceUrl: embed.playlist, width: embed.aspectRatio?.width ?? null, height: embed.aspectRatio?.height ?? null, alt: embed.alt ?? null }];
  return embed.media ? media(embed.media) : [];
}

/** `app.bsky.embed.record#viewRecord` of a quote: inside `record#view`, or `recordWithMedia#view`'s `record.record`. */
function quotedRecord(embed: PostView['embed']): ViewRecord | null {
  if (!embed?.$type) return null;
  const outer = embed.$type.startsWith('app.bsky.embed.recordWithMedia') ? (embed.record as { record?: unknown } | undefined)?.record : embed.$type.startsWith('app.bsky.embed.record') ? embed.record : null;
  const r = outer as ViewRecord | null | undefined;
  return r && typeof r.uri === 'string' ? r : null;
}

/**
 * A reference to another post: its full `at://` URI, its bsky.app URL (under the handle when known,
 * else the DID, which bsky.app also resolves), the rkey as id, and the author's handle when the
 * appview named it.
 */
export function atRef(uri: string, handle: string | null, webOrigin: string): PostRef {
  const m = /^at:\/\/([^/]+)\/app\.bsky\.feed\.post\/([^/?#]+)$/.exec(uri);
  return { id: rkeyOf(uri), uri, url: m ? `${webOrigin}/profile/${handle ?? m[1]!}/post/${m[2]!}` : null, authorHandle: handle };
}

/**
 * A post view from the appview as a Post; the text and facets are the signed record's. `handles`
 * maps post URIs seen elsewhere in the same response (a thread's parent) to their author's handle.
 */
export function postViewToPost(p: PostView, readAt: string, webOrigin: string, handles?: ReadonlyMap<string, string>): Post {
  const text = p.record.text ?? '';
  const bytes = Buffer.from(text, 'utf8');
  const links: string[] = [];
  const mentions: Post['mentions'] = [];
  const hashtags: string[] = [];
  for (const f of p.record.facets ?? []) {
    const span = bytes.subarray(f.index.byteStart, f.index.byteEnd).toString('utf8');
    for (const feat of f.features) {
      if (feat.$type === 'app.bsky.richtext.facet#link' && feat.uri) links.push(feat.uri);
      else if (feat.$type === 'app.bsky.richtext.facet#mention' && feat.did) mentions.push({ handle: span.replace(/^@/, ''), id: feat.did, url: `${webOrigin}/profile/${feat.did}` });
      else if (feat.$type === 'app.bsky.richtext.facet#tag' && feat.tag) hashtags.push(feat.tag);
    }
  }
  const quote = quotedRecord(p.embed);
  const sources: Partial<Record<PostField, PostSource>> = {};
  for (const f of ['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'replyTo', 'quoteOf', 'engagement'] as const) sources[f] = 'api-json';
  const parent = p.record.reply?.parent?.uri;
  return {
    id: rkeyOf(p.uri),
    url: `${webOrigin}/profile/${p.author.handle}/post/${rkeyOf(p.uri)}`,
    uri: p.uri,
    author: { id: p.author.did, handle: p.author.handle, displayName: p.author.displayName ?? null, profileUrl: `${webOrigin}/profile/${p.author.handle}` },
    published: publishedTime(p.record.createdAt),
    text: { content: text, html: null, language: p.record.langs?.[0] ?? null, direction: textDirection(text) },
    media: media(p.embed),
    links,
    mentions,
    hashtags,
    replyTo: parent ? atRef(parent, handles?.get(parent) ?? null, webOrigin) : null,
    quoteOf: quote ? atRef(quote.uri, quote.author?.handle ?? null, webOrigin) : null,
    repostOf: null,
    engagement: { readAt, counts: { replies: exactCount(p.replyCount ?? 0), reposts: exactCount(p.repostCount ?? 0), likes: exactCount(p.likeCount ?? 0), quotes: exactCount(p.quoteCount ?? 0) } },
    sources,
  };
}

/** The quoted post as the appview embeds it (`viewRecord`: its record `value` and its own embeds), as a Post. */
export function viewRecordToPost(r: ViewRecord, readAt: string, webOrigin: string): Post | null {
  if (!r.author || !r.value) return null;
  const v = r as ViewRecord & { replyCount?: number; repostCount?: number; likeCount?: number; quoteCount?: number };
  return postViewToPost({ uri: r.uri, cid: r.cid ?? '', author: r.author, record: r.value, ...(r.embeds?.[0] ? { embed: r.embeds[0] } : {}), replyCount: v.replyCount, repostCount: v.repostCount, likeCount: v.likeCount, quoteCount: v.quoteCount } as PostView, readAt, webOrigin);
}

/**
 * A feed item (`feedViewPost`) as a Post. A repost (`reason` `#reasonRepost`) is the reposter's
 * item: author = who reposted, `repostOf` = the post (full `at://` URI, bsky.app URL, its author's
 * handle), text and media = the post's. Its id is the repost record's rkey when the appview names
 * it, else `<rkey>:repost:<did>` (stable for the watch diff).
 */
export function feedItemToPost(item: FeedViewPost, readAt: string, webOrigin: string): Post {
  const post = postViewToPost(item.post, readAt, webOrigin);
  const by = item.reason?.$type === 'app.bsky.feed.defs#reasonRepost' ? item.reason.by : undefined;
  if (!by) return post;
  return {
    ...post,
    id: item.reason!.uri ? rkeyOf(item.reason!.uri) : `${post.id}:repost:${by.did}`,
    url: null,
    uri: item.reason!.uri ?? null,
    author: { id: by.did, handle: by.handle, displayName: by.displayName ?? null, profileUrl: `${webOrigin}/profile/${by.handle}` },
    published: publishedTime(item.reason!.indexedAt),
    repostOf: atRef(item.post.uri, item.post.author.handle, webOrigin),
    sources: { ...post.sources, repostOf: 'api-json' },
  };
}

interface ActorProfile {
  did: string;
  handle: string;
  displayName?: string;
  description?: string;
  avatar?: string;
  followersCount?: number;
  followsCount?: number;
  postsCount?: number;
}

/** `app.bsky.actor.defs#profileViewDetailed` as a profile; every field from `api-json`. */
export function actorToProfile(a: ActorProfile, readAt: string, webOrigin: string): Profile {
  const counts: Profile['counts'] = {};
  if (typeof a.postsCount === 'number') counts.posts = exactCount(a.postsCount);
  if (typeof a.followersCount === 'number') counts.followers = exactCount(a.followersCount);
  if (typeof a.followsCount === 'number') counts.following = exactCount(a.followsCount);
  const sources: Profile['sources'] = { id: 'api-json', handle: 'api-json' };
  if (a.displayName) sources.displayName = 'api-json';
  if (a.description) sources.description = 'api-json';
  if (a.avatar) sources.avatar = 'api-json';
  if (Object.keys(counts).length) sources.counts = 'api-json';
  return { kind: 'account', id: a.did, handle: a.handle, displayName: a.displayName ?? null, description: a.description ?? null, descriptionHtml: null, avatarUrl: a.avatar ?? null, url: `${webOrigin}/profile/${a.handle}`, counts, readAt, sources };
}

/** A list page: a profile, a post's quotes, or a search. */
export type BlueskyList = { kind: 'profile'; actor: string } | { kind: 'quotes'; actor: string; rkey: string } | { kind: 'search'; q: string };

export function parseBlueskyListUrl(url: URL): BlueskyList | null {
  const q = /^\/profile\/([^/]+)\/post\/([a-z0-9]{2,64})\/quotes\/?$/i.exec(url.pathname);
  if (q) return { kind: 'quotes', actor: decodeURIComponent(q[1]!), rkey: q[2]! };
  const p = /^\/profile\/([^/]+)\/?$/.exec(url.pathname);
  if (p) return { kind: 'profile', actor: decodeURIComponent(p[1]!) };
  if (/^\/search\/?$/.test(url.pathname) && (url.searchParams.get('q') ?? '').trim() !== '') return { kind: 'search', q: url.searchParams.get('q')! };
  return null;
}

const xrpc = (method: string) => (u: URL): boolean => u.pathname === `/xrpc/${method}`;
const listApi = (list: BlueskyList): { method: string; match: (u: URL) => boolean } => {
  if (list.kind === 'profile') return { method: 'app.bsky.feed.getAuthorFeed', match: (u) => xrpc('app.bsky.feed.getAuthorFeed')(u) && u.searchParams.get('actor') !== null };
  if (list.kind === 'quotes') return { method: 'app.bsky.feed.getQuotes', match: (u) => xrpc('app.bsky.feed.getQuotes')(u) && (u.searchParams.get('uri') ?? '').endsWith(`/app.bsky.feed.post/${list.rkey}`) };
  return { method: 'app.bsky.feed.searchPosts', match: (u) => xrpc('app.bsky.feed.searchPosts')(u) && u.searchParams.get('q') === list.q };
};

async function onListPage(page: PlatformPage, list: BlueskyList, o: BlueskyOptions): Promise<void> {
  await page.waitForNetworkQuiet();
  const view = page.view();
  const api = listApi(list);
  const base = o.appview.replace(/\/$/, '');
  if (list.kind === 'profile' && !view.last(xrpc('app.bsky.actor.getProfile'))) await page.fetch(`${base}/xrpc/app.bsky.actor.getProfile?actor=${encodeURIComponent(list.actor)}`, { purpose: 'the profile the page shows (the web app reads it)' });
  if (view.last(api.match)) return;
  let url: string | null = null;
  if (list.kind === 'profile') url = `${base}/xrpc/app.bsky.feed.getAuthorFeed?actor=${encodeURIComponent(list.actor)}&filter=posts_and_author_threads&limit=30`;
  else if (list.kind === 'search') url = `${base}/xrpc/app.bsky.feed.searchPosts?q=${encodeURIComponent(list.q)}&limit=25`;
  else {
    let did = list.actor.startsWith('did:') ? list.actor : null;
    if (!did) {
      const r = await page.fetch(`${base}/xrpc/com.atproto.identity.resolveHandle?handle=${encodeURIComponent(list.actor)}`, { purpose: 'resolve the handle to a DID' });
      did = r.body ? ((JSON.parse(r.body.toString('utf8')) as { did?: string }).did ?? null) : null;
    }
    if (did) url = `${base}/xrpc/app.bsky.feed.getQuotes?uri=${encodeURIComponent(`at://${did}/app.bsky.feed.post/${list.rkey}`)}&limit=30`;
  }
  if (url) await page.fetch(url, { purpose: `the list the page shows (${api.method}, as the web app reads it)` });
}

/** A list page: every item it shows as `replies` (`post` null); for a profile, the account as `profile`. */
async function extractList(view: RecordedView, observedAt: string, target: URL, list: BlueskyList): Promise<Extraction | null> {
  const main = view.mainDocument();
  if (!main || main.status === null) return null;
  const pageHttp = observeHttpStatus(main, 'bsky.app');
  if (pageHttp) return { visibility: pageHttp, post: null };
  const origin = target.origin;
  let profile: Profile | null = null;
  if (list.kind === 'profile') {
    const pex = view.last(xrpc('app.bsky.actor.getProfile'));
    const a = pex?.status === 200 ? await view.json<ActorProfile>(pex) : null;
    if (a && typeof a.did === 'string' && typeof a.handle === 'string') profile = actorToProfile(a, observedAt, origin);
  }
  const api = listApi(list);
  const ex = view.last(api.match);
  // No list answer, or not a list: nothing the platform said, and a list not read is not an empty list
  // (a watch would call every earlier item gone): not-recognised, never `visible` with no items.
  if (!ex) return { visibility: notRecognised(`the list was never fetched from the appview (${api.method})`, [signal('api-json', null, `no ${api.method} response recorded`)], main.status), post: null, profile };
  const http = observeHttpStatus(ex, 'the Bluesky appview');
  if (http) return { visibility: http, post: null, profile };
  const body = await view.json<{ feed?: FeedViewPost[]; posts?: PostView[] }>(ex);
  const replies: Post[] = [];
  if (Array.isArray(body?.feed)) for (const item of body.feed) if (item?.post?.uri) replies.push(feedItemToPost(item, observedAt, origin));
  if (Array.isArray(body?.posts)) for (const p of body.posts) if (p?.uri && p.author && p.record) replies.push(postViewToPost(p, observedAt, origin));
  if (!Array.isArray(body?.feed) && !Array.isArray(body?.posts)) return { visibility: notRecognised(`the appview answered ${api.method}, but not with a list`, [signal('api-json', ex, `HTTP ${ex.status}`)], ex.status), post: null, profile };
  return { visibility: visible([signal('api-json', ex, `HTTP ${ex.status}: ${api.method} with ${replies.length} items`)], ex.status), post: null, replies, profile };
}

function didDocUrl(did: string, o: BlueskyOptions): string | null {
  if (did.startsWith('did:plc:')) return `${o.plc.replace(/\/$/, '')}/${did}`;
  if (did.startsWith('did:web:')) return `https://${decodeURIComponent(did.slice(8))}/.well-known/did.json`;
  return null;
}

interface DidDoc {
  id?: string;
  alsoKnownAs?: string[];
  verificationMethod?: Array<{ id: string; type: string; publicKeyMultibase?: string }>;
  service?: Array<{ id: string; type: string; serviceEndpoint: string }>;
}

function pdsOf(doc: DidDoc): string | null {
  const s = doc.service?.find((x) => x.id === '#atproto_pds' || x.id.endsWith('#atproto_pds'));
  return s && typeof s.serviceEndpoint === 'string' ? s.serviceEndpoint.replace(/\/$/, '') : null;
}

function atprotoKey(doc: DidDoc): string | null {
  const vm = doc.verificationMethod?.find((x) => x.id.endsWith('#atproto'));
  return vm?.type === 'Multikey' && vm.publicKeyMultibase ? `did:key:${vm.publicKeyMultibase}` : null;
}

const getRecordUrl = (pds: string, did: string, rkey: string): string => `${pds}/xrpc/com.atproto.sync.getRecord?did=${encodeURIComponent(did)}&collection=app.bsky.feed.post&rkey=${encodeURIComponent(rkey)}`;

function repoLibVersion(): string {
  try {
    const entry = createRequire(import.meta.url).resolve('@atproto/repo');
    let dir = path.dirname(entry);
    for (let i = 0; i < 5 && path.basename(dir) !== 'repo'; i++) dir = path.dirname(dir);
    return (JSON.parse(require_(path.join(dir, 'package.json'))) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
const require_ = (p: string): string => createRequire(import.meta.url)('node:fs').readFileSync(p, 'utf8') as string;

async function threadOf(view: RecordedView, rkey: string): Promise<{ ex: ReturnType<RecordedView['last']>; body: Record<string, unknown> | null }> {
  const ex = view.last((u) => THREAD.test(u.href) && (u.searchParams.get('uri') ?? '').endsWith(`/app.bsky.feed.post/${rkey}`));
  return { ex, body: ex ? await view.json<Record<string, unknown>>(ex) : null };
}

/** Verify the recorded CAR against the DID document: commit signed by the `#atproto` key, record CID at `app.bsky.feed.post/<rkey>`. */
export async function verifyAtprotoRecord(car: Uint8Array, did: string, didKey: string, rkey: string, cid: string, expectedText: string | null): Promise<{ verified: boolean; commitCid: string | null; message: string }> {
  let commitCid: string | null = null;
  try {
    // Loaded on first use: @atproto/repo and its codecs weigh ~17 MB in every worker otherwise.
    const [{ cborToLexRecord, readCarWithRoot, verifyProofs }, { CID }] = await Promise.all([import('@atproto/repo'), import('multiformats/cid')]);
    const { root, blocks } = await readCarWithRoot(car);
    commitCid = root.toString();
    const claim = { collection: 'app.bsky.feed.post', rkey, cid: CID.parse(cid) };
    const res = await verifyProofs(car, [claim as never], did, didKey);
    if (res.verified.length !== 1) return { verified: false, commitCid, message: `the signed repo does not hold record ${cid} at app.bsky.feed.post/${rkey}` };
    const bytes = blocks.get(claim.cid as never) as Uint8Array | undefined;
    const record = bytes ? (cborToLexRecord(bytes) as { text?: string }) : null;
    if (expectedText !== null && record?.text !== expectedText) return { verified: false, commitCid, message: 'the commit verifies, but the appview text differs from the signed record' };
    return { verified: true, commitCid, message: `commit ${commitCid} is signed by ${didKey} (the DID document's #atproto key) and holds record ${cid}` };
  } catch (err) {
    return { verified: false, commitCid, message: (err as Error).message };
  }
}

async function proofFor(ctx: ExtractContext, p: PostView, o: BlueskyOptions): Promise<AuthorshipProof | null> {
  const { view } = ctx;
  const method = `@atproto/repo ${repoLibVersion()} verifyProofs: commit signature against the DID document's #atproto key, MST path to the record CID`;
  const docUrl = didDocUrl(p.author.did, o);
  const base = { kind: 'atproto-repo-commit', signer: p.author.did, recordCid: p.cid, method };
  if (!docUrl) return { ...base, artifacts: {}, key: null, commitCid: null, verified: false, message: `no way to resolve ${p.author.did}` };
  const docEx = view.last(docUrl);
  const doc = docEx?.status === 200 ? await view.json<DidDoc>(docEx) : null;
  if (!doc) return { ...base, artifacts: {}, key: null, commitCid: null, verified: false, message: `the DID document was not recorded (${docEx ? `HTTP ${docEx.status}` : 'no response'} from ${docUrl})` };
  const artifacts: Record<string, string> = {};
  const docPath = await ctx.keepResponse(docUrl, 'proof/did.json', 'application/did+json');
  if (docPath) artifacts['did-document'] = docPath;
  const key = atprotoKey(doc);
  const pds = pdsOf(doc);
  if (doc.id !== p.author.did) return { ...base, artifacts, key, commitCid: null, verified: false, message: `the DID document is for ${doc.id ?? 'nobody'}, not ${p.author.did}` };
  if (!pds || !key) return { ...base, artifacts, key, commitCid: null, verified: false, message: 'the DID document names no #atproto Multikey or no #atproto_pds service' };
  const recUrl = getRecordUrl(pds, p.author.did, rkeyOf(p.uri));
  const recEx = view.last(recUrl);
  if (recEx?.status !== 200) return { ...base, artifacts, key, commitCid: null, verified: false, message: `the PDS answered ${recEx ? `HTTP ${recEx.status}` : 'nothing'} for the record` };
  const carPath = await ctx.keepResponse(recUrl, `proof/${rkeyOf(p.uri)}.car`, 'application/vnd.ipld.car');
  if (!carPath) return { ...base, artifacts, key, commitCid: null, verified: false, message: 'the record CAR was not recorded in full' };
  artifacts['record-car'] = carPath;
  const car = await readFile(path.join(ctx.spoolDir, carPath));
  const handleNote = doc.alsoKnownAs?.includes(`at://${p.author.handle}`) ? '' : `; the DID document does not list at://${p.author.handle}`;
  const r = await verifyAtprotoRecord(car, p.author.did, key, rkeyOf(p.uri), p.cid, p.record.text ?? null);
  return { ...base, artifacts, key, commitCid: r.commitCid, verified: r.verified, message: `${r.message}${handleNote}` };
}

export const blueskySpec: PlatformSpec<BlueskyOptions> = {
  id: 'bluesky',
  version: '1.0.0',
  platform: 'bluesky',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread', 'profile'],
  configSchema: BlueskyOptions,
  matches: (url, o) => hostIn(url, o.hosts) && (parseBlueskyUrl(url) !== null || parseBlueskyListUrl(url) !== null),
  async onPage(page, target, o) {
    const list = parseBlueskyListUrl(target);
    if (list) return onListPage(page, list, o);
    const { actor, rkey } = parseBlueskyUrl(target)!;
    await page.waitForNetworkQuiet();
    let { body } = await threadOf(page.view(), rkey);
    if (!body) {
      // The app did not load the thread: ask the appview the way the app would.
      let did = actor.startsWith('did:') ? actor : null;
      if (!did) {
        const r = await page.fetch(`${o.appview}/xrpc/com.atproto.identity.resolveHandle?handle=${encodeURIComponent(actor)}`, { purpose: 'resolve the handle to a DID' });
        did = r.body ? ((JSON.parse(r.body.toString('utf8')) as { did?: string }).did ?? null) : null;
      }
      if (did) await page.fetch(`${o.appview}/xrpc/app.bsky.feed.getPostThread?uri=${encodeURIComponent(`at://${did}/app.bsky.feed.post/${rkey}`)}&depth=10`, { purpose: 'the post thread the web app reads' });
      body = (await threadOf(page.view(), rkey)).body;
    }
    const thread = (body?.thread ?? null) as ThreadNode | null;
    if (!thread?.post) return;
    const urls: string[] = [];
    const walk = (n: ThreadNode): void => {
      for (const m of media(n.post?.embed)) if (m.type === 'image' && m.sourceUrl) urls.push(m.sourceUrl);
      for (const r of n.replies ?? []) walk(r);
    };
    walk(thread);
    await page.ensureRecorded(urls, 'full-size images named by the thread JSON');
    if (!o.proof) return;
    const docUrl = didDocUrl(thread.post.author.did, o);
    if (!docUrl) return;
    const doc = await page.fetch(docUrl, { purpose: "the author's DID document (signing key, PDS)" });
    if (doc.status !== 200 || !doc.body) return;
    const pds = pdsOf(JSON.parse(doc.body.toString('utf8')) as DidDoc);
    if (pds) await page.fetch(getRecordUrl(pds, thread.post.author.did, rkey), { purpose: 'the record and its signed repo commit (CAR) from the author PDS' });
  },
  async extract(ctx, target, o) {
    const { view, observedAt } = ctx;
    const list = parseBlueskyListUrl(target);
    if (list) return extractList(view, observedAt, target, list);
    const { rkey } = parseBlueskyUrl(target)!;
    const main = view.mainDocument();
    if (!main || main.status === null) return null;
    const pageHttp = observeHttpStatus(main, 'bsky.app');
    if (pageHttp) return { visibility: pageHttp, post: null };
    const { ex, body } = await threadOf(view, rkey);
    if (!ex) return { visibility: notRecognised('the thread was never fetched from the appview', [signal('api-json', null, 'no app.bsky.feed.getPostThread response recorded')], main.status), post: null };
    const err = typeof body?.error === 'string' ? body.error : null;
    if (err === 'NotFound') {
      return { visibility: observe('deleted', 'the appview answered NotFound: the record is not in the network index (the app shows it as a deleted or missing post)', [signal('api-json', ex, `HTTP ${ex.status}: error: NotFound${typeof body?.message === 'string' ? ` (${body.message})` : ''}`)], ex.status), post: null };
    }
    const http = observeHttpStatus(ex, 'the Bluesky appview');
    if (http) return { visibility: http, post: null };
    const thread = (body?.thread ?? null) as ThreadNode | null;
    if (!thread?.post) {
      // The appview's own words: #notFoundPost (deleted) and #blockedPost (not shown); any other answer is of an unknown shape.
      const type = thread?.$type ?? 'nothing';
      if (!/#(notFoundPost|blockedPost)$/.test(type)) return { visibility: notRecognised(`the appview answered without a post (thread.$type: ${type})`, [signal('api-json', ex, `HTTP ${ex.status}: thread.$type: ${type}`)], ex.status), post: null };
      const state = type.endsWith('#notFoundPost') ? 'deleted' : 'unavailable';
      return { visibility: observe(state, `the appview returned ${type} for the post`, [signal('api-json', ex, `thread.$type: ${type}`)], ex.status), post: null };
    }
    const origin = target.origin;
    // Handles of every post the thread response names (parents above, replies below), for reply references.
    const handles = new Map<string, string>();
    const collect = (n: ThreadNode | undefined, down: boolean): void => {
      if (!n) return;
      if (n.post) handles.set(n.post.uri, n.post.author.handle);
      if (!down) collect(n.parent, false);
      if (down) for (const r of n.replies ?? []) collect(r, true);
    };
    collect(thread.parent, false);
    collect(thread, true);
    const post = postViewToPost(thread.post, observedAt, origin, handles);
    const replies: Post[] = [];
    const walk = (n: ThreadNode): void => {
      for (const r of n.replies ?? []) {
        if (r.post) replies.push(postViewToPost(r.post, observedAt, origin, handles));
        walk(r);
      }
    };
    walk(thread);
    const q = quotedRecord(thread.post.embed);
    const quoted = q ? viewRecordToPost(q, observedAt, origin) : null;
    const proof = o.proof ? await proofFor(ctx, thread.post, o) : null;
    const authorLabels = (thread.post.author.labels ?? []).map((l) => l.val);
    const postLabels = (thread.post.labels ?? []).map((l) => l.val);
    let visibility = visible([signal('api-json', ex, `HTTP ${ex.status}: app.bsky.feed.defs#threadViewPost`)], ex.status);
    if (authorLabels.includes('!no-unauthenticated')) {
      visibility = observe('login-wall', "the author's profile carries the !no-unauthenticated label: the web app shows this post only to signed-in readers (the appview JSON recorded here still holds it)", [signal('api-json', ex, 'author.labels: !no-unauthenticated')], ex.status);
    } else if (postLabels.some((l) => ADULT.has(l))) {
      const found = postLabels.filter((l) => ADULT.has(l));
      visibility = observe('age-gated', `the post is labelled adult content (${found.join(', ')}): the web app does not show it to logged-out visitors (the appview JSON recorded here still holds it)`, [signal('api-json', ex, `post.labels: ${found.join(', ')}`)], ex.status);
    }
    return { visibility, post, replies, proof, quoted };
  },
};

export const blueskyCollector = definePlatformCollector(blueskySpec);
