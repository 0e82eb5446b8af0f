import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { PermanentError } from '../lib/errors.js';

// canonicalize is CommonJS (module.exports = fn) while its typings declare an ES default export;
// require() gives the function under every module setting.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined;

/**
 * RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value: sorted keys, no whitespace,
 * ECMAScript number formatting, UTF-8. The same value always gives the same bytes, so its hash
 * is stable. Values JSON cannot represent (undefined at top level, non-finite numbers, BigInt) are refused.
 */
export function canonicalBytes(value: unknown): Buffer {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new PermanentError('INVALID_INPUT', `value cannot be canonicalised as JSON: ${(cause as Error).message}`, { cause });
  }
  if (text === undefined) throw new PermanentError('INVALID_INPUT', 'value cannot be canonicalised as JSON (undefined)');
  return Buffer.from(text, 'utf8');
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
