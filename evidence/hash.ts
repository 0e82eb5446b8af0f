import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { StreamSha512 } from './hash-threads.js';
import { IntegrityError } from '../lib/errors.js';

// SHA-256 and SHA-512 of one pass over bytes: streams, in-memory bytes and pass-through copies.
// Files and regions of files: hash-file.ts. The worker thread for large inputs: hash-threads.ts.

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

/**
 * Pass a stored object's bytes through while hashing them: when the stream ends, bytes that do not
 * match the digest and size the manifest gives end it with an IntegrityError (after `onMismatch`,
 * for the operator's log) instead of completing a read that looks fine.
 */
export function checkedStream(src: Readable, expected: { name: string; sha256: string; size: number }, onMismatch: (got: string) => void): Readable {
  const hash = createHash('sha256');
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      seen += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const got = `sha256:${hash.digest('hex')}`;
      if (got === expected.sha256 && seen === expected.size) return cb();
      onMismatch(got);
      cb(new IntegrityError('HASH_MISMATCH', `${expected.name} does not match its manifest digest (${seen} bytes, ${got})`));
    },
  });
  src.on('error', (err) => check.destroy(err));
  return src.pipe(check);
}
