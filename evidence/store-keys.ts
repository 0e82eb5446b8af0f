import { PermanentError } from '../lib/errors.js';

const BLOB_KEY = /^sha256\/[0-9a-f]{64}$/;

/** Whether a key is a content address (`sha256/<64 hex>`). */
export function isBlobKey(key: string): boolean {
  return BLOB_KEY.test(key);
}

/**
 * Refuse keys that could escape the store or alias another key: empty, absolute, backslashes,
 * NUL or control characters, `.`/`..`/empty segments. Both stores share this so they agree.
 */
export function assertValidKey(key: string): void {
  const bad = (why: string): never => {
    throw new PermanentError('INVALID_INPUT', `invalid store key ${JSON.stringify(key)}: ${why}`);
  };
  if (typeof key !== 'string' || key.length === 0) bad('empty');
  if (key.length > 1024) bad('longer than 1024 characters');
  if (key.startsWith('/')) bad('absolute path');
  if (key.includes('\\')) bad('backslash');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) bad('NUL or control character');
  for (const seg of key.split('/')) {
    if (seg === '') bad('empty path segment');
    if (seg === '.' || seg === '..') bad(`"${seg}" segment`);
  }
  if (key.startsWith('.tmp/') || key === '.tmp') bad('reserved prefix .tmp');
}

/** Like assertValidKey, for list prefixes: may be empty and may end with `/`. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/** Named records may not live in the content-addressed namespace: only blobs go there. */
export function assertRecordKey(key: string): void {
  assertValidKey(key);
  if (key === 'sha256' || key.startsWith('sha256/')) {
    throw new PermanentError('INVALID_INPUT', `invalid record key ${JSON.stringify(key)}: sha256/ holds content-addressed blobs only`);
  }
}

/** `sha256:<hex>` → `<hex>`, refusing anything else. */
export function sha256Hex(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new PermanentError('INVALID_INPUT', `expected sha256:<64 hex>, got ${JSON.stringify(digest)}`);
  return m[1]!;
}
