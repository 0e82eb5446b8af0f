import type { ErrorCode, ErrorKind, Failure } from '../schemas/errors.js';

/**
 * Base of every error Exhibit raises on purpose. Errors cross process boundaries (BullMQ stores
 * `name` and `message`), so match on `name` and `code`, not only on the class.
 */
export class ExhibitError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExhibitError';
    this.code = code;
    this.kind = kind;
  }
  toFailure(): Failure {
    return { code: this.code, kind: this.kind, message: this.message };
  }
}

/** Network blips, TSA down, rate limits: the job is retried with backoff. */
export class TransientError extends ExhibitError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super('transient', code, message, options);
    this.name = 'TransientError';
  }
}

/** Bad input, blocked target, page gone: retrying cannot help. */
export class PermanentError extends ExhibitError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super('permanent', code, message, options);
    this.name = 'PermanentError';
  }
}

/** Hash mismatch, bad signature or token, broken chain: never retried, always custody-logged. */
export class IntegrityError extends ExhibitError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super('integrity', code, message, options);
    this.name = 'IntegrityError';
  }
}

/** Configuration failed validation at start-up. */
export class ConfigError extends ExhibitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('permanent', 'INVALID_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

const KINDS = new Set<string>(['transient', 'permanent', 'integrity']);

/** Any thrown value as a Failure record; unknown errors are `INTERNAL` and transient. */
export function toFailure(err: unknown): Failure {
  if (err instanceof ExhibitError) return err.toFailure();
  if (err && typeof err === 'object' && 'code' in err && 'kind' in err && KINDS.has(String((err as { kind: unknown }).kind))) {
    const e = err as { code: ErrorCode; kind: ErrorKind; message?: unknown };
    return { code: e.code, kind: e.kind, message: String(e.message ?? '') };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', kind: 'transient', message };
}

