import { z } from 'zod';
import { ActorId, CaseId, IsoUtc, LegalBasis, Sha256Digest, Uuid } from './common.js';
import { Failure } from './errors.js';
import { ReviewFlag, VisibilityState } from './post.js';
import { TargetUrl } from './target-url.js';

/** Shortest and longest watch interval. */
export const WATCH_MIN_EVERY_MS = 60_000;
export const WATCH_MAX_EVERY_MS = 7 * 24 * 3_600_000;

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parse a watch interval: a positive whole number and one unit, `m`, `h` or `d` (`15m`, `1h`, `7d`).
 * Strict: no spaces, no fractions, no seconds, no combinations; between 1 minute and 7 days.
 * Returns the milliseconds or an error message (the caller turns it into INVALID_INPUT).
 */
export function parseInterval(text: string): { ok: true; ms: number } | { ok: false; message: string } {
  const m = /^([1-9][0-9]{0,5})([mhd])$/.exec(text);
  if (!m) return { ok: false, message: `invalid interval "${text}": expected a whole number and a unit m, h or d, e.g. 15m, 1h, 7d` };
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms < WATCH_MIN_EVERY_MS) return { ok: false, message: `invalid interval "${text}": at least 1m` };
  if (ms > WATCH_MAX_EVERY_MS) return { ok: false, message: `invalid interval "${text}": at most 7d` };
  return { ok: true, ms };
}

/** An interval as written back for people (`90m` → `90m`, `3600000` → `1h`). */
export function formatInterval(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms}ms`;
}

export const WATCH_STATES = ['active', 'paused'] as const;
export const WatchState = z.enum(WATCH_STATES);
export type WatchState = z.infer<typeof WatchState>;

/** Where findings are POSTed. The secret lives only in Redis (never in custody events or manifests). */
export const WatchWebhook = z.object({
  url: z.string().url().refine((u) => /^https?:\/\//.test(u), 'webhook must be http(s)'),
  secret: z.string().min(16, 'webhook secret: at least 16 characters').max(512),
});
export type WatchWebhook = z.infer<typeof WatchWebhook>;

/** A watch: one target re-captured into one case on a schedule, on the authority of `createdBy`. */
export const Watch = z.object({
  schemaVersion: z.literal('exhibit.watch/1'),
  id: Uuid,
  url: TargetUrl,
  caseId: CaseId,
  every: z.number().int().min(WATCH_MIN_EVERY_MS).max(WATCH_MAX_EVERY_MS),
  /** The human on whose authority every automated capture of this watch is made. */
  createdBy: ActorId,
  legalBasis: LegalBasis,
  webhook: WatchWebhook.optional(),
  /** Allow private/loopback targets (local test sites only), passed to every capture. */
  allowPrivateNetwork: z.boolean().optional(),
  state: WatchState,
  createdAt: IsoUtc,
});
export type Watch = z.infer<typeof Watch>;

/** What `watch add` takes (interval as text). */
export const WatchInput = z.object({
  url: TargetUrl,
  caseId: CaseId,
  every: z.string(),
  createdBy: ActorId,
  legalBasis: LegalBasis,
  webhook: WatchWebhook.optional(),
  allowPrivateNetwork: z.boolean().optional(),
});
export type WatchInput = z.infer<typeof WatchInput>;

export const FINDING_KINDS = ['new', 'edited', 'deleted'] as const;
export const FindingKind = z.enum(FINDING_KINDS);

/** One change a run saw. */
export const WatchFinding = z.object({
  kind: FindingKind,
  /** The platform's post id (`sahel_news/103`), lower-cased. */
  postKey: z.string(),
  postUrl: z.string().nullable(),
  /** The capture made for this finding (individual, re-capture or observation). */
  captureId: Uuid.optional(),
  /** For `edited` and `deleted`: the last earlier capture of the post. */
  previousCaptureId: Uuid.optional(),
  contentHash: z.string().optional(),
  previousContentHash: z.string().optional(),
  observedAt: IsoUtc,
});
export type WatchFinding = z.infer<typeof WatchFinding>;

/** One run of a watch, as kept in Redis and listed by `watch events`. */
export const WatchRun = z.object({
  watchId: Uuid,
  run: z.number().int().positive(),
  startedAt: IsoUtc,
  finishedAt: IsoUtc,
  outcome: z.enum(['ok', 'failed']),
  /** The capture of the watched page itself. */
  targetCaptureId: Uuid.nullable(),
  /** What the platform showed for the target (post.json visibility state). */
  visibility: z.string().nullable(),
  postsSeen: z.number().int().nonnegative(),
  findings: z.array(WatchFinding),
  /**
   * Why a person should check this run's findings: the target's post.json review flags (a
   * `not-recognised` page was diffed on its generic extraction). Absent in runs recorded before.
   */
  review: z.array(ReviewFlag).default([]),
  failure: Failure.nullable(),
  consecutiveFailures: z.number().int().nonnegative(),
  /** The interval in force after this run (doubled while the target keeps failing). */
  effectiveEvery: z.number().int().positive(),
});
export type WatchRun = z.infer<typeof WatchRun>;

/** A watch with its run status, as `watch list` shows it. */
export const WatchStatus = z.object({
  watch: Watch.omit({ webhook: true }).extend({ webhook: z.object({ url: z.string() }).optional() }),
  runs: z.number().int().nonnegative(),
  lastRunAt: IsoUtc.nullable(),
  lastOutcome: z.enum(['ok', 'failed']).nullable(),
  consecutiveFailures: z.number().int().nonnegative(),
  effectiveEvery: z.number().int().positive(),
  backingOff: z.boolean(),
  lastFailure: Failure.nullable(),
  nextRunAt: IsoUtc.nullable(),
});
export type WatchStatus = z.infer<typeof WatchStatus>;

/** The body POSTed to a watch's webhook, one per finding. */
export const WatchWebhookPayload = z.object({
  schemaVersion: z.literal('exhibit.watch-finding/1'),
  deliveryId: z.string(),
  watchId: Uuid,
  caseId: CaseId,
  url: z.string(),
  run: z.number().int().positive(),
  finding: WatchFinding,
  /** Same instant as the `X-Exhibit-Timestamp` header; covered by the signature. */
  sentAt: IsoUtc,
});
export type WatchWebhookPayload = z.infer<typeof WatchWebhookPayload>;

/** One piece of a word-level text diff, in reading order. */
export const TextDiffPart = z.object({ op: z.enum(['same', 'removed', 'added']), text: z.string() });
export type TextDiffPart = z.infer<typeof TextDiffPart>;

/** One media item of a post side, keyed by the digest of its recorded bytes (or its URL when none was recorded). */
export const ChangeMedia = z.object({
  type: z.string(),
  /** `sha256:` of the recorded bytes; null when the platform's media was not recorded. */
  digest: Sha256Digest.nullable(),
  artifact: z.string().nullable(),
  sourceUrl: z.string().nullable(),
});
export type ChangeMedia = z.infer<typeof ChangeMedia>;

/** One side of a change: the post as one sealed capture recorded it. */
export const ChangeSide = z.object({
  captureId: Uuid,
  /** `pending`: not sealed yet; `unreadable`: sealed, but its post.json could not be read (see `note`). */
  state: z.enum(['sealed', 'pending', 'unreadable']),
  /** When the capture observed the page (post.json `observedAt`). */
  observedAt: IsoUtc.nullable(),
  visibility: VisibilityState.nullable(),
  visibilityReason: z.string().nullable(),
  /** What the platform showed that decided `visibility` (`.tgme_widget_message_error: Post not found`). */
  signals: z.array(z.string()),
  author: z.string().nullable(),
  published: z.string().nullable(),
  text: z.string().nullable(),
  direction: z.enum(['ltr', 'rtl']).nullable(),
  language: z.string().nullable(),
  media: z.array(ChangeMedia),
  note: z.string().nullable(),
});
export type ChangeSide = z.infer<typeof ChangeSide>;

/**
 * A finding of a run read back from the sealed captures on both sides: for an edit, old and new
 * text as a word diff and media added or removed by digest; for a deletion, the last capture and
 * what the observation capture showed. Derived, always rebuildable from the store.
 */
export const WatchChange = z.object({
  run: z.number().int().positive(),
  kind: FindingKind,
  postKey: z.string(),
  postUrl: z.string().nullable(),
  observedAt: IsoUtc,
  before: ChangeSide.nullable(),
  after: ChangeSide.nullable(),
  /** Null when either side's text is not available (yet). */
  textDiff: z.array(TextDiffPart).nullable(),
  /** The texts were too long for a word diff: the diff is old text removed, new text added. */
  textDiffCoarse: z.boolean(),
  mediaAdded: z.array(ChangeMedia),
  mediaRemoved: z.array(ChangeMedia),
  /**
   * For `deleted`: whether the platform positively said the post is gone (the observation capture
   * shows `deleted` or `unavailable` with the platform's signal), `unconfirmed` when it did not, or
   * `pending` while the observation capture is not sealed.
   */
  gone: z.enum(['confirmed', 'unconfirmed', 'pending']).nullable(),
});
export type WatchChange = z.infer<typeof WatchChange>;

/** A webhook delivery that failed for good (all attempts used, or refused as permanent). */
export const WebhookDeliveryFailure = z.object({
  deliveryId: z.string(),
  run: z.number().int().positive(),
  kind: FindingKind,
  postKey: z.string(),
  attempts: z.number().int().nonnegative(),
  failedAt: IsoUtc.nullable(),
  reason: z.string(),
});
export type WebhookDeliveryFailure = z.infer<typeof WebhookDeliveryFailure>;

/** A run with its changes read back from the sealed captures. */
export const WatchRunWithChanges = WatchRun.extend({ changes: z.array(WatchChange) });
export type WatchRunWithChanges = z.infer<typeof WatchRunWithChanges>;
