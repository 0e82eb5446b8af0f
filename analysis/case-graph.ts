/**
 * The case graph, built one sealed post.json at a time. `addCapture` is the only way facts enter,
 * so a full build is just `addCapture` over every capture, and an incremental update is one more
 * call: both give the same graph (test/unit/analysis/case-graph.test.ts checks it).
 *
 * Rules:
 * - Accounts are keyed by platform + the platform's stable id, else platform + handle (lower case,
 *   as handles are case-insensitive on every platform we collect). Two keys are never merged; an
 *   analyst may assert identity (`addAssertion`), shown as a separate, asserted edge.
 * - Every node and edge carries the sealed sources it was read from (capture, post.json digest, JSON
 *   pointer, capture time, the platform's stated time). Weights count distinct observations (a post,
 *   a pair of posts, an assertion), so adding the same capture twice, or a re-capture of the same
 *   post, never inflates a weight; the re-capture is added as one more source.
 */
import type { Artifact } from '../schemas/artifact.js';
import type { CustodyEvent } from '../schemas/custody.js';
import { IdentityAssertionDetails, type AssertedSource, type EdgeType, type GraphEdge, type GraphNode, type NodeKind, type ObservedSource, type ObservedValue, type Provenance } from '../schemas/graph.js';
import type { Post, PostDocument, PostRef } from '../schemas/post.js';
import { matchKey } from './text-key.js';

/** One sealed post.json, read and digest-checked from the store (analysis/sealed-posts.ts). */
export interface SealedPost {
  caseId: string;
  captureId: string;
  /** Artifact name in the manifest (`post.json`) and the SHA-256 of its sealed bytes. */
  artifact: string;
  sha256: string;
  doc: PostDocument;
  /** The capture's media artifacts by name, for digests and perceptual hashes. */
  artifacts: ReadonlyMap<string, Pick<Artifact, 'sha256' | 'perceptualHash'>>;
}

export interface CaseGraphOptions {
  /** Largest dHash Hamming distance (of 64 bits) for a `similar-media` edge. @defaultValue 6 */
  similarMediaMaxDistance?: number;
}

interface NodeState {
  id: string;
  kind: NodeKind;
  platform: string | null;
  attrs: Record<string, string | number | boolean | null>;
  handles: Map<string, ObservedValue>;
  displayNames: Map<string, ObservedValue>;
  provenance: Map<string, Provenance>;
}

interface EdgeState {
  id: string;
  type: EdgeType;
  source: string;
  target: string;
  basis: GraphEdge['basis'];
  observations: Set<string>;
  distance: number | null;
  provenance: Map<string, Provenance>;
  /** Edges whose sources are those of their end nodes (similar-media): filled in at snapshot. */
  fromNodes: boolean;
}

interface MediaUse {
  account: string;
  post: string;
  source: ObservedSource;
}

const provKey = (p: Provenance) => (p.basis === 'observed' ? `${p.captureId}\u0000${p.pointer}` : `custody\u0000${p.custodySeq}`);
const byKey = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/** A `dhash:<16 hex>` value as two 32-bit halves; null when it is not one. */
function dhashBits(v: string): [number, number] | null {
  const x = /^dhash:([0-9a-f]{16})$/.exec(v)?.[1];
  return x ? [Number.parseInt(x.slice(0, 8), 16), Number.parseInt(x.slice(8), 16)] : null;
}

function popcount32(v: number): number {
  let n = v - ((v >>> 1) & 0x55555555);
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return (Math.imul((n + (n >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

const bitsDistance = (a: [number, number], b: [number, number]) => popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);

/** Hamming distance of two `dhash:<16 hex>` values; null when either is not one. */
export function dhashDistance(a: string, b: string): number | null {
  const x = dhashBits(a);
  const y = dhashBits(b);
  return x && y ? bitsDistance(x, y) : null;
}

/** Platforms whose stable account id is the handle itself (a Telegram channel's username). */
const HANDLE_IS_ID = new Set(['telegram']);

/**
 * Node id of an account: the platform's id when known, else the handle (lower case). `known` maps
 * handles to ids stated for authors in the same post.json, so a reference by handle to an author
 * the same document names resolves to that author (what the document itself says, never a guess
 * across documents).
 */
export function accountNodeId(platform: string, id: string | null, handle: string | null, known?: ReadonlyMap<string, string>): string | null {
  if (id) return `account:${platform}:${HANDLE_IS_ID.has(platform) ? id.toLowerCase() : id}`;
  const h = handle?.replace(/^@/, '').trim().toLowerCase();
  if (!h) return null;
  const resolved = known?.get(h) ?? (HANDLE_IS_ID.has(platform) ? h : null);
  return resolved ? `account:${platform}:${resolved}` : `account:${platform}:@${h}`;
}

export class CaseGraph {
  readonly similarMediaMaxDistance: number;
  readonly nodes = new Map<string, NodeState>();
  readonly edges = new Map<string, EdgeState>();
  /** Captures already read: capture id → case and post.json digest. */
  readonly captures = new Map<string, { caseId: string; postSha256: string }>();
  readonly assertions = new Set<string>();
  private readonly mediaUses = new Map<string, MediaUse[]>();
  private readonly avatarUses = new Map<string, MediaUse[]>();
  /** Media node id → its dHash, parsed once (every new media is compared with all earlier ones). */
  private readonly dhashes = new Map<string, [number, number] | null>();
  /** Handle → id of the authors named in the post.json being added. */
  private known: ReadonlyMap<string, string> = new Map();

  constructor(opts: CaseGraphOptions = {}) {
    this.similarMediaMaxDistance = opts.similarMediaMaxDistance ?? 6;
  }

  private node(id: string, kind: NodeKind, platform: string | null, source: ObservedSource | null): NodeState {
    let n = this.nodes.get(id);
    if (!n) {
      n = { id, kind, platform, attrs: {}, handles: new Map(), displayNames: new Map(), provenance: new Map() };
      this.nodes.set(id, n);
    }
    if (source) n.provenance.set(provKey(source), source);
    return n;
  }

  /** Set an attribute order-independently: the smallest value observed wins when values differ. */
  private attr(n: NodeState, key: string, value: string | number | null | undefined): void {
    if (value === null || value === undefined) return;
    const cur = n.attrs[key];
    if (cur === undefined || cur === null || String(value) < String(cur)) n.attrs[key] = value;
  }

  private edge(type: EdgeType, source: string, target: string, observation: string, prov: Provenance[], opts: { undirected?: boolean; distance?: number; fromNodes?: boolean } = {}): void {
    const [s, t] = opts.undirected && target < source ? [target, source] : [source, target];
    const id = `${type}:${s}->${t}`;
    let e = this.edges.get(id);
    if (!e) {
      e = { id, type, source: s, target: t, basis: prov[0]?.basis ?? 'observed', observations: new Set(), distance: opts.distance ?? null, provenance: new Map(), fromNodes: Boolean(opts.fromNodes) };
      this.edges.set(id, e);
    }
    e.observations.add(observation);
    for (const p of prov) e.provenance.set(provKey(p), p);
  }

  /** Add one sealed post.json's facts. Returns false when this capture was already in the graph. */
  addCapture(cap: SealedPost): boolean {
    if (this.captures.has(cap.captureId)) return false;
    this.captures.set(cap.captureId, { caseId: cap.caseId, postSha256: cap.sha256 });
    const { doc } = cap;
    const platform = doc.platform;
    const src = (pointer: string, post: Post | null): ObservedSource => ({
      basis: 'observed',
      captureId: cap.captureId,
      artifact: cap.artifact,
      sha256: cap.sha256,
      pointer,
      capturedAt: doc.observedAt,
      statedTime: post?.published ? { raw: post.published.raw, utc: post.published.utc } : null,
    });
    const known = new Map<string, string>();
    for (const p of [doc.post, ...doc.replies, doc.quoted]) {
      const h = p?.author?.handle?.replace(/^@/, '').trim().toLowerCase();
      if (h && p?.author?.id) known.set(h, p.author.id);
    }
    this.known = known;
    const thread: Array<{ account: string; source: ObservedSource; post: string }> = [];
    if (doc.post) {
      const main = this.addPost(cap, platform, doc.post, '/post', src);
      if (main.author) thread.push(main.author);
      doc.replies.forEach((r, i) => {
        const reply = this.addPost(cap, platform, r, `/replies/${i}`, src);
        if (reply.author) thread.push(reply.author);
      });
      if (doc.quoted) this.addPost(cap, platform, doc.quoted, '/quoted', src);
      this.addAvatar(cap, platform, doc, src);
    }
    // Co-occurrence: every pair of distinct accounts seen in the same captured thread.
    const root = thread[0]?.post;
    for (let i = 0; i < thread.length; i++) {
      for (let j = i + 1; j < thread.length; j++) {
        const a = thread[i]!;
        const b = thread[j]!;
        if (a.account !== b.account) this.edge('co-thread', a.account, b.account, `thread:${root}`, [a.source, b.source], { undirected: true });
      }
    }
    return true;
  }

  private account(platform: string, id: string | null, handle: string | null, displayName: string | null, base: string, source: ObservedSource, fields: { handle: string; displayName: string }): string | null {
    const nodeId = accountNodeId(platform, id, handle, this.known);
    if (!nodeId) return null;
    const n = this.node(nodeId, platform === 'telegram' ? 'channel' : 'account', platform, source);
    this.attr(n, 'accountId', id);
    const observe = (into: Map<string, ObservedValue>, value: string | null, field: string) => {
      if (!value) return;
      const v: ObservedValue = { value, matchKey: matchKey(value), captureId: source.captureId, capturedAt: source.capturedAt, pointer: `${base}/${field}` };
      into.set(`${v.captureId}\u0000${v.pointer}`, v);
    };
    observe(n.handles, handle, fields.handle);
    observe(n.displayNames, displayName, fields.displayName);
    return nodeId;
  }

  private addPost(cap: SealedPost, platform: string, p: Post, ptr: string, src: (pointer: string, post: Post | null) => ObservedSource): { author: { account: string; source: ObservedSource; post: string } | null } {
    const postId = `post:${platform}:${p.id}`;
    const pn = this.node(postId, 'post', platform, src(`${ptr}/id`, p));
    this.attr(pn, 'postId', p.id);
    this.attr(pn, 'url', p.url);
    this.attr(pn, 'uri', p.uri);
    this.attr(pn, 'publishedRaw', p.published?.raw);
    this.attr(pn, 'publishedUtc', p.published?.utc);
    let author: string | null = null;
    if (p.author) {
      const s = src(`${ptr}/author`, p);
      author = this.account(platform, p.author.id, p.author.handle, p.author.displayName, `${ptr}/author`, s, { handle: 'handle', displayName: 'displayName' });
      if (author) this.edge('authored', author, postId, postId, [s]);
    }
    p.mentions.forEach((m, i) => {
      const s = src(`${ptr}/mentions/${i}`, p);
      const target = this.account(platform, m.id, m.handle, null, `${ptr}/mentions/${i}`, s, { handle: 'handle', displayName: 'displayName' });
      if (author && target) this.edge('mentions', author, target, postId, [s]);
    });
    const ref = (r: PostRef | null, field: 'replyTo' | 'quoteOf' | 'repostOf', type: EdgeType) => {
      if (!r) return;
      const s = src(`${ptr}/${field}`, p);
      if (r.id) {
        const target = this.node(`post:${platform}:${r.id}`, 'post', platform, s);
        this.attr(target, 'postId', r.id);
        this.attr(target, 'url', r.url);
        // `uri` on references is newer than some sealed documents: absent and null both mean none.
        this.attr(target, 'uri', r.uri ?? null);
        this.edge(type, postId, target.id, postId, [s]);
      }
      const targetAccount = r.authorHandle ? this.account(platform, null, r.authorHandle, r.authorDisplayName ?? null, `${ptr}/${field}`, s, { handle: 'authorHandle', displayName: 'authorDisplayName' }) : null;
      if (author && targetAccount) this.edge(type, author, targetAccount, postId, [s]);
    };
    ref(p.replyTo, 'replyTo', 'replies-to');
    ref(p.quoteOf, 'quoteOf', 'quotes');
    ref(p.repostOf ?? null, 'repostOf', 'reposts');
    p.hashtags.forEach((h, i) => {
      const s = src(`${ptr}/hashtags/${i}`, p);
      const key = matchKey(h);
      if (!key) return;
      const hn = this.node(`hashtag:${key}`, 'hashtag', null, s);
      this.attr(hn, 'matchKey', key);
      hn.handles.set(`${s.captureId}\u0000${s.pointer}`, { value: h, matchKey: key, captureId: s.captureId, capturedAt: s.capturedAt, pointer: s.pointer });
      this.edge('tagged-with', postId, hn.id, postId, [s]);
    });
    p.links.forEach((url, i) => {
      const s = src(`${ptr}/links/${i}`, p);
      const un = this.node(`url:${url}`, 'url', null, s);
      this.attr(un, 'url', url);
      this.edge('links-to', postId, un.id, postId, [s]);
      let host: string | null = null;
      try {
        host = new URL(url).hostname.toLowerCase() || null;
      } catch {
        host = null; // a link that is not a URL keeps its url node, without a domain
      }
      if (host) {
        const dn = this.node(`domain:${host}`, 'domain', null, s);
        this.attr(dn, 'host', host);
        this.edge('in-domain', un.id, dn.id, postId, [s]);
      }
    });
    p.media.forEach((m, i) => {
      const art = m.artifact ? cap.artifacts.get(m.artifact) : undefined;
      if (!art) return; // not recorded: no bytes, no digest, so no media node (the post.json flags say why)
      const s = src(`${ptr}/media/${i}`, p);
      const mediaId = `media:${art.sha256}`;
      const mn = this.node(mediaId, 'media', null, s);
      this.attr(mn, 'sha256', art.sha256);
      this.attr(mn, 'mediaType', m.type);
      this.attr(mn, 'dhash', art.perceptualHash);
      this.edge('has-media', postId, mediaId, postId, [s]);
      if (author) this.useMedia(this.mediaUses, 'same-media', art.sha256, { account: author, post: postId, source: s });
      if (art.perceptualHash && !this.dhashes.has(mediaId)) this.addSimilar(mediaId, art.perceptualHash);
    });
    return { author: author ? { account: author, source: src(`${ptr}/author`, p), post: postId } : null };
  }

  /** Same bytes used by two different accounts: one edge per account pair, one observation per post pair. */
  private useMedia(uses: Map<string, MediaUse[]>, type: 'same-media' | 'same-avatar', sha256: string, use: MediaUse): void {
    const list = uses.get(sha256) ?? [];
    uses.set(sha256, list);
    for (const other of list) {
      if (other.account === use.account) continue;
      const pair = [other.post, use.post].sort().join('|');
      this.edge(type, other.account, use.account, `${sha256}:${pair}`, [other.source, use.source], { undirected: true });
    }
    list.push(use);
  }

  private addSimilar(mediaId: string, dhash: string): void {
    const bits = dhashBits(dhash);
    if (bits) {
      for (const [otherId, other] of this.dhashes) {
        if (!other) continue;
        const d = bitsDistance(bits, other);
        if (d <= this.similarMediaMaxDistance) this.edge('similar-media', mediaId, otherId, `${[mediaId, otherId].sort().join('|')}`, [], { undirected: true, distance: d, fromNodes: true });
      }
    }
    this.dhashes.set(mediaId, bits);
  }

  /** Avatars, when the post.json carries the author's profile picture as a sealed artifact. */
  private addAvatar(cap: SealedPost, platform: string, doc: PostDocument, src: (pointer: string, post: Post | null) => ObservedSource): void {
    // `profile` is newer than some sealed documents: read it defensively, never assume its presence.
    const profile = (doc as unknown as { profile?: { avatar?: { artifact?: string | null; sha256?: string | null } | null } | null }).profile;
    const avatar = profile?.avatar;
    const sha = (avatar?.artifact ? cap.artifacts.get(avatar.artifact)?.sha256 : null) ?? avatar?.sha256 ?? null;
    const author = doc.post?.author;
    const account = author ? accountNodeId(platform, author.id, author.handle, this.known) : null;
    if (!sha || !account) return;
    this.useMedia(this.avatarUses, 'same-avatar', sha, { account, post: `post:${platform}:${doc.post!.id}`, source: src('/profile/avatar', doc.post) });
  }

  /**
   * Add an analyst's `identity-asserted` custody event. Returns false when it is not one, was already
   * added, or its details do not parse (they were validated when appended).
   */
  addAssertion(event: CustodyEvent): boolean {
    if (event.action !== 'identity-asserted' || this.assertions.has(event.eventId)) return false;
    const d = IdentityAssertionDetails.safeParse(event.details);
    if (!d.success) return false;
    this.assertions.add(event.eventId);
    const source: AssertedSource = { basis: 'asserted-by-analyst', custodySeq: event.seq, eventId: event.eventId, eventHash: event.hash, actor: event.actor.id, time: event.time, reason: d.data.reason };
    const [a, b] = d.data.accounts;
    this.edge(d.data.kind === 'same' ? 'asserted-same' : 'asserted-linked', a, b, event.eventId, [source], { undirected: true });
    return true;
  }

  /** The graph as plain, sorted data (asserted edges whose accounts are not in the graph are left out). */
  snapshot(): { nodes: GraphNode[]; edges: GraphEdge[] } {
    const nodes = byKey(this.nodes).map((n): GraphNode => ({
      id: n.id,
      kind: n.kind,
      label: labelOf(n),
      platform: n.platform,
      attrs: Object.fromEntries(Object.entries(n.attrs).sort(([a], [b]) => (a < b ? -1 : 1))),
      handles: byKey(n.handles),
      displayNames: byKey(n.displayNames),
      provenance: byKey(n.provenance),
    }));
    const edges = byKey(this.edges)
      .filter((e) => this.nodes.has(e.source) && this.nodes.has(e.target))
      .map((e): GraphEdge => {
        const prov = e.fromNodes ? new Map([...this.nodes.get(e.source)!.provenance, ...this.nodes.get(e.target)!.provenance]) : e.provenance;
        return { id: e.id, type: e.type, source: e.source, target: e.target, basis: e.basis, weight: e.observations.size, distance: e.distance, provenance: byKey(prov) };
      });
    return { nodes, edges };
  }
}

/** A readable label: the latest observed handle (or name), else the node's own value. */
function labelOf(n: NodeState): string {
  const latest = (m: Map<string, ObservedValue>) => byKey(m).sort((a, b) => (a.capturedAt < b.capturedAt ? -1 : a.capturedAt > b.capturedAt ? 1 : a.value < b.value ? -1 : 1)).at(-1)?.value;
  if (n.kind === 'account' || n.kind === 'channel') {
    const h = latest(n.handles);
    return h ? `@${h.replace(/^@/, '')}` : latest(n.displayNames) ?? n.id;
  }
  if (n.kind === 'hashtag') return `#${byKey(n.handles)[0]?.value ?? n.attrs.matchKey}`;
  if (n.kind === 'post') return String(n.attrs.url ?? n.attrs.postId ?? n.id);
  if (n.kind === 'url') return String(n.attrs.url);
  if (n.kind === 'domain') return String(n.attrs.host);
  return String(n.attrs.sha256 ?? n.id);
}

