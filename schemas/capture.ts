import { z } from 'zod';
import { ActorId, CaseId, CliOperator, CollectorRequest, IsoUtc, LegalBasis, Uuid, WebUser } from './common.js';
import { TargetUrl } from './target-url.js';

/** A collection account's label or platform name: letters, digits, `.`, `_`, `-` (it names a file). */
export const AccountName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" only, at most 64');

/** Which collection account a capture used: never cookies or passwords. */
export const AccountUse = z.object({ label: AccountName, platform: AccountName, handle: z.string().nullable() });
export type AccountUse = z.infer<typeof AccountUse>;

/** Per-request capture options; anything left out falls back to config. */
export const CaptureOptions = z.object({
  /** Allow private, loopback and link-local targets (the local sample site). @defaultValue false */
  allowPrivateNetwork: z.boolean().optional(),
  /** Capture again even when the same URL was already captured into the same case. @defaultValue false */
  force: z.boolean().optional(),
  /** Hard limit for the whole page capture, in ms. */
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  /** Capture logged in as this collection account (its label; see `exhibit accounts`). @defaultValue none: logged out */
  account: AccountName.optional(),
  /** Also capture the author's profile page (a linked capture into the same case). @defaultValue false */
  withProfile: z.boolean().optional(),
  /** Set on the linked profile capture: the capture whose author this profile is. */
  profileOf: Uuid.optional(),
  /** Set on captures a watchlist made: the watch (see `exhibit watch`). */
  watchId: Uuid.optional(),
  /** Set on a re-capture of an edited post: the earlier capture of the same post it follows. */
  supersedes: Uuid.optional(),
  /** Set on an observation capture of a post that disappeared: the last capture that showed it. */
  observationOf: Uuid.optional(),
});
export type CaptureOptions = z.infer<typeof CaptureOptions>;

/** What an analyst (or a watchlist) asks for. */
export const CaptureRequest = z.object({
  url: TargetUrl,
  caseId: CaseId,
  requestedBy: ActorId,
  legalBasis: LegalBasis,
  options: CaptureOptions.default({}),
  /** When submitted on the command line: the name given and the OS user and host that ran it. */
  operator: CliOperator.optional(),
  /** When submitted through the web app or API: the signed-in user. */
  user: WebUser.optional(),
});
export type CaptureRequest = z.infer<typeof CaptureRequest>;

export const HttpHeader = z.tuple([z.string(), z.string()]);

/** One hop of the main document's redirect chain. */
export const RedirectHop = z.object({
  url: z.string(),
  status: z.number().int(),
  location: z.string().optional(),
});

export const TlsFacts = z.object({
  protocol: z.string().nullable(),
  cipher: z.string().nullable(),
  subject: z.string().nullable(),
  issuer: z.string().nullable(),
  validFrom: z.string().nullable(),
  validTo: z.string().nullable(),
  fingerprintSha256: z.string().nullable(),
  /** Whether the certificate chain validated against the system trust store. */
  authorized: z.boolean(),
  authorizationError: z.string().nullable(),
});
export type TlsFacts = z.infer<typeof TlsFacts>;

/** What the collector observed about the page itself. */
export const PageFacts = z.object({
  requestedUrl: z.string(),
  finalUrl: z.string().nullable(),
  redirects: z.array(RedirectHop),
  status: z.number().int().nullable(),
  /** Main document response headers, in order, as received. */
  headers: z.array(HttpHeader),
  remoteIp: z.string().nullable(),
  /** DNS answers for the target host at capture time (addresses, in resolver order). */
  dns: z.object({ host: z.string(), addresses: z.array(z.string()), error: z.string().nullable() }).nullable(),
  tls: TlsFacts.nullable(),
  title: z.string().nullable(),
  canonicalUrl: z.string().nullable(),
  lang: z.string().nullable(),
  dir: z.string().nullable(),
  meta: z.object({
    openGraph: z.record(z.string(), z.string()),
    twitter: z.record(z.string(), z.string()),
    description: z.string().nullable(),
  }),
  jsonLd: z.array(z.unknown()),
  /** Sizes of the page as rendered (CSS px). */
  documentSize: z.object({ width: z.number(), height: z.number() }).nullable(),
  requestCount: z.number().int(),
  /** Requests that were refused by policy or failed, with the reason. */
  blockedRequests: z.array(z.object({ url: z.string(), reason: z.string() })),
  /**
   * Requests the collector made itself through the page's recording context (in the WARC like the
   * page's own), e.g. the whole of a video the page fetched only in byte ranges. Absent in captures
   * made before it was recorded.
   */
  collectorRequests: z.array(CollectorRequest).default([]),
});
export type PageFacts = z.infer<typeof PageFacts>;

/** Where, how and by whom a capture was made. */
export const CaptureEnvironment = z.object({
  exhibitVersion: z.string(),
  gitCommit: z.string().nullable(),
  collector: z.object({ id: z.string(), version: z.string() }),
  playwrightVersion: z.string(),
  browserVersion: z.string(),
  userAgent: z.string(),
  viewport: z.object({ width: z.number().int(), height: z.number().int() }),
  locale: z.string(),
  timezone: z.string(),
  hostname: z.string(),
  platform: z.string(),
  nodeVersion: z.string(),
  operator: z.string(),
  startedAt: IsoUtc,
  finishedAt: IsoUtc,
  network: z.object({
    localAddresses: z.array(z.string()),
    proxy: z.string().nullable(),
    egressIp: z.string().nullable(),
    egressIpSource: z.string().nullable(),
    egressIpError: z.string().nullable(),
  }),
  captureMethod: z.string(),
  /** The collection account the browser was logged in as (label, platform, handle); absent when none was requested. */
  account: AccountUse.nullable().optional(),
});
export type CaptureEnvironment = z.infer<typeof CaptureEnvironment>;
