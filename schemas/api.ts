import { z } from 'zod';
import { CaseId, IsoUtc, LegalBasis, Sha256Digest, Uuid } from './common.js';
import { CustodyEvent, PackageReport, SignatureRecord, TimestampRecord } from './custody.js';
import { Failure } from './errors.js';
import { JobProgress, SealResult } from './jobs.js';
import { StoredCaptureManifest } from './manifest.js';
import { VisibilityState } from './post.js';
import { WatchRunWithChanges, WatchStatus, WatchWebhook, WebhookDeliveryFailure } from './watch.js';
import { TargetUrlText } from './target-url.js';
import { ImportRecord, Tlp } from './share.js';

/**
 * Bodies of the HTTP API (`exhibit serve`). The OpenAPI document at `/openapi.json` is generated
 * from these schemas and the route table in app/api/routes.ts.
 */

/** Roles of API users. Closed vocabulary: see the README for what each may do. */
export const ROLES = ['analyst', 'prosecutor', 'auditor', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** A user name: safe in logs, custody events and Redis keys. */
export const UserName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'user name may hold letters, digits, ".", "_", "@" and "-" and must start with a letter or digit');

/** A user as stored (Redis, `<prefix>:api:users`). Tokens are stored separately, hashed. */
export const UserRecord = z.object({
  schemaVersion: z.literal('exhibit.user/1'),
  name: UserName,
  role: Role,
  /** Cases the user is a member of; every case-scoped request checks this list. */
  cases: z.array(CaseId),
  createdAt: IsoUtc,
  createdBy: z.string(),
  disabled: z.boolean().default(false),
});
export type UserRecord = z.infer<typeof UserRecord>;

/** Error body of every non-2xx answer. `code` is an ErrorCode or one of the API's own. */
export const ApiError = z.object({ code: z.string(), message: z.string() });
export type ApiError = z.infer<typeof ApiError>;

export const LoginRequest = z.object({ name: UserName, token: z.string().min(10).max(200) });
export const SessionInfo = z.object({
  user: z.object({ name: UserName, role: Role, cases: z.array(CaseId) }),
  /** Send back as `X-CSRF-Token` on every state-changing request made with the session cookie. */
  csrfToken: z.string().nullable(),
  /** How this request was authenticated. */
  via: z.enum(['session', 'token']),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const CreateUserRequest = z.object({ name: UserName, role: Role, cases: z.array(CaseId).max(1000).default([]) });
export const UpdateUserRequest = z.object({
  role: Role.optional(),
  addCases: z.array(CaseId).max(1000).optional(),
  removeCases: z.array(CaseId).max(1000).optional(),
  disabled: z.boolean().optional(),
});
export const PublicUser = UserRecord.omit({ schemaVersion: true }).extend({ tokens: z.number().int().nonnegative() });
export const UserList = z.object({ users: z.array(PublicUser) });
/** A fresh API token: shown once, stored only as its SHA-256. */
export const IssuedToken = z.object({ name: UserName, token: z.string(), tokenId: z.string() });

export const SubmitRequest = z.object({
  /** One or many URLs (a pasted list is split on lines by the client); each is accepted or rejected on its own. */
  urls: z.array(TargetUrlText).min(1).max(1000),
  legalBasis: LegalBasis,
  /** Capture again even when the same URL was already captured into this case. */
  force: z.boolean().optional(),
});
export type SubmitRequest = z.infer<typeof SubmitRequest>;
export const SubmitResponse = z.object({
  caseId: CaseId,
  accepted: z.array(z.object({ url: z.string(), captureId: Uuid, duplicate: z.boolean() })),
  rejected: z.array(z.object({ url: z.string(), failure: Failure })),
});

export const CAPTURE_STATES = ['unknown', 'queued', 'capturing', 'sealing', 'sealed', 'unsealed', 'failed'] as const;
export const CaptureStatusBody = z.object({
  captureId: z.string(),
  state: z.enum(CAPTURE_STATES),
  progress: JobProgress.nullable(),
  result: SealResult.nullable(),
  failure: Failure.nullable(),
  attempts: z.number().int().nonnegative(),
  url: z.string().nullable(),
});
export type CaptureStatusBody = z.infer<typeof CaptureStatusBody>;
export const StatusList = z.object({ captures: z.array(CaptureStatusBody) });

export const CaseSummary = z.object({ caseId: CaseId, sealedCaptures: z.number().int().nonnegative() });
export const CaseList = z.object({ cases: z.array(CaseSummary) });

/** One row of a case's capture list. */
export const CaptureSummary = z.object({
  captureId: Uuid,
  url: z.string().nullable(),
  state: z.enum(CAPTURE_STATES),
  /** `captured` or `failed` once sealed (the page itself may have failed). */
  pageStatus: z.enum(['captured', 'failed']).nullable(),
  title: z.string().nullable(),
  /** Platform from post.json, else the collector id. */
  platform: z.string().nullable(),
  author: z.string().nullable(),
  requestedBy: z.string().nullable(),
  submittedAt: IsoUtc.nullable(),
  sealedAt: IsoUtc.nullable(),
  /** Artifact name of the screenshot thumbnail, when there is one. */
  thumbnail: z.string().nullable(),
  progress: JobProgress.nullable(),
  failure: Failure.nullable(),
  /** The watch that made this capture, when a watch made it. */
  watchId: Uuid.nullable().default(null),
  /** A watch's re-capture of an edited post: the earlier capture it supersedes. */
  supersedes: Uuid.nullable().default(null),
  /** A watch's observation of a post gone from its list: the post's last capture. */
  observationOf: Uuid.nullable().default(null),
  /** Analysts' tags on the capture (custody events; not evidence). */
  tags: z.array(z.string()).default([]),
  /** What the capture holds, from its sealed post.json: who said what and when, and what the platform showed. Null for a plain web page. */
  content: z
    .object({
      authorName: z.string().nullable(),
      authorHandle: z.string().nullable(),
      /** The first lines of the post text (or of the first post of a list page), as served. */
      text: z.string().nullable(),
      /** `rtl`/`ltr` of that text as recorded in post.json; null when unknown. */
      direction: z.enum(['ltr', 'rtl']).nullable(),
      /** BCP 47 tag only when the platform states it (never the page language). */
      language: z.string().nullable(),
      /** The platform's published time: its UTC reading, else its own string. */
      published: z.string().nullable(),
      visibility: VisibilityState,
      /** The visibility in words ("login wall", "deleted by the platform", "not recognised — review"). */
      visibilityWords: z.string(),
      /** Posts a list capture (channel page, profile, timeline) shows; 0 for a single post. */
      listed: z.number().int().nonnegative(),
    })
    .nullable()
    .default(null),
});
export type CaptureSummary = z.infer<typeof CaptureSummary>;
export const CaptureList = z.object({ caseId: CaseId, captures: z.array(CaptureSummary) });

export const CaptureDetail = z.object({
  caseId: CaseId,
  captureId: Uuid,
  state: z.enum(CAPTURE_STATES),
  manifest: StoredCaptureManifest,
  manifestDigest: Sha256Digest,
  signature: SignatureRecord.nullable(),
  timestamps: z.array(TimestampRecord),
  hasPost: z.boolean(),
});

/** Text blocks of the captured DOM (paragraphs, headings, list items), shown as inert text. */
export const PageText = z.object({
  source: z.string().nullable(),
  blocks: z.array(z.object({ tag: z.string(), text: z.string(), lang: z.string().nullable(), dir: z.string().nullable() })),
  truncated: z.boolean(),
});

/** Extracted metadata of a capture's media (exifr, ffprobe derivatives), with GPS where found. */
export const CaptureMetadata = z.object({
  items: z.array(
    z.object({
      artifact: z.string(),
      source: z.string(),
      method: z.string(),
      tool: z.string(),
      gps: z.object({ latitude: z.number(), longitude: z.number() }).nullable(),
      data: z.unknown(),
    }),
  ),
});

export const CustodyTimeline = z.object({ caseId: CaseId, events: z.array(CustodyEvent) });

export const PackageRequest = z.object({
  captureIds: z.array(Uuid).max(10_000).optional(),
  /** Include the case graph as a derived analysis product (data/analysis/), built from the packaged captures. */
  graph: z.boolean().optional(),
});
export const PACKAGE_STATES = ['building', 'ready', 'failed'] as const;
export const PackageJob = z.object({
  schemaVersion: z.literal('exhibit.api-package/1'),
  packageId: Uuid,
  caseId: CaseId,
  captureIds: z.array(Uuid).nullable(),
  /** Whether the package carries the case graph (absent on jobs recorded before the option existed). */
  graph: z.boolean().optional(),
  state: z.enum(PACKAGE_STATES),
  phase: z.string(),
  percent: z.number().min(0).max(100),
  requestedBy: UserName,
  createdAt: IsoUtc,
  finishedAt: IsoUtc.nullable(),
  fileName: z.string(),
  sha256: Sha256Digest.nullable(),
  size: z.number().int().nonnegative().nullable(),
  failure: Failure.nullable(),
  /** Set when the package is built for a partner agency (`POST …/shares`); absent on a court package. */
  share: z.object({ partner: z.string(), legalBasis: z.string(), tlp: Tlp, expires: z.string().nullable(), withhold: z.array(z.string()) }).optional(),
});
export type PackageJob = z.infer<typeof PackageJob>;

const DateOnly = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

/** `POST /api/cases/:caseId/shares`: a package for a partner agency, as `exhibit share` builds it. */
export const ShareRequest = z.object({
  partner: z.string().min(1).max(200),
  captureIds: z.array(Uuid).min(1).max(10_000),
  /** Artifact roles, names or bag paths to leave out (each must match something). */
  withhold: z.array(z.string().min(1).max(1000)).max(1000).default([]),
  legalBasis: z.string().trim().min(1).max(2000),
  tlp: Tlp.default('amber'),
  /** Last day (UTC) the partner may use the material; null: no expiry. */
  expires: DateOnly.nullable().default(null),
});

/** One share of a case, as its `shared` custody event records it. */
export const ShareSummary = z.object({
  seq: z.number().int(),
  at: IsoUtc,
  sharedBy: z.string(),
  shareId: z.string(),
  packageId: z.string(),
  partner: z.string(),
  legalBasis: z.string(),
  tlp: z.string(),
  expires: z.string().nullable(),
  captureIds: z.array(z.string()),
  withheld: z.array(z.object({ captureId: z.string(), name: z.string(), sha256: z.string() })),
  shareRecordDigest: z.string(),
});
export type ShareSummary = z.infer<typeof ShareSummary>;
export const ShareList = z.object({ caseId: CaseId, shares: z.array(ShareSummary) });

/** A partner as pinned here (read-only through the API: pins are managed on the CLI). */
export const PartnerSummary = z.object({ name: z.string(), signingKeys: z.array(Sha256Digest), tsaRoots: z.array(z.object({ fingerprint: Sha256Digest, subject: z.string().optional() })), addedAt: IsoUtc.optional() });
export const PartnerList = z.object({ partners: z.array(PartnerSummary) });

/** What `POST /api/cases/:caseId/imports` answers. */
export const ImportResponse = z.object({
  created: z.boolean(),
  recordKey: z.string(),
  record: ImportRecord,
  custodySeqs: z.array(z.number().int()),
  verdict: z.string(),
});

/** What `POST /api/verify` answers: the verifier's report, the upload's digest and the custody event. */
export const VerifyResponse = z.object({
  report: PackageReport,
  /** `sha256:` of the uploaded bytes. */
  uploadSha256: Sha256Digest,
  /** Custody event recording the verification, when the package is of a case you are a member of. */
  custodySeq: z.number().int().nullable(),
});

export const Health = z.object({ ok: z.boolean(), redis: z.string(), store: z.string() });

/**
 * `POST …/captures/:captureId/replay`: a replay view of one capture. The viewer URL is on the
 * replay origin (never the web app's) and carries a short-lived token that lets that origin read
 * this capture's archive, and nothing else.
 */
export const ReplayTicket = z.object({
  /** Viewer page on the replay origin; open it in a sandboxed frame. */
  viewerUrl: z.string().url(),
  /** The replay origin, for the frame's CSP. */
  replayOrigin: z.string().url(),
  /** The archive replayed: the capture's WACZ when it has one, else its WARC. */
  archive: z.object({ name: z.string(), role: z.string(), sha256: Sha256Digest, size: z.number().int().nonnegative() }),
  /** The page opened first: the capture's final URL (else the requested one). */
  pageUrl: z.string(),
  expiresAt: IsoUtc,
  /** The custody event recording this view. */
  custodySeq: z.number().int(),
});
export type ReplayTicket = z.infer<typeof ReplayTicket>;
/** `POST /api/watches`: the watch is made on the authority of the signed-in analyst. */
export const WatchAddRequest = z.object({
  url: z.string().min(1).max(8192),
  caseId: CaseId,
  /** A whole number and m, h or d, 1m to 7d (`15m`). */
  every: z.string().max(16),
  legalBasis: z.string().max(2000).optional(),
  webhook: WatchWebhook.optional(),
  /** Queue a first run now instead of waiting for the first slot. */
  runNow: z.boolean().optional(),
});
export const WatchList = z.object({ watches: z.array(WatchStatus) });
export const WatchEventsQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });
/** The runs of a watch (newest first) with their changes, and its failed webhook deliveries. */
export const WatchEvents = z.object({
  status: WatchStatus,
  runs: z.array(WatchRunWithChanges),
  failedDeliveries: z.array(WebhookDeliveryFailure),
});
