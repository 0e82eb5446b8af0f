import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { z } from 'zod';
import type { AuthorshipProof, Post, PostField, PostMedia, PostSource } from '../schemas/post.js';
import { definePlatformCollector, hostIn, type ExtractContext, type PlatformSpec } from './platform/capture-platform-page.js';
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
  replies?: ThreadNode[];
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

/** A post view from the appview as a Post; the text and facets are the signed record's. */
export function postViewToPost(p: PostView, readAt: string, webOrigin: string): Post {
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
  const quote = p.embed?.$type?.startsWith('app.bsky.embed.record') ? (p.embed.record as { uri?: string; author?: { handle?: string }; record?: { uri?: string } } | undefined) : undefined;
  const quoteUri = quote?.uri ?? quote?.record?.uri;
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
    replyTo: parent ? { id: rkeyOf(parent), url: null, authorHandle: null } : null,
    quoteOf: quoteUri ? { id: rkeyOf(quoteUri), url: null, authorHandle: quote?.author?.handle ?? null } : null,
    repostOf: null,
    engagement: { readAt, counts: { replies: exactCount(p.replyCount ?? 0), reposts: exactCount(p.repostCount ?? 0), likes: exactCount(p.likeCount ?? 0), quotes: exactCount(p.quoteCount ?? 0) } },
    sources,
  };
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
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread'],
  configSchema: BlueskyOptions,
  matches: (url, o) => hostIn(url, o.hosts) && parseBlueskyUrl(url) !== null,
  async onPage(page, target, o) {
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
    const post = postViewToPost(thread.post, observedAt, origin);
    const replies: Post[] = [];
    const walk = (n: ThreadNode): void => {
      for (const r of n.replies ?? []) {
        if (r.post) replies.push(postViewToPost(r.post, observedAt, origin));
        walk(r);
      }
    };
    walk(thread);
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
    return { visibility, post, replies, proof };
  },
};

export const blueskyCollector = definePlatformCollector(blueskySpec);
