import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBody, encodedMediaType } from '../../../collectors/browser/decode-body.js';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { exchange } from '../../support/recorded.js';

const TEXT = Buffer.from('ٱلسَّلَامُ عَلَيْكُمْ — hello, evidence\n'.repeat(50));
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'exhibit-decode-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function exchangeWith(body: Buffer, encoding: string | null): Promise<RecordedExchange> {
  const bodyPath = path.join(dir, `body-${++n}`);
  await writeFile(bodyPath, body);
  return exchange({
    id: `ex-${n}`,
    url: 'https://u:secret@example.org/x',
    responseHeaders: encoding === null ? [['Content-Type', 'text/plain']] : [['content-ENCODING', encoding]],
    bodyPath,
    bodySize: body.length,
    remoteIp: null,
    remotePort: null,
  });
}

const out = () => path.join(dir, `out-${++n}`);
const LIMIT = { maxBytes: 1 << 20 };
const zstdSync = (b: Buffer): Buffer => execFileSync('zstd', ['-c', '-q'], { input: b });

describe('decodeBody', () => {
  it.each([
    ['gzip', gzipSync(TEXT)],
    ['x-gzip', gzipSync(TEXT)],
    ['deflate', deflateSync(TEXT)],
    ['deflate', deflateRawSync(TEXT)],
    ['br', brotliCompressSync(TEXT)],
    ['gzip, br', brotliCompressSync(gzipSync(TEXT))],
    ['deflate, gzip', gzipSync(deflateSync(TEXT))],
    ['zstd', zstdSync(TEXT)],
    ['gzip, zstd', zstdSync(gzipSync(TEXT))],
  ])('undoes %s', async (encoding, body) => {
    const ex = await exchangeWith(body, encoding);
    const decoded = await decodeBody(ex, out(), LIMIT);
    expect(decoded).not.toBe(ex.bodyPath);
    expect(Buffer.compare(await readFile(decoded!), TEXT)).toBe(0);
  });

  it('returns the body itself when there is no encoding, or identity', async () => {
    const plain = await exchangeWith(TEXT, null);
    expect(await decodeBody(plain, out(), LIMIT)).toBe(plain.bodyPath);
    const identity = await exchangeWith(TEXT, 'identity');
    expect(await decodeBody(identity, out(), LIMIT)).toBe(identity.bodyPath);
  });

  it('returns null for codings it cannot undo and for exchanges without a body', async () => {
    expect(await decodeBody(await exchangeWith(TEXT, 'compress'), out(), LIMIT)).toBeNull();
    expect(await decodeBody({ ...(await exchangeWith(TEXT, 'gzip')), bodyPath: null }, out(), LIMIT)).toBeNull();
  });

  it('fails with CORRUPT_MEDIA, credentials redacted, for a body that does not decode', async () => {
    const truncated = gzipSync(TEXT).subarray(0, 40);
    const err = await decodeBody(await exchangeWith(truncated, 'gzip'), out(), LIMIT).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ name: 'PermanentError', code: 'CORRUPT_MEDIA' });
    expect((err as { message: string }).message).not.toContain('secret');
    const garbage = await decodeBody(await exchangeWith(Buffer.from('not brotli at all'), 'br'), out(), LIMIT).catch((e: unknown) => e);
    expect(garbage).toMatchObject({ code: 'CORRUPT_MEDIA' });
  });
});

describe('decodeBody with a size limit (decompression bombs)', () => {
  // 16 MiB of zeros compresses to a few kilobytes in every coding.
  const ZEROS = Buffer.alloc(16 << 20);
  const limit = { maxBytes: 1 << 20 };

  it.each([
    ['gzip', () => gzipSync(ZEROS)],
    ['deflate', () => deflateSync(ZEROS)],
    ['deflate', () => deflateRawSync(ZEROS)],
    ['br', () => brotliCompressSync(ZEROS)],
    ['zstd', () => zstdSync(ZEROS)],
    ['gzip, gzip', () => gzipSync(gzipSync(ZEROS))],
  ])('stops a %s bomb at the limit with TOO_LARGE and leaves no partial file', async (encoding, make) => {
    const bomb = make();
    expect(bomb.length).toBeLessThan(1 << 20);
    const ex = await exchangeWith(bomb, encoding);
    const target = out();
    const err = await decodeBody(ex, target, limit).then(
      () => null,
      (e: unknown) => e as { name: string; code: string; message: string },
    );
    expect(err).toMatchObject({ name: 'PermanentError', code: 'TOO_LARGE' });
    expect(err!.message).toContain(`more than ${limit.maxBytes} bytes`);
    expect(err!.message).not.toContain('secret');
    expect(existsSync(target)).toBe(false);
    // The body as served is untouched.
    expect(Buffer.compare(await readFile(ex.bodyPath!), bomb)).toBe(0);
  });

  it('accepts a body that decodes to exactly the limit, and refuses one byte more', async () => {
    const exact = Buffer.alloc(4096, 7);
    const at = await decodeBody(await exchangeWith(gzipSync(exact), 'gzip'), out(), { maxBytes: 4096 });
    expect((await stat(at!)).size).toBe(4096);
    const over = await decodeBody(await exchangeWith(gzipSync(Buffer.alloc(4097, 7)), 'gzip'), out(), { maxBytes: 4096 }).catch((e: unknown) => e);
    expect(over).toMatchObject({ code: 'TOO_LARGE' });
  });

  it('still reports a truncated stream as CORRUPT_MEDIA, not as too large', async () => {
    const truncated = gzipSync(ZEROS).subarray(0, 200);
    const err = await decodeBody(await exchangeWith(truncated, 'gzip'), out(), limit).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CORRUPT_MEDIA' });
  });

  it('names a media type and extension for a body kept still encoded', async () => {
    expect(encodedMediaType(await exchangeWith(Buffer.alloc(1), 'gzip'))).toEqual({ mediaType: 'application/gzip', ext: 'gz' });
    expect(encodedMediaType(await exchangeWith(Buffer.alloc(1), 'gzip, br'))).toEqual({ mediaType: 'application/octet-stream', ext: 'br' });
    expect(encodedMediaType(await exchangeWith(Buffer.alloc(1), 'zstd'))).toEqual({ mediaType: 'application/zstd', ext: 'zst' });
  });
});
