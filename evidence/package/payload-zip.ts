/**
 * The zip of a package being written (yazl): payload files are added in batches as they become
 * known, each read once, hashed on the way (SHA-256 and SHA-512) and checked against the sealed
 * digests it carries; then the tag files, and the finished zip is moved into place.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { IntegrityError } from '../../lib/errors.js';
import { HashingTransform, hashBytes } from '../hash.js';

/** Files read ahead of the zip writer, and the bytes they may hold, at most. */
const READ_AHEAD_FILES = 16;
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

export interface PackageProgress {
  phase: 'head' | 'payload' | 'certificate' | 'tags' | 'custody' | 'done';
  bytesDone: number;
  bytesTotal: number;
  detail?: string;
}

export interface PayloadEntry {
  path: string;
  size: number;
  /** Bytes already in memory (records, our own text files). */
  bytes?: Buffer;
  /** Where else to read it: the whole file at once (small files) or as a stream. */
  read?: () => Promise<Buffer>;
  open: () => Promise<Readable> | Readable;
  /** The sealed digests the bytes must have (artifacts). */
  expect?: { sha256: string; sha512: string; size: number };
  compress: boolean;
}

/**
 * The zip being written: payload files are added in batches as they become known and written in
 * the order added; each is hashed on the way (both digests) and checked against the sealed digests
 * it carries. Files up to `bufferedMax` are read whole, ahead of the writer (bounded); larger ones
 * stream. The first failure aborts everything: `race` lets the caller stop waiting on other work.
 */
export class PayloadZip {
  readonly digests = new Map<string, { sha256: string; sha512: string; size: number }>();
  bytesDone = 0;
  bytesTotal = 0;
  private readonly zip = new yazl.ZipFile();
  private readonly partial: string;
  private readonly written: Promise<void>;
  private readonly zipHash = createHash('sha256');
  private zipSize = 0;
  private firstError: unknown = null;
  private abort!: (err: unknown) => void;
  private readonly aborted: Promise<never>;
  private readonly hashed: Array<Promise<void>> = [];
  private readonly entries: PayloadEntry[] = [];
  private readonly reads = new Map<PayloadEntry, Promise<Buffer>>();
  private readCursor = 0;
  private readBytes = 0;

  constructor(private readonly o: { outPath: string; bagName: string; mtime: Date; bufferedMax: number; progress: (p: PackageProgress) => void }) {
    this.partial = `${o.outPath}.partial-${process.pid}`;
    this.aborted = new Promise<never>((_, reject) => (this.abort = reject));
    this.aborted.catch(() => undefined);
    this.zip.on('error', (err: unknown) => this.failWith(err));
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.zipHash.update(chunk);
        this.zipSize += chunk.length;
        cb(null, chunk);
      },
    });
    this.written = pipeline(this.zip.outputStream as unknown as Readable, counter, createWriteStream(this.partial, { flags: 'wx' }));
    this.written.catch((err: unknown) => this.failWith(err));
  }

  /** The first failure stops the build: later entries may never be read once yazl has failed. */
  private failWith(err: unknown): void {
    this.firstError ??= err;
    this.abort(this.firstError);
  }

  /** `p`, or the build's first failure if that comes first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  add(list: PayloadEntry[]): void {
    for (const e of list) {
      this.bytesTotal += e.size;
      this.entries.push(e);
      this.addEntry(e, this.entries.length - 1);
    }
    this.readAhead(this.readCursor);
  }

  /** Whole-file reads run ahead of the zip writer (bounded in files and bytes), so the store's
   * latency overlaps the writing instead of adding up file after file. */
  private readAhead(from: number): void {
    this.readCursor = Math.max(this.readCursor, from);
    while (this.readCursor < this.entries.length && this.readCursor < from + READ_AHEAD_FILES && (this.reads.size === 0 || this.readBytes < READ_AHEAD_BYTES)) {
      const e = this.entries[this.readCursor++]!;
      if (!e.read) continue;
      this.readBytes += e.size;
      const p = e.read();
      p.catch(() => undefined);
      this.reads.set(e, p);
    }
  }

  private takeRead(e: PayloadEntry): Promise<Buffer> | undefined {
    const ahead = this.reads.get(e);
    if (ahead) {
      this.reads.delete(e);
      this.readBytes -= e.size;
      return ahead;
    }
    return e.read?.();
  }

  /** Record an entry's digests; false (and the build fails) when they are not the sealed ones. */
  private done(e: PayloadEntry, d: { sha256: string; sha512: string; size: number }): boolean {
    this.digests.set(e.path, d);
    this.bytesDone += d.size;
    this.o.progress({ phase: 'payload', bytesDone: this.bytesDone, bytesTotal: this.bytesTotal, detail: e.path });
    if (e.expect && (d.sha256 !== e.expect.sha256 || d.sha512 !== e.expect.sha512 || d.size !== e.expect.size)) {
      this.failWith(new IntegrityError('HASH_MISMATCH', `${e.path}: the store returned bytes that do not match the manifest (${d.sha256}, expected ${e.expect.sha256})`));
      return false;
    }
    return true;
  }

  private addEntry(e: PayloadEntry, index: number): void {
    let settle!: () => void;
    this.hashed.push(new Promise<void>((r) => (settle = r)));
    this.zip.addReadStreamLazy(`${this.o.bagName}/${e.path}`, { compress: e.compress, mtime: this.o.mtime, mode: 0o100644 }, (cb) => {
      const whole = e.bytes ? Promise.resolve(e.bytes) : this.takeRead(e);
      this.readAhead(index + 1);
      if (whole) {
        whole.then(
          (bytes) => {
            // What goes into the zip is exactly the buffer just checked against the sealed digests.
            const ok = this.done(e, hashBytes(bytes));
            settle();
            if (ok) cb(null, Readable.from([bytes], { objectMode: false }));
            else cb(this.firstError as Error, Readable.from([]));
          },
          (err: unknown) => {
            this.failWith(err);
            settle();
            cb(err as Error, Readable.from([]));
          },
        );
        return;
      }
      Promise.resolve(e.open()).then(
        (src) => {
          const hasher = new HashingTransform({ sizeHint: e.size });
          const out = new PassThrough();
          pipeline(src, hasher, out).catch((err: unknown) => {
            this.failWith(err);
            settle();
          });
          hasher.digests().then(
            (d) => {
              this.done(e, d);
              settle();
            },
            () => settle(),
          );
          cb(null, out);
        },
        (err: unknown) => {
          this.failWith(err);
          settle();
          cb(err as Error, Readable.from([]));
        },
      );
    });
  }

  /** Every payload file added so far is in the zip and matched its digests. */
  async payloadDone(): Promise<Map<string, { sha256: string; sha512: string; size: number }>> {
    await this.race(Promise.all(this.hashed));
    if (this.firstError) throw this.firstError;
    return this.digests;
  }

  /** Add the tag files, close the zip and move it into place. */
  async finish(tags: Map<string, Buffer>): Promise<{ sha256: string; size: number }> {
    for (const [p, b] of tags) this.zip.addBuffer(b, `${this.o.bagName}/${p}`, { compress: true, mtime: this.o.mtime, mode: 0o100644 });
    this.zip.end();
    await this.race(this.written);
    await rename(this.partial, this.o.outPath);
    return { sha256: `sha256:${this.zipHash.digest('hex')}`, size: this.zipSize };
  }

  /** After a failure: stop writing and leave no partial file behind. */
  async discard(): Promise<void> {
    (this.zip.outputStream as unknown as Readable).destroy();
    await this.written.catch(() => undefined);
    await rm(this.partial, { force: true });
  }
}
