import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBody } from '../../../collectors/browser/decode-body.js';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';

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
  return {
    id: `ex-${n}`,
    startedAt: '2026-01-01T00:00:00Z',
    completedAt: '2026-01-01T00:00:01Z',
    method: 'GET',
    url: 'https://u:secret@example.org/x',
    requestHeaders: [],
    rawRequestPath: null,
    requestBodyPath: null,
    status: 200,
    statusText: 'OK',
    httpVersion: '1.1',
    responseHeaders: encoding === null ? [['Content-Type', 'text/plain']] : [['content-ENCODING', encoding]],
    rawResponsePath: null,
    rawResponseSize: 0,
    bodyPath,
    bodySize: body.length,
    truncated: false,
    remoteIp: null,
    remotePort: null,
    tls: null,
    dns: null,
    upstreamProxy: null,
    error: null,
  };
}

const out = () => path.join(dir, `out-${++n}`);

describe('decodeBody', () => {
  it.each([
    ['gzip', gzipSync(TEXT)],
    ['x-gzip', gzipSync(TEXT)],
    ['deflate', deflateSync(TEXT)],
    ['deflate', deflateRawSync(TEXT)],
    ['br', brotliCompressSync(TEXT)],
    ['gzip, br', brotliCompressSync(gzipSync(TEXT))],
    ['deflate, gzip', gzipSync(deflateSync(TEXT))],
  ])('undoes %s', async (encoding, body) => {
    const ex = await exchangeWith(body, encoding);
    const decoded = await decodeBody(ex, out());
    expect(decoded).not.toBe(ex.bodyPath);
    expect(Buffer.compare(await readFile(decoded!), TEXT)).toBe(0);
  });

  it('returns the body itself when there is no encoding, or identity', async () => {
    const plain = await exchangeWith(TEXT, null);
    expect(await decodeBody(plain, out())).toBe(plain.bodyPath);
    const identity = await exchangeWith(TEXT, 'identity');
    expect(await decodeBody(identity, out())).toBe(identity.bodyPath);
  });

  it('returns null for codings it cannot undo and for exchanges without a body', async () => {
    expect(await decodeBody(await exchangeWith(TEXT, 'zstd'), out())).toBeNull();
    expect(await decodeBody({ ...(await exchangeWith(TEXT, 'gzip')), bodyPath: null }, out())).toBeNull();
  });

  it('fails with CORRUPT_MEDIA, credentials redacted, for a body that does not decode', async () => {
    const truncated = gzipSync(TEXT).subarray(0, 40);
    const err = await decodeBody(await exchangeWith(truncated, 'gzip'), out()).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ name: 'PermanentError', code: 'CORRUPT_MEDIA' });
    expect((err as { message: string }).message).not.toContain('secret');
    const garbage = await decodeBody(await exchangeWith(Buffer.from('not brotli at all'), 'br'), out()).catch((e: unknown) => e);
    expect(garbage).toMatchObject({ code: 'CORRUPT_MEDIA' });
  });
});
