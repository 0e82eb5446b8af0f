import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import { ExhibitError, toFailure } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ApiError } from '../../schemas/api.js';

/** An HTTP-level refusal with its own status and code (authentication, permission, body limits). */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  /** Extra response headers (Retry-After). */
  readonly headers: Record<string, string>;
  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const unauthenticated = (message = 'sign in, or send Authorization: Bearer <token>') => new HttpError(401, 'UNAUTHENTICATED', message);
export const forbidden = (message: string) => new HttpError(403, 'FORBIDDEN', message);
/** Case-scoped misses and non-membership answer the same, so a non-member learns nothing. */
export const caseNotFound = (caseId: string) => new HttpError(404, 'NOT_FOUND', `no case ${caseId} that you are a member of`);

/** Status for an ExhibitError code: integrity failures are 409 (the stored evidence conflicts with its record). */
export function statusFor(err: ExhibitError): ContentfulStatusCode {
  if (err.kind === 'integrity') return 409;
  switch (err.code) {
    case 'NOT_FOUND':
      return 404;
    case 'INVALID_INPUT':
    case 'INVALID_URL':
    case 'UNSUPPORTED_SCHEME':
    case 'BLOCKED_ADDRESS':
    case 'INVALID_CONFIG':
      return 400;
    case 'TOO_LARGE':
      return 413;
    case 'STORE_ERROR':
    case 'BROWSER_ERROR':
      return 503;
    default:
      return err.kind === 'transient' ? 503 : 500;
  }
}

/** The one error handler: every failure leaves as `{code, message}`; internals are logged, not sent. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    let status: ContentfulStatusCode;
    let body: ApiError;
    let headers: Record<string, string> = {};
    if (err instanceof HttpError) {
      status = err.status;
      body = { code: err.code, message: err.message };
      headers = err.headers;
    } else if (err instanceof ZodError) {
      status = 400;
      body = { code: 'INVALID_INPUT', message: err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
    } else if (err instanceof ExhibitError) {
      status = statusFor(err);
      body = { code: err.code, message: err.message };
    } else {
      const f = toFailure(err);
      status = 500;
      body = { code: f.code, message: 'internal error (logged on the server)' };
    }
    if (status >= 500) logger.error({ context: 'api', err, path: c.req.path, method: c.req.method }, 'request failed');
    else logger.debug({ context: 'api', code: body.code, path: c.req.path }, 'request refused');
    // A body over its limit is left unread: close the connection rather than read the rest of it.
    if (status === 413) headers = { ...headers, Connection: 'close' };
    return c.json(body, status, headers);
  };
}
