import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DualHasher, hashStream, PARALLEL_HASH_MIN_BYTES } from '../../../evidence/hash.js';

const want = (buf: Buffer) => ({
  sha256: `sha256:${createHash('sha256').update(buf).digest('hex')}`,
  sha512: `sha512:${createHash('sha512').update(buf).digest('hex')}`,
  size: buf.length,
});

/** Yields `buf` in pieces of the given sizes, cycling through them. */
function pieces(buf: Buffer, sizes: number[]): Readable {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return Readable.from(out);
}

// The SHA-512 worker gathers small chunks into 1 MiB batches: every boundary case must hash the same bytes.
describe('parallel SHA-512 with batched small chunks', () => {
  const buf = randomBytes(3 * 1024 * 1024 + 12_345);

  it.each([
    ['16 KiB chunks (zip entries)', [16 * 1024]],
    ['chunks that straddle the 1 MiB batch edge', [700_000, 400_000, 1]],
    ['small then larger-than-batch chunks', [10, 2 * 1024 * 1024, 5, 1024 * 1024]],
    ['exactly batch-sized chunks', [1024 * 1024]],
  ])('%s', async (_name, sizes) => {
    expect(await hashStream(pieces(buf, sizes), { sizeHint: PARALLEL_HASH_MIN_BYTES })).toEqual(want(buf));
  });

  it('a tail smaller than a batch is flushed at digest time', async () => {
    const small = randomBytes(1000);
    const h = new DualHasher({ parallel: true });
    await h.update(small.subarray(0, 10));
    await h.update(small.subarray(10));
    expect(await h.digest()).toEqual(want(small));
  });

  it('the caller may reuse its buffer right after update (bytes are copied into the batch)', async () => {
    const h = new DualHasher({ parallel: true });
    const scratch = Buffer.alloc(4096);
    const all: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      scratch.fill(i % 251);
      all.push(Buffer.from(scratch));
      const wait = h.update(scratch);
      if (wait) await wait;
    }
    expect(await h.digest()).toEqual(want(Buffer.concat(all)));
  });
});
