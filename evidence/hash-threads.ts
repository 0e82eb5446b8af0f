import { Worker } from 'node:worker_threads';

// Hashing on a worker thread, for large inputs (evidence/hash.ts and hash-file.ts pick when): a pool
// of idle workers, each reading the bytes to hash out of its own shared memory.

/**
 * The SHA-512 worker reads bytes out of a fixed pool of slots in shared memory: nothing is
 * transferred or copied per message, and no buffer is allocated per chunk. Fresh 1 MiB buffers per
 * read were the main cost before (page faults, GC churn, ~100 MiB of RSS held by dead chunks).
 * 4 × 2 MiB: enough read-ahead to keep both cores busy, 8 MiB resident per worker.
 */
export const SLOT_BYTES = 2 * 1024 * 1024;
export const SLOT_COUNT = 4;

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
export class Sha512Worker {
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

export function acquireWorker(): Sha512Worker {
  const w = idleWorkers.pop() ?? new Sha512Worker();
  w.ref();
  return w;
}

/** Give a worker back after a completed digest (every slot free); otherwise terminate it. */
export function releaseWorker(w: Sha512Worker, clean: boolean): void {
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
export class StreamSha512 {
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
