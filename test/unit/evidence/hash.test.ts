import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile, hashFileHandle } from '../../../evidence/hash-file.js';
import { DualHasher, HashingTransform, PARALLEL_HASH_MIN_BYTES, hashBytes, hashStream } from '../../../evidence/hash.js';
import { coreutilsDigests } from '../../support/store-contract.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-hash-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function chunked(buf: Buffer, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const n = sizes[i++ % sizes.length]!;
    parts.push(buf.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

describe('hash', () => {
  it('matches the FIPS 180 "abc" vectors', () => {
    expect(hashBytes(Buffer.from('abc'))).toEqual({
      sha256: 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      sha512: 'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      size: 3,
    });
  });

  it.each([0, 1, 1024 * 1024, 1024 * 1024 + 1, PARALLEL_HASH_MIN_BYTES + 12345])('hashFile of %i bytes equals sha256sum/sha512sum', async (size) => {
    const p = path.join(dir, `f-${size}`);
    writeFileSync(p, randomBytes(size));
    expect(await hashFile(p)).toEqual({ ...coreutilsDigests(p), size });
  });

  it('agrees with openssl dgst on a file', async () => {
    const p = path.join(dir, 'openssl.bin');
    writeFileSync(p, randomBytes(300_000));
    const ossl = (alg: string) => execFileSync('openssl', ['dgst', `-${alg}`, '-r', p], { encoding: 'utf8' }).split(' ')[0];
    const d = await hashFile(p);
    expect(d.sha256).toBe(`sha256:${ossl('sha256')}`);
    expect(d.sha512).toBe(`sha512:${ossl('sha512')}`);
  });

  it('serial and parallel (worker) paths give identical digests over odd chunk boundaries', async () => {
    const buf = randomBytes(5 * 1024 * 1024 + 7);
    const want = hashBytes(buf);
    expect(await hashStream(chunked(buf, [1, 65536, 333_333, 7]))).toEqual(want);
    expect(await hashStream(chunked(buf, [1, 65536, 333_333, 7]), { sizeHint: PARALLEL_HASH_MIN_BYTES })).toEqual(want);
    // Pool-backed Buffers (views into a larger ArrayBuffer) must hash only their own bytes.
    const pooled = Buffer.from('small pooled buffer');
    const h = new DualHasher({ parallel: true });
    await h.update(pooled);
    expect(await h.digest()).toEqual(hashBytes(pooled));
  });

  it('HashingTransform passes bytes through unchanged and reports their digests', async () => {
    for (const sizeHint of [0, PARALLEL_HASH_MIN_BYTES]) {
      const buf = randomBytes(3 * 1024 * 1024 + 1);
      const t = new HashingTransform({ sizeHint });
      const out: Buffer[] = [];
      await pipeline(chunked(buf, [100_000, 1]), t, async function* (src) {
        for await (const c of src) out.push(c as Buffer);
      });
      expect(Buffer.concat(out).equals(buf)).toBe(true);
      expect(await t.digests()).toEqual(hashBytes(buf));
    }
  });

  it('propagates a read error instead of returning a digest of partial data (both paths)', async () => {
    for (const sizeHint of [0, PARALLEL_HASH_MIN_BYTES]) {
      const failing = new Readable({
        read() {
          this.destroy(new Error('disk went away'));
        },
      });
      await expect(hashStream(failing, { sizeHint })).rejects.toThrow('disk went away');
    }
    await expect(hashFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses use after digest', async () => {
    const h = new DualHasher();
    h.update(Buffer.from('x'));
    await h.digest();
    expect(() => h.update(Buffer.from('y'))).toThrow(/after digest/);
    await expect(h.digest()).rejects.toThrow(/twice/);
  });
});

describe('hashFileHandle: positioned reads into a shared pool', () => {
  const big = randomBytes(PARALLEL_HASH_MIN_BYTES + 3 * 1024 * 1024 + 4321);
  let bigPath: string;
  beforeAll(() => {
    bigPath = path.join(dir, 'pool-big.bin');
    writeFileSync(bigPath, big);
  });

  for (const [label, sizeHint] of [['serial', 0], ['parallel (worker)', PARALLEL_HASH_MIN_BYTES]] as const) {
    it(`${label}: a range, its CRC-32, and the copy written to a sink are exactly those bytes`, async () => {
      const start = 12_345;
      const length = big.length - start - 999;
      const want = big.subarray(start, start + length);
      const fh = await open(bigPath, 'r');
      const sinkPath = path.join(dir, `sink-${sizeHint}`);
      const sink = await open(sinkPath, 'wx');
      try {
        const d = await hashFileHandle(fh, { start, length, sink, crc32: true, sizeHint, syncEveryBytes: 4 * 1024 * 1024 });
        expect(d).toEqual({ ...hashBytes(want), crc32: zlib.crc32(want) });
      } finally {
        await sink.close();
        await fh.close();
      }
      expect(readFileSync(sinkPath).equals(want)).toBe(true);
    });

    it(`${label}: a range that runs past the end of the file is an error, not a digest of fewer bytes`, async () => {
      const fh = await open(bigPath, 'r');
      try {
        await expect(hashFileHandle(fh, { start: 100, length: big.length, sizeHint })).rejects.toThrow(/truncated/);
      } finally {
        await fh.close();
      }
    });
  }

  it('without a length it reads to the end of the file; the worker is reused and stays correct', async () => {
    for (let i = 0; i < 3; i++) expect(await hashFile(bigPath)).toEqual(hashBytes(big));
    const fh = await open(bigPath, 'r');
    try {
      expect(await hashFileHandle(fh, { start: 5, sizeHint: PARALLEL_HASH_MIN_BYTES })).toMatchObject(hashBytes(big.subarray(5)));
    } finally {
      await fh.close();
    }
  });

  it('a failing read or write mid-file rejects (and the next hash still works)', async () => {
    const fh = await open(bigPath, 'r');
    const sink = await open(path.join(dir, 'sink-ro'), 'wx');
    await sink.close();
    const readOnly = await open(path.join(dir, 'sink-ro'), 'r');
    try {
      await expect(hashFileHandle(fh, { sink: readOnly, sizeHint: PARALLEL_HASH_MIN_BYTES })).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      await readOnly.close();
      await fh.close();
    }
    const closed = await open(bigPath, 'r');
    await closed.close();
    await expect(hashFileHandle(closed, { sizeHint: PARALLEL_HASH_MIN_BYTES })).rejects.toThrow();
    expect(await hashFile(bigPath)).toEqual(hashBytes(big));
  });
});
