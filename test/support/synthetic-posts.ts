/**
 * Test helper: synthetic post.json documents (schemas/post.ts) — accounts that post, mention, reply,
 * forward and reuse media — as in-memory `SealedPost`s for unit tests, or sealed into an evidence
 * store (with their media as artifacts) for integration tests. Deterministic from a seed, so the
 * same set can be generated at any size for scale tests.
 */
import { createHash } from 'node:crypto';
import type { Post, PostDocument, PostRef } from '../../schemas/post.js';
import { PostDocument as PostDocumentSchema } from '../../schemas/post.js';
import type { SealedPost } from '../../analysis/case-graph.js';
import type { ExtraArtifact } from './sealed-capture.js';

export interface SyntheticAuthor {
  id: string | null;
  handle: string | null;
  displayName: string | null;
}

export interface SyntheticMedia {
  /** Artifact name in the capture (`media/001-photo.jpg`). */
  name: string;
  bytes: Buffer;
  dhash?: string | null;
}

export interface SyntheticPostSpec {
  id: string;
  author: SyntheticAuthor | null;
  published?: string;
  text?: string;
  mentions?: Array<{ handle: string; id?: string | null }>;
  hashtags?: string[];
  links?: string[];
  replyTo?: PostRef | null;
  quoteOf?: PostRef | null;
  repostOf?: PostRef | null;
  media?: SyntheticMedia[];
}

export function syntheticPost(platform: string, s: SyntheticPostSpec): Post {
  return {
    id: s.id,
    url: `https://${platform}.example/${s.id}`,
    uri: null,
    author: s.author ? { ...s.author, profileUrl: null } : null,
    published: s.published ? { raw: s.published, utc: s.published } : null,
    text: s.text !== undefined ? { content: s.text, html: null, language: null, direction: null } : null,
    media: (s.media ?? []).map((m) => ({ type: 'image', sourceUrl: `https://cdn.${platform}.example/${m.name}`, artifact: m.name, assembledArtifact: null, width: 8, height: 8, durationSeconds: null, alt: null, flags: [] })),
    links: s.links ?? [],
    mentions: (s.mentions ?? []).map((m) => ({ handle: m.handle, id: m.id ?? null, url: null })),
    hashtags: s.hashtags ?? [],
    replyTo: s.replyTo ?? null,
    quoteOf: s.quoteOf ?? null,
    repostOf: s.repostOf ?? null,
    engagement: null,
    sources: { id: 'dom' },
  };
}

export interface SyntheticCapture {
  doc: PostDocument;
  /** The exact post.json bytes that are sealed. */
  bytes: Buffer;
  media: SyntheticMedia[];
}

/** A post.json with a main post, its visible replies (and their media), as a platform collector would write it. */
export function syntheticCapture(platform: string, main: SyntheticPostSpec, opts: { replies?: SyntheticPostSpec[]; observedAt?: string } = {}): SyntheticCapture {
  const replies = opts.replies ?? [];
  const doc = PostDocumentSchema.parse({
    schemaVersion: 'exhibit.post/1',
    platform,
    collector: { id: platform, version: 'synthetic' },
    requestedUrl: `https://${platform}.example/${main.id}`,
    pageUrl: `https://${platform}.example/${main.id}`,
    observedAt: opts.observedAt ?? '2026-03-01T12:00:00Z',
    visibility: { state: 'visible', reason: null, signals: [], httpStatus: 200, retryAfter: null },
    post: syntheticPost(platform, main),
    replies: replies.map((r) => syntheticPost(platform, r)),
    quoted: null,
    proof: null,
    collectorRequests: [],
    readFrom: [],
    review: [],
  });
  const media = [...(main.media ?? []), ...replies.flatMap((r) => r.media ?? [])];
  return { doc, bytes: Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8'), media };
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The capture as the graph builder sees it after reading it from a store (no store involved). */
export function asSealedPost(caseId: string, captureId: string, c: SyntheticCapture): SealedPost {
  return {
    caseId,
    captureId,
    artifact: 'post.json',
    sha256: sha(c.bytes),
    doc: c.doc,
    artifacts: new Map(c.media.map((m) => [m.name, { sha256: sha(m.bytes), perceptualHash: m.dhash ?? null }])),
  };
}

/** The artifacts to seal for a capture: post.json (role `post`) and its media. */
export function captureArtifacts(c: SyntheticCapture): ExtraArtifact[] {
  return [
    { name: 'post.json', role: 'post', mediaType: 'application/json', bytes: c.bytes },
    ...c.media.map((m) => ({ name: m.name, role: 'media' as const, mediaType: 'image/jpeg', bytes: m.bytes, perceptualHash: m.dhash ?? null })),
  ];
}

/** Small deterministic PRNG (mulberry32), so a seed gives the same set everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A synthetic case: `accounts` Telegram channels posting `posts` posts; about a third forward an
 * earlier post, a fifth mention another channel, and media are drawn from a small pool so the same
 * bytes recur across channels. Names mix Arabic and Latin.
 */
export function syntheticCase(opts: { accounts: number; posts: number; seed?: number; mediaPool?: number }): SyntheticCapture[] {
  const rnd = prng(opts.seed ?? 1);
  const pick = (n: number) => Math.floor(rnd() * n);
  const pool = Array.from({ length: opts.mediaPool ?? Math.max(4, Math.floor(opts.posts / 10)) }, (_, i) => ({ bytes: Buffer.from(`synthetic media ${i}`), dhash: `dhash:${(BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn).toString(16).padStart(16, '0')}` }));
  const handle = (i: number) => `ch_${i}`;
  const out: SyntheticCapture[] = [];
  for (let p = 0; p < opts.posts; p++) {
    const a = pick(opts.accounts);
    const id = `${handle(a)}/${p}`;
    const spec: SyntheticPostSpec = {
      id,
      author: { id: handle(a), handle: handle(a), displayName: a % 2 ? `قناة ${a}` : `Channel ${a}` },
      published: new Date(Date.UTC(2026, 0, 1) + p * 60_000).toISOString().replace('.000Z', 'Z'),
      text: `post ${p}`,
      hashtags: rnd() < 0.3 ? [rnd() < 0.5 ? 'أخبار' : 'اخبار'] : [],
    };
    if (p > 0 && rnd() < 0.33) {
      const src = out[pick(out.length)]!.doc.post!;
      spec.repostOf = { id: src.id, url: `https://t.me/${src.id}`, authorHandle: src.author!.handle };
    }
    if (rnd() < 0.2) spec.mentions = [{ handle: handle(pick(opts.accounts)) }];
    if (rnd() < 0.5) {
      const m = pool[pick(pool.length)]!;
      spec.media = [{ name: 'media/001-photo.jpg', bytes: m.bytes, dhash: m.dhash }];
    }
    out.push(syntheticCapture('telegram', spec, { observedAt: new Date(Date.UTC(2026, 1, 1) + p * 1000).toISOString().replace('.000Z', 'Z') }));
  }
  return out;
}

/**
 * The network scenario: two Telegram channels (one forwards the other's post, both use the same
 * photo) and a Mastodon thread (a mention, a reply, a near-duplicate photo, the same hashtag in
 * another Arabic spelling). `nodes` and `edges` are exactly what the case graph must hold.
 */
export function networkScenario(): { captures: SyntheticCapture[]; photoA: string; photoB: string; nodes: string[]; edges: string[] } {
  const photoA = Buffer.from('photo A: the same bytes posted by two channels');
  const photoB = Buffer.from('photo B: a re-encoded copy, different bytes');
  const newsAr = { id: 'news_ar', handle: 'news_ar', displayName: 'أخبار العاجلة' };
  const c1 = syntheticCapture('telegram', {
    id: 'news_ar/10',
    author: newsAr,
    published: '2026-02-10T08:00:00Z',
    text: 'بيان <عاجل> & "مهم"',
    hashtags: ['اخبار'],
    links: ['https://example.org/a?x=1&y=2'],
    media: [{ name: 'media/001-photo.jpg', bytes: photoA, dhash: 'dhash:f0f0f0f0f0f0f0f0' }],
  }, { observedAt: '2026-03-01T10:00:00Z' });
  const c2 = syntheticCapture('telegram', {
    id: 'relay_ch/5',
    author: { id: 'relay_ch', handle: 'relay_ch', displayName: 'Relay' },
    published: '2026-02-11T09:00:00Z',
    repostOf: { id: 'news_ar/10', url: 'https://t.me/news_ar/10', authorHandle: 'news_ar' },
    media: [{ name: 'media/001-photo.jpg', bytes: photoA, dhash: 'dhash:f0f0f0f0f0f0f0f0' }],
  }, { observedAt: '2026-03-01T10:05:00Z' });
  const c3 = syntheticCapture('mastodon', {
    id: '9001',
    author: { id: '111', handle: 'layla@social.example', displayName: 'ليلى' },
    published: '2026-02-12T10:00:00Z',
    mentions: [{ handle: 'omar@social.example', id: '222' }],
    hashtags: ['أخبار'],
    media: [{ name: 'media/001-photo.jpg', bytes: photoB, dhash: 'dhash:f0f0f0f0f0f0f0f3' }],
  }, {
    observedAt: '2026-03-01T10:10:00Z',
    replies: [{ id: '9002', author: { id: '222', handle: 'omar@social.example', displayName: 'عمر' }, published: '2026-02-12T11:00:00Z', replyTo: { id: '9001', url: null, authorHandle: 'layla@social.example' } }],
  });
  const a = `media:${sha(photoA)}`;
  const b = `media:${sha(photoB)}`;
  const nodes = [
    'account:telegram:news_ar', 'account:telegram:relay_ch', 'account:mastodon:111', 'account:mastodon:222',
    'post:telegram:news_ar/10', 'post:telegram:relay_ch/5', 'post:mastodon:9001', 'post:mastodon:9002',
    'hashtag:اخبار', 'url:https://example.org/a?x=1&y=2', 'domain:example.org', a, b,
  ];
  const [sa, sb] = [a, b].sort() as [string, string];
  const edges = [
    'authored account:telegram:news_ar -> post:telegram:news_ar/10 w1',
    'authored account:telegram:relay_ch -> post:telegram:relay_ch/5 w1',
    'authored account:mastodon:111 -> post:mastodon:9001 w1',
    'authored account:mastodon:222 -> post:mastodon:9002 w1',
    'reposts post:telegram:relay_ch/5 -> post:telegram:news_ar/10 w1',
    'reposts account:telegram:relay_ch -> account:telegram:news_ar w1',
    'mentions account:mastodon:111 -> account:mastodon:222 w1',
    'replies-to post:mastodon:9002 -> post:mastodon:9001 w1',
    'replies-to account:mastodon:222 -> account:mastodon:111 w1',
    'co-thread account:mastodon:111 -> account:mastodon:222 w1',
    'tagged-with post:telegram:news_ar/10 -> hashtag:اخبار w1',
    'tagged-with post:mastodon:9001 -> hashtag:اخبار w1',
    'links-to post:telegram:news_ar/10 -> url:https://example.org/a?x=1&y=2 w1',
    'in-domain url:https://example.org/a?x=1&y=2 -> domain:example.org w1',
    `has-media post:telegram:news_ar/10 -> ${a} w1`,
    `has-media post:telegram:relay_ch/5 -> ${a} w1`,
    `has-media post:mastodon:9001 -> ${b} w1`,
    'same-media account:telegram:news_ar -> account:telegram:relay_ch w1',
    `similar-media ${sa} -> ${sb} w1`,
  ];
  return { captures: [c1, c2, c3], photoA: sha(photoA), photoB: sha(photoB), nodes: nodes.sort(), edges: edges.sort() };
}

/** An edge as `type source -> target wN`, for exact comparisons. */
export const edgeLine = (e: { type: string; source: string; target: string; weight: number }) => `${e.type} ${e.source} -> ${e.target} w${e.weight}`;

/** Follow an RFC 6901 JSON pointer. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
