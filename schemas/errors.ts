import { z } from 'zod';

/**
 * Stable error codes. They cross process boundaries (BullMQ failedReason, API bodies, CLI output),
 * so never rename one; add new ones at the end.
 */
export const ERROR_CODES = [
  'INVALID_URL',
  'UNSUPPORTED_SCHEME',
  'BLOCKED_ADDRESS',
  'DNS_FAILURE',
  'CONNECTION_FAILED',
  'TLS_ERROR',
  'HTTP_ERROR',
  'TIMEOUT',
  'TOO_LARGE',
  'BROWSER_ERROR',
  'CORRUPT_MEDIA',
  'METADATA_FAILED',
  'HASH_MISMATCH',
  'STORE_CONFLICT',
  'STORE_ERROR',
  'SIGNATURE_INVALID',
  'TIMESTAMP_FAILED',
  'TIMESTAMP_INVALID',
  'CUSTODY_CHAIN_BROKEN',
  'PACKAGE_INVALID',
  'INVALID_CONFIG',
  'INVALID_INPUT',
  'NOT_FOUND',
  'INTERNAL',
  // The platform did not show the post (login wall, deleted, unavailable, age/region gate, rate limit); see post.json `visibility`.
  'NOT_VISIBLE',
  // The page navigated (redirect, script, meta refresh) to an address the network policy blocks.
  'NAVIGATION_BLOCKED',
  // A package is internally consistent, but its signer or TSA is not a pinned trust anchor.
  'UNAUTHENTICATED',
  // Too many attempts (sign-in): try again after the stated delay.
  'RATE_LIMITED',
  // A service Exhibit needs (Redis) did not answer in time or is down; retrying later may help.
  'UNAVAILABLE',
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** Which kind of failure: steers retries (see lib/errors.ts). */
export const ERROR_KINDS = ['transient', 'permanent', 'integrity'] as const;
export const ErrorKind = z.enum(ERROR_KINDS);
export type ErrorKind = z.infer<typeof ErrorKind>;

/** A failure as data: in manifests, job results and API bodies. */
export const Failure = z.object({
  code: ErrorCode,
  kind: ErrorKind,
  message: z.string(),
});
export type Failure = z.infer<typeof Failure>;
