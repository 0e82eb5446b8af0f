import type { Failure } from '../schemas/errors.js';

/** CLI exit codes. Documented in the README; never renumber. */
export const EXIT = {
  /** Everything asked for succeeded (captures sealed, package verified). */
  OK: 0,
  /** Unexpected internal error (a bug, or an unclassified failure). */
  INTERNAL: 1,
  /** Wrong command-line usage. */
  USAGE: 2,
  /** Configuration failed validation. */
  INVALID_CONFIG: 3,
  /** Bad input: malformed URL, unsupported scheme, blocked private target, unreadable URL list. */
  INVALID_INPUT: 4,
  /** The page failed (DNS, refused, TLS, HTTP 4xx/5xx, timeout); what was observed is sealed. */
  CAPTURE_FAILED: 5,
  /** Capture, case or file not found. */
  NOT_FOUND: 6,
  /** Stored, but not signed or not timestamped (TSA unreachable): evidence is unsealed. */
  UNSEALED: 7,
  /** Integrity failure: hash mismatch, bad signature or token, broken custody chain, package does not verify. */
  INTEGRITY: 8,
  /** A service Exhibit needs (Redis, store, browser) is unavailable. */
  UNAVAILABLE: 9,
  /** The package is internally consistent, but its signing key or TSA is not pinned: not authenticated. */
  UNAUTHENTICATED: 10,
  /** A Debian package or tool is missing (from ./exhibit). */
  MISSING_DEPENDENCY: 69,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Map a failure to the exit code a script can act on. */
export function exitCodeFor(failure: Failure): ExitCode {
  if (failure.kind === 'integrity') return EXIT.INTEGRITY;
  switch (failure.code) {
    case 'INVALID_CONFIG':
      return EXIT.INVALID_CONFIG;
    case 'INVALID_URL':
    case 'UNSUPPORTED_SCHEME':
    case 'BLOCKED_ADDRESS':
    case 'INVALID_INPUT':
      return EXIT.INVALID_INPUT;
    case 'NOT_FOUND':
      return EXIT.NOT_FOUND;
    case 'DNS_FAILURE':
    case 'CONNECTION_FAILED':
    case 'TLS_ERROR':
    case 'HTTP_ERROR':
    case 'TIMEOUT':
    case 'TOO_LARGE':
    case 'NOT_VISIBLE':
      return EXIT.CAPTURE_FAILED;
    case 'TIMESTAMP_FAILED':
      return EXIT.UNSEALED;
    case 'STORE_ERROR':
    case 'BROWSER_ERROR':
    case 'UNAVAILABLE':
      return EXIT.UNAVAILABLE;
    case 'NAVIGATION_BLOCKED':
      return EXIT.CAPTURE_FAILED;
    case 'UNAUTHENTICATED':
      return EXIT.UNAUTHENTICATED;
    default:
      return EXIT.INTERNAL;
  }
}
