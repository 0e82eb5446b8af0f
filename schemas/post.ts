import { z } from 'zod';
import { CollectorRequest, IsoUtc, Sha256Digest } from './common.js';

/**
 * `post.json`: one social post as the platform served it, normalised. Written by platform
 * collectors (role `post`) beside the raw artifacts it was read from; every field says which
 * source it came from, so a reader can go back to the exact bytes in the WARC.
 */

/** Where a field's value was read. Closed vocabulary; the first four are the platform's own data. */
export const POST_SOURCES = [
  'api-json', // JSON the page (or the collector, through the same recorded browser context) fetched from the platform's API
  'embedded-json', // JSON embedded in the served HTML (hydration state, `<script type="application/json">`)
  'dom', // the served or rendered HTML markup
  'oembed', // an oEmbed response discovered via `<link rel="alternate" type="application/json+oembed">`
  'opengraph', // `og:*` / `article:*` / `twitter:*` meta tags
  'json-ld', // `<script type="application/ld+json">`
] as const;
export const PostSource = z.enum(POST_SOURCES);
export type PostSource = z.infer<typeof PostSource>;

/** Fields of a {@link Post} whose source is recorded in `sources`. */
export const POST_FIELDS = ['id', 'url', 'author', 'published', 'text', 'media', 'links', 'mentions', 'hashtags', 'replyTo', 'quoteOf', 'repostOf', 'engagement', 'updated', 'contentWarning', 'poll'] as const;
export const PostField = z.enum(POST_FIELDS);
export type PostField = z.infer<typeof PostField>;

/**
 * What the platform let a logged-out visitor see. Closed vocabulary: `visible`, a reason the
 * platform gave for not showing the post, or `not-recognised`.
 *
 * Every state other than `visible` and `not-recognised` is a statement about the platform and is
 * made only on a positive signal from it (an HTTP status, an error JSON, an error or login page it
 * serves for that case). `unavailable` is "the platform said it is not there, without a reason";
 * `deleted` only when the platform says so (HTTP 410, a tombstone, a "not found post" node).
 * `not-recognised` is a statement about the collector: the page answered, but not in a layout the
 * collector knows, so nothing is claimed about visibility; the post is read by the generic
 * OpenGraph/JSON-LD/DOM extraction and the document is flagged for review.
 */
export const VISIBILITY_STATES = ['visible', 'login-wall', 'deleted', 'unavailable', 'age-gated', 'region-gated', 'rate-limited', 'not-recognised'] as const;
export const VisibilityState = z.enum(VISIBILITY_STATES);
export type VisibilityState = z.infer<typeof VisibilityState>;

/** States that say the platform did not show the post: each needs a positive signal from the platform. */
export const NOT_SHOWN_STATES = ['login-wall', 'deleted', 'unavailable', 'age-gated', 'region-gated', 'rate-limited'] as const satisfies readonly VisibilityState[];

/** Why a person should check a post.json before relying on it (`not-recognised`: fields read by the generic fallback). */
export const ReviewFlag = z.object({ code: z.string(), message: z.string() });
export type ReviewFlag = z.infer<typeof ReviewFlag>;

/** One piece of evidence for a visibility state: what was seen, and where. */
export const VisibilitySignal = z.object({
  /** Where it was seen: `http-status`, `api-json`, `dom`, `header`, … */
  source: z.string(),
  /** The URL of the response it was seen in, when there is one. */
  url: z.string().nullable(),
  /** What exactly: `HTTP 429`, `error: NotFound`, `.tgme_widget_message_error: Post not found`, … */
  detail: z.string(),
});
export type VisibilitySignal = z.infer<typeof VisibilitySignal>;

/** The platform observation: an honest statement of what the platform showed, never a blank success. */
export const PlatformObservation = z.object({
  state: VisibilityState,
  /** One sentence for people, e.g. "the API answered HTTP 401: this server requires login to view statuses". */
  reason: z.string().nullable(),
  signals: z.array(VisibilitySignal),
  /** HTTP status of the response that decided the state (the main document or the platform API). */
  httpStatus: z.number().int().nullable(),
  /** For `rate-limited`: when the platform said to come back, as it said it (`Retry-After`, `X-RateLimit-Reset`). */
  retryAfter: z.string().nullable().default(null),
});
export type PlatformObservation = z.infer<typeof PlatformObservation>;

export const PostAuthor = z.object({
  /** The platform's stable id (Telegram channel username, Mastodon account id, Bluesky DID). */
  id: z.string().nullable(),
  /**
   * Handle without a leading `@`. Fully qualified where the platform is federated
   * (`layla@social.example` even for an account local to the server that served it; `layla.bsky.social`);
   * a channel name where it is not (`sahel_news`).
   */
  handle: z.string().nullable(),
  displayName: z.string().nullable(),
  profileUrl: z.string().nullable(),
});
export type PostAuthor = z.infer<typeof PostAuthor>;

export const PostMedia = z.object({
  type: z.enum(['image', 'video', 'audio', 'gif', 'other']),
  /** The best-quality URL the platform served for it (original image, full video, HLS playlist). */
  sourceUrl: z.string().nullable(),
  /** Spool path of the artifact holding its bytes (`media/002-photo.jpg`), null when none was recorded. */
  artifact: z.string().nullable(),
  /** For streamed video: the spool path of the playable file assembled from the recorded segments. */
  assembledArtifact: z.string().nullable().default(null),
  width: z.number().int().positive().nullable(),
  height: z.number().int().positive().nullable(),
  durationSeconds: z.number().nonnegative().nullable(),
  /** Alt text / description as served. */
  alt: z.string().nullable(),
  /** Why the artifact is missing or partial (`media-not-recorded`, …). */
  flags: z.array(z.object({ code: z.string(), message: z.string() })).default([]),
});
export type PostMedia = z.infer<typeof PostMedia>;

/** A reference to another post (reply parent, quoted or reposted post). */
export const PostRef = z.object({
  id: z.string().nullable(),
  url: z.string().nullable(),
  authorHandle: z.string().nullable(),
  /** The referenced author's display name where the platform shows it beside the reference (Telegram "Forwarded from"); absent in older documents. */
  authorDisplayName: z.string().nullable().optional(),
  /** Platform-native URI of the referenced post, in full (`at://did:plc:…/app.bsky.feed.post/<rkey>`, the ActivityPub id); absent where the platform has none. */
  uri: z.string().nullable().optional(),
});
export type PostRef = z.infer<typeof PostRef>;

/** One engagement count as displayed (`1.2K`) with its numeric reading when unambiguous. */
export const EngagementCount = z.object({
  display: z.string(),
  value: z.number().int().nonnegative().nullable(),
});
export type EngagementCount = z.infer<typeof EngagementCount>;

export const Post = z.object({
  /** The platform's post id (`durov/43`, `109876543210`, the Bluesky rkey). */
  id: z.string(),
  /** Canonical URL of the post, as the platform names it. */
  url: z.string().nullable(),
  /** Platform-native URI when there is one (`at://did/app.bsky.feed.post/rkey`, the ActivityPub id). */
  uri: z.string().nullable().default(null),
  author: PostAuthor.nullable(),
  /** Published time: exactly the string the platform states, and its UTC reading. */
  published: z.object({ raw: z.string(), utc: IsoUtc.nullable() }).nullable(),
  /** Text exactly as served: `content` is the plain text; `html` the markup when the platform serves markup. */
  text: z
    .object({
      content: z.string(),
      html: z.string().nullable(),
      /** BCP 47 tag the platform states (or null). */
      language: z.string().nullable(),
      /** `rtl`/`ltr` as stated by the platform, else from the first strong character (Unicode bidi rule P2). */
      direction: z.enum(['ltr', 'rtl']).nullable(),
    })
    .nullable(),
  media: z.array(PostMedia),
  links: z.array(z.string()),
  mentions: z.array(z.object({ handle: z.string(), id: z.string().nullable(), url: z.string().nullable() })),
  /** Without the leading `#`, as written. */
  hashtags: z.array(z.string()),
  replyTo: PostRef.nullable(),
  quoteOf: PostRef.nullable(),
  repostOf: PostRef.nullable(),
  /** Counts as displayed to the collector, and when they were read. */
  engagement: z
    .object({
      readAt: IsoUtc,
      counts: z.record(z.string(), EngagementCount),
    })
    .nullable(),
  /** Per field, where its value came from; a field with no entry was not found. */
  sources: z.partialRecord(PostField, PostSource),
  /** Last edit time as the platform states it (ActivityPub `updated`), and its UTC reading. */
  updated: z.object({ raw: z.string(), utc: IsoUtc.nullable() }).nullable().optional(),
  /** Content warning as served (Mastodon `spoiler_text`, ActivityPub `summary` + `sensitive`); null when the platform states none. */
  contentWarning: z.object({ summary: z.string().nullable(), sensitive: z.boolean().nullable() }).nullable().optional(),
  /** A poll (ActivityPub `Question`, Mastodon `poll`): options with their vote counts as served. */
  poll: z
    .object({
      /** `oneOf` (one choice) or `anyOf` (several). */
      multiple: z.boolean(),
      options: z.array(z.object({ title: z.string(), votes: z.number().int().nonnegative().nullable() })),
      votersCount: z.number().int().nonnegative().nullable(),
      endTime: z.object({ raw: z.string(), utc: IsoUtc.nullable() }).nullable(),
      closed: z.object({ raw: z.string(), utc: IsoUtc.nullable() }).nullable(),
    })
    .nullable()
    .optional(),
});
export type Post = z.infer<typeof Post>;

/** Fields of a {@link Profile} whose source is recorded in `sources`. */
export const PROFILE_FIELDS = ['id', 'handle', 'displayName', 'description', 'avatar', 'counts'] as const;
export const ProfileField = z.enum(PROFILE_FIELDS);
export type ProfileField = z.infer<typeof ProfileField>;

/**
 * A channel or account page (Telegram `t.me/s/<channel>`, a Mastodon or Bluesky profile) as the
 * platform showed it: who it is and its counts, read when the page was captured.
 */
export const Profile = z.object({
  kind: z.enum(['channel', 'account']),
  /** The platform's stable id (Mastodon account id, Bluesky DID, Telegram channel username). */
  id: z.string().nullable(),
  /** Fully qualified where the platform is federated (see {@link PostAuthor}). */
  handle: z.string().nullable(),
  displayName: z.string().nullable(),
  /** The bio or channel description as plain text; `descriptionHtml` the markup when served as markup. */
  description: z.string().nullable(),
  descriptionHtml: z.string().nullable(),
  /** The avatar's URL as served (its bytes are in the WARC when the page loaded it). */
  avatarUrl: z.string().nullable(),
  url: z.string().nullable(),
  /** Counts as displayed (`12.4K subscribers`, `followers`, `posts`), keyed by what the platform calls them. */
  counts: z.record(z.string(), EngagementCount),
  readAt: IsoUtc,
  /** Per field, where its value came from; a field with no entry was not found. */
  sources: z.partialRecord(ProfileField, PostSource),
});
export type Profile = z.infer<typeof Profile>;

/**
 * Proof of authorship kept with the post (Bluesky: the repo commit signed by the account's key, the
 * record CAR and the DID document). `verified` is what Exhibit's check found; anyone can re-check
 * from the artifacts named here.
 */
export const AuthorshipProof = z.object({
  kind: z.string(),
  /** Artifacts (spool paths) holding the proof, by role: `record-car`, `did-document`, … */
  artifacts: z.record(z.string(), z.string()),
  /** Signing identity, e.g. the DID, and the key used (`did:key:…`). */
  signer: z.string().nullable(),
  key: z.string().nullable(),
  /** Content id of the record as the platform published it (CID). */
  recordCid: z.string().nullable(),
  commitCid: z.string().nullable(),
  verified: z.boolean(),
  /** The check that was run, or why none could be (tool + version). */
  method: z.string(),
  message: z.string().nullable(),
});
export type AuthorshipProof = z.infer<typeof AuthorshipProof>;

/** The whole `post.json` document. */
export const PostDocument = z.object({
  schemaVersion: z.literal('exhibit.post/1'),
  platform: z.string(),
  collector: z.object({ id: z.string(), version: z.string() }),
  /** The URL the analyst asked for; `pageUrl` is what the browser loaded for it, when different. */
  requestedUrl: z.string(),
  pageUrl: z.string(),
  observedAt: IsoUtc,
  visibility: PlatformObservation,
  /** The post; null when the platform showed none (see `visibility`). */
  post: Post.nullable(),
  /**
   * The visible reply thread, in the order the platform served it, each a compact post. For a list
   * page (a channel, profile, hashtag timeline, quotes or search list; `post` null) every visible item.
   */
  replies: z.array(Post),
  /** The quoted post as embedded, when there is one. */
  quoted: Post.nullable(),
  /** The channel or account, when the target is a channel or profile page (its posts are in `replies`). */
  profile: Profile.nullable().optional(),
  proof: AuthorshipProof.nullable(),
  /** Responses the collector itself requested through the recording browser context (beyond what the page loaded), and why. */
  collectorRequests: z.array(CollectorRequest),
  /** Digest of each artifact's bytes the extraction read from the WARC, for re-checking: URL → sha256 of the decoded body. */
  readFrom: z.array(z.object({ url: z.string(), sha256: Sha256Digest, source: PostSource })),
  /** Reasons to review this document before relying on it; empty when the collector read the page in a layout it knows. */
  review: z.array(ReviewFlag).default([]),
});
export type PostDocument = z.infer<typeof PostDocument>;
