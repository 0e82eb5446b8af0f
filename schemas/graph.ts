import { z } from 'zod';
import { IsoUtc, Sha256Digest, Uuid } from './common.js';

/**
 * The case graph (analysis/): accounts, posts, hashtags, URLs, domains and media read from sealed
 * `post.json` artifacts, and who authored, mentioned, replied to, quoted, forwarded or shared media
 * with whom. A derived product: rebuildable from the store, every node and edge names the captures
 * and the JSON pointers it was read from.
 */

export const NODE_KINDS = ['account', 'channel', 'post', 'hashtag', 'url', 'domain', 'media'] as const;
export const NodeKind = z.enum(NODE_KINDS);
export type NodeKind = z.infer<typeof NodeKind>;

/**
 * Edge types. Observed edges come from sealed post.json values; `asserted-same` and
 * `asserted-linked` come only from `identity-asserted` custody events.
 */
export const EDGE_TYPES = [
  'authored', // account → post
  'mentions', // author → mentioned account
  'replies-to', // post → parent post, and author → parent's author
  'quotes', // post → quoted post, and author → quoted author
  'reposts', // post → reposted/forwarded/boosted post, and reposter → original author
  'links-to', // post → URL
  'in-domain', // URL → its host
  'tagged-with', // post → hashtag
  'has-media', // post → media (by SHA-256)
  'same-media', // account ↔ account: identical media SHA-256 in posts of both
  'similar-media', // media ↔ media: dHash within the configured Hamming distance (attribute `distance`)
  'same-avatar', // account ↔ account: identical avatar SHA-256
  'co-thread', // account ↔ account: both appear in the same captured thread
  'asserted-same', // analyst: these two accounts are the same person
  'asserted-linked', // analyst: these two accounts are linked
] as const;
export const EdgeType = z.enum(EDGE_TYPES);
export type EdgeType = z.infer<typeof EdgeType>;

/** Where a fact was read: one value of one sealed post.json. */
export const ObservedSource = z.object({
  basis: z.literal('observed'),
  captureId: Uuid,
  /** Artifact name in the capture manifest (`post.json`) and the SHA-256 of its sealed bytes. */
  artifact: z.string(),
  sha256: Sha256Digest,
  /** RFC 6901 JSON pointer into that artifact, to the value the fact was read from. */
  pointer: z.string(),
  /** When the collector observed the page (post.json `observedAt`). */
  capturedAt: IsoUtc,
  /** The platform's stated time of the post the value belongs to, as stated, and its UTC reading. */
  statedTime: z.object({ raw: z.string(), utc: IsoUtc.nullable() }).nullable(),
});
export type ObservedSource = z.infer<typeof ObservedSource>;

/** Where an analyst assertion was recorded: one custody event. */
export const AssertedSource = z.object({
  basis: z.literal('asserted-by-analyst'),
  custodySeq: z.number().int().positive(),
  eventId: Uuid,
  eventHash: Sha256Digest,
  actor: z.string(),
  time: IsoUtc,
  reason: z.string(),
});
export type AssertedSource = z.infer<typeof AssertedSource>;

export const Provenance = z.discriminatedUnion('basis', [ObservedSource, AssertedSource]);
export type Provenance = z.infer<typeof Provenance>;

/** A value as observed (handle, display name), with when and where. */
export const ObservedValue = z.object({ value: z.string(), matchKey: z.string(), captureId: Uuid, capturedAt: IsoUtc, pointer: z.string() });
export type ObservedValue = z.infer<typeof ObservedValue>;

export const GraphNode = z.object({
  id: z.string(),
  kind: NodeKind,
  label: z.string(),
  platform: z.string().nullable(),
  /** Kind-specific facts: platform id, URL, SHA-256, dHash, stated time. */
  attrs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  /** Accounts: every handle and display name as observed, dated. */
  handles: z.array(ObservedValue),
  displayNames: z.array(ObservedValue),
  provenance: z.array(Provenance),
});
export type GraphNode = z.infer<typeof GraphNode>;

export const GraphEdge = z.object({
  id: z.string(),
  type: EdgeType,
  source: z.string(),
  target: z.string(),
  basis: z.enum(['observed', 'asserted-by-analyst']),
  /** Distinct observations: distinct posts (or post pairs) stating it, or distinct assertions; re-reading a capture adds nothing. */
  weight: z.number().int().positive(),
  /** `similar-media`: the smallest Hamming distance between the two dHashes. */
  distance: z.number().int().nonnegative().nullable(),
  provenance: z.array(Provenance),
});
export type GraphEdge = z.infer<typeof GraphEdge>;

/** What an `identity-asserted` custody event holds in `details`. */
export const IdentityAssertionDetails = z.object({
  kind: z.enum(['same', 'linked']),
  /** Graph node ids of the two accounts (`account:<platform>:<id>`). */
  accounts: z.tuple([z.string().min(1).max(500), z.string().min(1).max(500)]),
  reason: z.string().min(1).max(2000),
});
export type IdentityAssertionDetails = z.infer<typeof IdentityAssertionDetails>;

/** The JSON export (node-link), and the metadata every export carries. */
export const CaseGraphDocument = z.object({
  schemaVersion: z.literal('exhibit.case-graph/1'),
  /** For node-link readers (networkx `node_link_graph`, d3): edges are directed, and two nodes may have several (of different types). */
  directed: z.literal(true),
  multigraph: z.literal(true),
  caseIds: z.array(z.string()),
  builtAt: IsoUtc,
  builder: z.string(),
  /** How handles and names were normalised for matching keys (raw values are kept as observed). */
  normalisation: z.string(),
  similarMediaMaxDistance: z.number().int().nonnegative(),
  captures: z.array(z.object({ captureId: Uuid, caseId: z.string(), postSha256: Sha256Digest })),
  /** Captures without a readable post.json, and why (never silently skipped). */
  skipped: z.array(z.object({ captureId: z.string(), reason: z.string() })),
  filters: z.record(z.string(), z.unknown()),
  nodes: z.array(GraphNode),
  edges: z.array(GraphEdge),
});
export type CaseGraphDocument = z.infer<typeof CaseGraphDocument>;

/** The first measures analysts ask for, on the account layer (analysis/graph-measures.ts). */
export const GraphMeasures = z.object({
  accounts: z.number().int().nonnegative(),
  degree: z.array(z.object({ id: z.string(), label: z.string(), degree: z.number().int().nonnegative(), weightedDegree: z.number().int().nonnegative() })),
  mostForwarded: z.array(z.object({ id: z.string(), label: z.string(), reposts: z.number().int().nonnegative(), reposters: z.number().int().nonnegative() })),
  sharedMedia: z.array(z.object({ a: z.string(), b: z.string(), posts: z.number().int().nonnegative() })),
  components: z.array(z.object({ size: z.number().int().positive(), members: z.array(z.string()) })),
  /** Null when the account graph is too large for betweenness. */
  betweenness: z.array(z.object({ id: z.string(), label: z.string(), score: z.number() })).nullable(),
});
export type GraphMeasures = z.infer<typeof GraphMeasures>;

/** GET /api/cases/:caseId/graph: the (filtered) case graph, its measures and what each measure means. */
export const CaseGraphView = z.object({
  caseId: z.string(),
  graph: CaseGraphDocument,
  measures: GraphMeasures,
  explanations: z.record(z.string(), z.string()),
  /** The custody event recording this read; null when the case has no sealed post to read. */
  custodySeq: z.number().int().positive().nullable(),
});
export type CaseGraphView = z.infer<typeof CaseGraphView>;
