import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

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
 * thread (each chunk is copied once to the worker). Below it, starting a thread costs more than it saves.
 * @defaultValue 16 MiB
 */
export const PARALLEL_HASH_MIN_BYTES = 16 * 1024 * 1024;

/** Messages in flight to the SHA-512 worker before the producer waits: bounds memory to ~8 MiB. */
const MAX_IN_FLIGHT = 8;

/**
 * Small chunks (zip entries stream in 16 KiB pieces) are gathered into batches of this size before
 * they go to the worker: one message per MiB instead of one per chunk, which otherwise dominates.
 */
const WORKER_BATCH_BYTES = 1024 * 1024;

// Inline worker source: works the same under tsx, vitest and compiled JS (no file path to resolve).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const h = createHash('sha512');
parentPort.on('message', (m) => {
  if (m === null) { parentPort.postMessage({ done: h.digest('hex') }); return; }
  h.update(m);
  parentPort.postMessage({ ack: 1 });
});
`;

/** SHA-512 computed on a worker thread; `update` resolves when the producer may send more. */
class WorkerSha512 {
  private readonly worker: Worker;
  private inFlight = 0;
  private waiter: (() => void) | null = null;
  private finisher: { resolve(hex: string): void; reject(err: Error): void } | null = null;
  private failure: Error | null = null;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.on('message', (m: { ack?: number; done?: string }) => {
      if (m.ack) {
        this.inFlight -= 1;
        if (this.waiter && this.inFlight < MAX_IN_FLIGHT) {
          const w = this.waiter;
          this.waiter = null;
          w();
        }
      } else if (m.done !== undefined && this.finisher) {
        this.finisher.resolve(m.done);
        this.finisher = null;
      }
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (this.finisher) this.fail(new Error(`SHA-512 worker exited with code ${code} before finishing`));
    });
  }

  private fail(err: Error): void {
    this.failure = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
    if (this.finisher) {
      this.finisher.reject(err);
      this.finisher = null;
    }
  }

  /** Bytes gathered for the next message (WORKER_BATCH_BYTES), in order. */
  private batch: Uint8Array<ArrayBuffer> | null = null;
  private batchLen = 0;

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    if (this.batchLen + chunk.byteLength > WORKER_BATCH_BYTES) this.flush();
    if (chunk.byteLength >= WORKER_BATCH_BYTES) {
      // Copy exactly the view (a Buffer may sit in a shared pool) and hand the copy over without a second copy.
      this.post(new Uint8Array(chunk));
    } else {
      this.batch ??= new Uint8Array(WORKER_BATCH_BYTES);
      this.batch.set(chunk, this.batchLen);
      this.batchLen += chunk.byteLength;
      if (this.batchLen === WORKER_BATCH_BYTES) this.flush();
    }
    if (this.inFlight < MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
    }).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /** Send the gathered bytes (a view of exactly what was gathered; its buffer is transferred, not copied). */
  private flush(): void {
    if (!this.batch || this.batchLen === 0) return;
    const view = this.batch.subarray(0, this.batchLen);
    this.batch = null;
    this.batchLen = 0;
    this.post(view);
  }

  private post(bytes: Uint8Array<ArrayBuffer>): void {
    this.inFlight += 1;
    this.worker.postMessage(bytes, [bytes.buffer]);
  }

  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    this.flush();
    const hex = await new Promise<string>((resolve, reject) => {
      this.finisher = { resolve, reject };
      this.worker.postMessage(null);
    });
    await this.worker.terminate();
    return hex;
  }

  async abort(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Incremental SHA-256 + SHA-512 over one pass of the bytes. With `parallel`, SHA-512 runs on a
 * worker thread; `update` then may return a promise the caller must await (back-pressure).
 */
export class DualHasher {
  private readonly sha256: Hash = createHash('sha256');
  private readonly sha512Local: Hash | null;
  private readonly sha512Worker: WorkerSha512 | null;
  private bytes = 0;
  private finished = false;

  constructor(opts: { parallel?: boolean } = {}) {
    if (opts.parallel) {
      this.sha512Worker = new WorkerSha512();
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
 * in-flight window, whatever the length. `sizeHint` (when known) picks the parallel path.
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

/** Hash a local file in one pass with 1 MiB reads. */
export async function hashFile(filePath: string): Promise<Digests> {
  const st = await stat(filePath);
  return hashStream(createReadStream(filePath, { highWaterMark: HASH_CHUNK_BYTES }), { sizeHint: st.size });
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
