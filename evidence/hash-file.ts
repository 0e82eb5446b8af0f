import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { HASH_CHUNK_BYTES, PARALLEL_HASH_MIN_BYTES, type Digests } from './hash.js';
import { acquireWorker, releaseWorker, SLOT_BYTES, SLOT_COUNT } from './hash-threads.js';

// Hashing files and regions of files (zip entries) with positioned reads, optionally copying the
// bytes to a sink as they are hashed.

/** Digests of a file region, plus its CRC-32 when asked for (zip entries). */
export interface RangeDigests extends Digests {
  /** CRC-32 (as in zip headers) of the bytes, or null when not asked for. */
  crc32: number | null;
}

export interface HashFileHandleOptions {
  /** First byte to hash. @defaultValue 0 */
  start?: number;
  /**
   * Exactly this many bytes must be there: fewer is an error (a truncated zip entry). Without it,
   * reads go to the end of the file.
   */
  length?: number;
  /** Every byte hashed is also written here, at the same offset relative to `start` (a store copy). */
  sink?: FileHandle;
  /**
   * With `sink`: start an fdatasync of it each time this many more bytes have been written, so
   * the disk writes back while hashing goes on instead of all at once in the final fsync. The
   * caller still fsyncs at the end; these only make that cheap.
   */
  syncEveryBytes?: number;
  /** Also compute the CRC-32 of the bytes. */
  crc32?: boolean;
  /** Pick the parallel path (known size, or `length`). */
  sizeHint?: number;
}

/** The file handle ran short of bytes it was supposed to hold. */
function shortRead(start: number, got: number, want: number): Error {
  return new Error(`read ${got} bytes at offset ${start}, expected ${want}: the file is truncated or changed while reading`);
}

async function writeAll(sink: FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesWritten } = await sink.write(buf, done, len - done, pos + done);
    if (bytesWritten <= 0) throw new Error(`short write at offset ${pos + done}`);
    done += bytesWritten;
  }
}

/**
 * Hash bytes of an open file in one pass with positioned reads into a fixed pool: SHA-512 on this
 * thread, SHA-256 (and CRC-32) on a worker reading the same shared memory, the optional copy
 * written from that memory too — reads ahead, hashing and writes overlap, and nothing is
 * allocated per chunk. The bytes hashed are exactly the bytes written to `sink`.
 */
export async function hashFileHandle(fh: FileHandle, opts: HashFileHandleOptions = {}): Promise<RangeDigests> {
  const start = opts.start ?? 0;
  const end = opts.length === undefined ? Infinity : start + opts.length;
  const parallel = (opts.sizeHint ?? opts.length ?? 0) >= PARALLEL_HASH_MIN_BYTES;
  return parallel ? hashRangeParallel(fh, start, end, opts) : hashRangeSerial(fh, start, end, opts);
}

async function hashRangeSerial(fh: FileHandle, start: number, end: number, opts: HashFileHandleOptions): Promise<RangeDigests> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let crc = 0;
  const want = Math.min(end - start, HASH_CHUNK_BYTES);
  const buf = Buffer.allocUnsafe(Math.max(1, Number.isFinite(want) ? want : HASH_CHUNK_BYTES));
  let pos = start;
  for (;;) {
    const n = Math.min(buf.length, end - pos);
    if (n <= 0) break;
    const { bytesRead } = await fh.read(buf, 0, n, pos);
    if (bytesRead === 0) {
      if (Number.isFinite(end)) throw shortRead(start, pos - start, end - start);
      break;
    }
    const view = buf.subarray(0, bytesRead);
    sha256.update(view);
    sha512.update(view);
    if (opts.crc32) crc = zlibCrc32(view, crc);
    if (opts.sink) await writeAll(opts.sink, buf, bytesRead, pos - start);
    pos += bytesRead;
  }
  return { sha256: `sha256:${sha256.digest('hex')}`, sha512: `sha512:${sha512.digest('hex')}`, size: pos - start, crc32: opts.crc32 ? crc : null };
}

/**
 * Early fdatasyncs of a sink while it is being written: one in flight at most, started each time
 * `every` more bytes were written (counted when their write finished).
 */
class EarlySync {
  private syncing: Promise<void> | null = null;
  // A writeback error is reported once per descriptor: the final fsync might not see it again.
  private error: Error | null = null;
  private written = 0;
  private syncedUpTo = 0;

  constructor(
    private readonly sink: FileHandle | undefined,
    private readonly every: number | undefined,
  ) {}

  wrote(n: number): void {
    this.written += n;
    if (!this.sink || !this.every || this.syncing || this.written - this.syncedUpTo < this.every) return;
    this.syncedUpTo = this.written;
    const s: Promise<void> = this.sink.datasync().then(
      () => {
        if (this.syncing === s) this.syncing = null;
      },
      (err: Error) => {
        this.error ??= err;
        if (this.syncing === s) this.syncing = null;
      },
    );
    this.syncing = s;
  }

  /** Wait for the sync in flight; throw the first writeback error any of them saw. */
  async settle(): Promise<void> {
    if (this.syncing) await this.syncing;
    if (this.error) throw this.error;
  }

  inFlight(): Array<Promise<void>> {
    return this.syncing ? [this.syncing] : [];
  }
}

async function hashRangeParallel(fh: FileHandle, start: number, end: number, opts: HashFileHandleOptions): Promise<RangeDigests> {
  // SHA-512 (the slower) runs here from the first byte; SHA-256 and CRC-32 go to the worker, which
  // catches up after its ~30–50 ms start instead of delaying the slowest hash by that much.
  const w = acquireWorker();
  w.start('sha256', !!opts.crc32);
  const sha512 = createHash('sha512');
  // Slot k holds chunk k, k+SLOT_COUNT, …; each read waits until the worker and the write are done with its slot.
  const slotFree: Array<Promise<unknown>> = Array.from({ length: SLOT_COUNT }, () => Promise.resolve());
  const reads: Array<Promise<number>> = [];
  let issued = 0;
  const issue = (): void => {
    const seq = issued++;
    const slot = seq % SLOT_COUNT;
    const pos = start + seq * SLOT_BYTES;
    const n = Math.max(0, Math.min(SLOT_BYTES, end - pos));
    const p = slotFree[slot]!.then(async () => (n === 0 ? 0 : (await fh.read(w.slots[slot]!, 0, n, pos)).bytesRead));
    p.catch(() => undefined);
    reads[slot] = p;
  };
  let clean = false;
  let total = 0;
  const early = new EarlySync(opts.sink, opts.syncEveryBytes);
  try {
    for (let i = 0; i < SLOT_COUNT; i++) issue();
    let seq = 0;
    let sawShort = false;
    for (;;) {
      const slot = seq % SLOT_COUNT;
      const pos = start + seq * SLOT_BYTES;
      const expect = Math.max(0, Math.min(SLOT_BYTES, end - pos));
      const n = await reads[slot]!;
      if (n === 0) break;
      // Positions are fixed per chunk: once a read came up short, any later bytes would be misplaced.
      if (sawShort) throw shortRead(start, total, total + n);
      if (n < expect) {
        if (Number.isFinite(end)) throw shortRead(start, total + n, end - start);
        sawShort = true;
      }
      // Hand the slot to the worker and start its write first; then SHA-512 here.
      w.post(slot, n);
      const hashed = w.slotFree(slot)!;
      slotFree[slot] = opts.sink ? Promise.all([hashed, writeAll(opts.sink, w.slots[slot]!, n, pos - start).then(() => early.wrote(n))]) : hashed;
      slotFree[slot]!.catch(() => undefined);
      sha512.update(w.slots[slot]!.subarray(0, n));
      total += n;
      seq++;
      if (total === end - start) break;
      issue();
    }
    await Promise.all(slotFree);
    await early.settle();
    const other = await w.digest();
    clean = true;
    return { sha256: `sha256:${other.hex}`, sha512: `sha512:${sha512.digest('hex')}`, size: total, crc32: opts.crc32 ? other.crc : null };
  } finally {
    // Reads still under way (read-ahead past the end, or after an error) write into the pool and use
    // the caller's descriptor: let every one settle before the pool is reused or the file is closed.
    await Promise.allSettled([...reads, ...slotFree, ...early.inFlight()]);
    releaseWorker(w, clean);
  }
}

/** Hash a local file in one pass (see hashFileHandle). */
export async function hashFile(filePath: string): Promise<Digests> {
  const fh = await open(filePath, 'r');
  try {
    const st = await fh.stat();
    const { crc32: _crc, ...d } = await hashFileHandle(fh, { sizeHint: st.size });
    return d;
  } finally {
    await fh.close();
  }
}
