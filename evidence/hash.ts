import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { crc32 as zlibCrc32 } from 'node:zlib';

/** Both digests of one byte sequence, as written everywhere in Exhibit. */
export interface Digests {
  /** `sha256:<64 hex>` */
  sha256: string;
  /** `sha512:<128 hex>` */
  sha512: string;
  size: number;
}

/** Read size for evidence files: large reads keep syscall and per-chunk overhead low. */
export const HASH_CHUNK_BYTES = 1024 * 1024;

/**
 * From this size on, SHA-512 runs in a worker thread in parallel with SHA-256 on the calling
 * thread. Below it, handing work to a thread costs more than it saves.
 * @defaultValue 16 MiB
 */
export const PARALLEL_HASH_MIN_BYTES = 16 * 1024 * 1024;

/**
 * The SHA-512 worker reads bytes out of a fixed pool of slots in shared memory: nothing is
 * transferred or copied per message, and no buffer is allocated per chunk. Fresh 1 MiB buffers per
 * read were the main cost before (page faults, GC churn, ~100 MiB of RSS held by dead chunks).
 * 4 × 2 MiB: enough read-ahead to keep both cores busy, 8 MiB resident per worker.
 */
const SLOT_BYTES = 2 * 1024 * 1024;
const SLOT_COUNT = 4;

/** Idle SHA-512 workers kept for the next large file (starting one costs ~30–50 ms). */
const MAX_IDLE_WORKERS = 1;

// Inline worker source: works the same under tsx, vitest and compiled JS (no file path to resolve).
// Messages: {alg, crc} → start a new hash; [slot, length] → hash that slot, answer with the slot
// number; null → answer {done: hex, crc} and start over with SHA-512.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { crc32 } = require('node:zlib');
const pool = new Uint8Array(workerData.pool);
const slotBytes = workerData.slotBytes;
let h = createHash('sha512');
let crc = null;
parentPort.on('message', (m) => {
  if (m === null) { parentPort.postMessage({ done: h.digest('hex'), crc }); h = createHash('sha512'); crc = null; return; }
  if (!Array.isArray(m)) { h = createHash(m.alg); crc = m.crc ? 0 : null; return; }
  const off = m[0] * slotBytes;
  const bytes = pool.subarray(off, off + m[1]);
  h.update(bytes);
  if (crc !== null) crc = crc32(bytes, crc);
  parentPort.postMessage(m[0]);
});
`;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever awaits it sees the rejection; an unawaited one must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * A hashing worker thread (SHA-512 unless `start`ed with another algorithm) with its own pool of
 * shared-memory slots. One hash at a time; the caller fills a slot, `post`s it, and may reuse it
 * once `slotFree(i)` resolves.
 */
class Sha512Worker {
  private readonly worker: Worker;
  /** Views of the shared pool, one per slot (Buffers, so file reads can land in them directly). */
  readonly slots: Buffer[];
  private readonly pending: Array<Deferred<void> | null>;
  private finisher: Deferred<{ hex: string; crc: number | null }> | null = null;
  private failure: Error | null = null;

  constructor() {
    const pool = new SharedArrayBuffer(SLOT_BYTES * SLOT_COUNT);
    this.slots = Array.from({ length: SLOT_COUNT }, (_, i) => Buffer.from(pool, i * SLOT_BYTES, SLOT_BYTES));
    this.pending = Array.from({ length: SLOT_COUNT }, () => null);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { pool, slotBytes: SLOT_BYTES } });
    this.worker.on('message', (m: number | { done: string; crc: number | null }) => {
      if (typeof m === 'number') {
        const d = this.pending[m];
        this.pending[m] = null;
        d?.resolve();
      } else if (this.finisher) {
        const f = this.finisher;
        this.finisher = null;
        f.resolve({ hex: m.done, crc: m.crc });
      }
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`SHA-512 worker exited with code ${code}`)));
  }

  get failed(): Error | null {
    return this.failure;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (let i = 0; i < this.pending.length; i++) {
      this.pending[i]?.reject(this.failure);
      this.pending[i] = null;
    }
    this.finisher?.reject(this.failure);
    this.finisher = null;
  }

  /** Resolves when the worker is done with slot `i` (rejects if the worker died). */
  slotFree(i: number): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    return this.pending[i]?.promise;
  }

  /** Hash the first `len` bytes of slot `i`. The slot must be free. */
  post(i: number, len: number): void {
    if (this.failure) throw this.failure;
    if (this.pending[i]) throw new Error(`SHA-512 slot ${i} posted while busy`);
    const d = deferred<void>();
    this.pending[i] = d;
    this.worker.postMessage([i, len]);
  }

  /** Start a new hash with `alg` (and a CRC-32 alongside when `crc`); the default is SHA-512. */
  start(alg: 'sha256' | 'sha512', crc: boolean): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage({ alg, crc });
  }

  /** Digest of everything posted since the last digest; the worker is then ready for a new hash. */
  digest(): Promise<{ hex: string; crc: number | null }> {
    if (this.failure) return Promise.reject(this.failure);
    this.finisher = deferred<{ hex: string; crc: number | null }>();
    this.worker.postMessage(null);
    return this.finisher.promise;
  }

  ref(): void {
    this.worker.ref();
  }

  unref(): void {
    this.worker.unref();
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('SHA-512 worker terminated');
    await this.worker.terminate();
  }
}

const idleWorkers: Sha512Worker[] = [];

function acquireWorker(): Sha512Worker {
  const w = idleWorkers.pop() ?? new Sha512Worker();
  w.ref();
  return w;
}

/** Give a worker back after a completed digest (every slot free); otherwise terminate it. */
function releaseWorker(w: Sha512Worker, clean: boolean): void {
  if (clean && !w.failed && idleWorkers.length < MAX_IDLE_WORKERS) {
    // An idle worker must not keep the process alive.
    w.unref();
    idleWorkers.push(w);
  } else {
    void w.terminate();
  }
}

/**
 * SHA-512 on a worker thread for a stream of arbitrary chunks: each chunk is copied once into a
 * shared slot (small chunks are gathered, so zip entries' 16 KiB pieces cost one message per slot).
 */
class StreamSha512 {
  private readonly w = acquireWorker();
  private slot = 0;
  private fill = 0;
  private done = false;

  /** Copy `chunk` into the pool; returns a promise when it must wait for a slot (back-pressure). */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.w.failed) throw this.w.failed;
    let off = 0;
    while (off < chunk.byteLength) {
      if (this.fill === 0) {
        const busy = this.w.slotFree(this.slot);
        // The caller awaits this before its next update, so the rest of the chunk is still intact.
        if (busy) return busy.then(() => this.update(chunk.subarray(off)));
      }
      const n = Math.min(SLOT_BYTES - this.fill, chunk.byteLength - off);
      this.w.slots[this.slot]!.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === SLOT_BYTES) this.flush();
    }
    return undefined;
  }

  private flush(): void {
    if (this.fill === 0) return;
    this.w.post(this.slot, this.fill);
    this.slot = (this.slot + 1) % SLOT_COUNT;
    this.fill = 0;
  }

  async digest(): Promise<string> {
    this.flush();
    try {
      const { hex } = await this.w.digest();
      this.done = true;
      return hex;
    } finally {
      releaseWorker(this.w, this.done);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    releaseWorker(this.w, false);
  }
}

/**
 * Incremental SHA-256 + SHA-512 over one pass of the bytes. With `parallel`, SHA-512 runs on a
 * worker thread; `update` then may return a promise the caller must await (back-pressure).
 */
export class DualHasher {
  private readonly sha256: Hash = createHash('sha256');
  private readonly sha512Local: Hash | null;
  private readonly sha512Worker: StreamSha512 | null;
  private bytes = 0;
  private finished = false;

  constructor(opts: { parallel?: boolean } = {}) {
    if (opts.parallel) {
      this.sha512Worker = new StreamSha512();
      this.sha512Local = null;
    } else {
      this.sha512Worker = null;
      this.sha512Local = createHash('sha512');
    }
  }

  /** Feed bytes. Returns a promise when the SHA-512 worker is busy; await it before the next call. */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.finished) throw new Error('DualHasher: update after digest');
    this.bytes += chunk.byteLength;
    this.sha256.update(chunk);
    if (this.sha512Local) {
      this.sha512Local.update(chunk);
      return undefined;
    }
    return this.sha512Worker!.update(chunk);
  }

  get size(): number {
    return this.bytes;
  }

  async digest(): Promise<Digests> {
    if (this.finished) throw new Error('DualHasher: digest called twice');
    this.finished = true;
    const sha256 = this.sha256.digest('hex');
    const sha512 = this.sha512Local ? this.sha512Local.digest('hex') : await this.sha512Worker!.digest();
    return { sha256: `sha256:${sha256}`, sha512: `sha512:${sha512}`, size: this.bytes };
  }

  /** Release the worker thread when the bytes will not be finished (error paths). */
  async abort(): Promise<void> {
    this.finished = true;
    if (this.sha512Worker) await this.sha512Worker.abort();
  }
}

/**
 * Hash a stream in one pass. Memory stays bounded by the stream's chunk size plus the worker's
 * slot pool, whatever the length. `sizeHint` (when known) picks the parallel path.
 */
export async function hashStream(stream: Readable, opts: { sizeHint?: number } = {}): Promise<Digests> {
  const hasher = new DualHasher({ parallel: (opts.sizeHint ?? 0) >= PARALLEL_HASH_MIN_BYTES });
  try {
    for await (const chunk of stream) {
      const wait = hasher.update(chunk as Buffer);
      if (wait) await wait;
    }
  } catch (err) {
    await hasher.abort();
    throw err;
  }
  return hasher.digest();
}

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
  // At most one early fdatasync in flight; written bytes are counted when their write finished.
  let syncing: Promise<void> | null = null;
  // A writeback error is reported once per descriptor: the final fsync might not see it again.
  let syncError: Error | null = null;
  let written = 0;
  let syncedUpTo = 0;
  const maybeSync = (n: number): void => {
    written += n;
    const every = opts.syncEveryBytes;
    if (!opts.sink || !every || syncing || written - syncedUpTo < every) return;
    syncedUpTo = written;
    const s: Promise<void> = opts.sink.datasync().then(
      () => {
        if (syncing === s) syncing = null;
      },
      (err: Error) => {
        syncError ??= err;
        if (syncing === s) syncing = null;
      },
    );
    syncing = s;
  };
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
      slotFree[slot] = opts.sink ? Promise.all([hashed, writeAll(opts.sink, w.slots[slot]!, n, pos - start).then(() => maybeSync(n))]) : hashed;
      slotFree[slot]!.catch(() => undefined);
      sha512.update(w.slots[slot]!.subarray(0, n));
      total += n;
      seq++;
      if (total === end - start) break;
      issue();
    }
    await Promise.all(slotFree);
    if (syncing) await syncing;
    if (syncError) throw syncError;
    const other = await w.digest();
    clean = true;
    return { sha256: `sha256:${other.hex}`, sha512: `sha512:${sha512.digest('hex')}`, size: total, crc32: opts.crc32 ? other.crc : null };
  } finally {
    // Reads still under way (read-ahead past the end, or after an error) write into the pool and use
    // the caller's descriptor: let every one settle before the pool is reused or the file is closed.
    await Promise.allSettled([...reads, ...slotFree, ...(syncing ? [syncing] : [])]);
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

/** Digests of bytes already in memory. */
export function hashBytes(bytes: Uint8Array): Digests {
  return {
    sha256: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    sha512: `sha512:${createHash('sha512').update(bytes).digest('hex')}`,
    size: bytes.byteLength,
  };
}

/**
 * A pass-through stream that hashes the bytes flowing through it, for stores that write while
 * hashing. `digests()` resolves after the stream has flushed.
 */
export class HashingTransform extends Transform {
  private readonly hasher: DualHasher;
  private result: Promise<Digests> | null = null;
  private resolveResult!: (d: Digests) => void;
  private rejectResult!: (e: Error) => void;
  private readonly resultPromise: Promise<Digests>;

  constructor(opts: { sizeHint?: number; highWaterMark?: number } = {}) {
    super({ highWaterMark: opts.highWaterMark ?? HASH_CHUNK_BYTES });
    this.hasher = new DualHasher({ parallel: (opts.sizeHint ?? 0) >= PARALLEL_HASH_MIN_BYTES });
    this.resultPromise = new Promise<Digests>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Nobody may be listening yet when a stream error lands; the caller sees it via the pipeline.
    this.resultPromise.catch(() => undefined);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    let wait: Promise<void> | undefined;
    try {
      wait = this.hasher.update(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    if (wait) wait.then(() => callback(null, chunk), (err: Error) => callback(err));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = this.hasher.digest();
    this.result.then(
      (d) => {
        this.resolveResult(d);
        callback();
      },
      (err: Error) => {
        this.rejectResult(err);
        callback(err);
      },
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.result) {
      this.rejectResult(err ?? new Error('hashing stream destroyed before the end'));
      void this.hasher.abort();
    }
    callback(err);
  }

  /** Digests of everything that passed through; resolves once the stream has ended. */
  digests(): Promise<Digests> {
    return this.resultPromise;
  }
}
