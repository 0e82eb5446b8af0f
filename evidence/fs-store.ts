import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, PermanentError, TransientError } from '../lib/errors.js';
import { HASH_CHUNK_BYTES, HashingTransform, hashBytes, type Digests } from './hash.js';
import type { EvidenceStore, StoredBlob } from './store.js';
import { storeKeys } from './store.js';
import { assertRecordKey, assertValidKey, assertValidPrefix, isBlobKey, sha256Hex } from './store-keys.js';

const TMP_DIR = '.tmp';
const READ_ONLY = 0o444;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function notFound(key: string, cause?: unknown): PermanentError {
  return new PermanentError('NOT_FOUND', `no object ${JSON.stringify(key)} in the evidence store`, { cause });
}

/**
 * The local-directory evidence store (embedded default). Blobs live at `sha256/<ab>/<hex>` on disk
 * (fanned out by the first two hex digits) but their keys are `sha256/<hex>`; named records live
 * at their key. Everything is written to a temp file, fsynced, then hard-linked into place, which
 * fails if the name exists — so a concurrent writer can never clobber, and readers never see a
 * partial file. Stored files are made read-only (0444). There is no delete.
 */
export class FsStore implements EvidenceStore {
  readonly kind = 'fs' as const;
  readonly location: string;
  private readonly root: string;
  private readonly tmp: string;

  private constructor(root: string) {
    this.root = root;
    this.location = root;
    this.tmp = path.join(root, TMP_DIR);
  }

  /** Open (creating if needed) a store rooted at `root`. */
  static async open(root: string): Promise<FsStore> {
    const abs = path.resolve(root);
    await mkdir(path.join(abs, TMP_DIR), { recursive: true });
    await mkdir(path.join(abs, 'sha256'), { recursive: true });
    return new FsStore(abs);
  }

  /** Where a key lives on disk. Blob keys fan out; other keys map 1:1. */
  private pathOf(key: string): string {
    assertValidKey(key);
    const rel = isBlobKey(key) ? path.join('sha256', key.slice(7, 9), key.slice(7)) : path.join(...key.split('/'));
    const abs = path.join(this.root, rel);
    // assertValidKey already forbids escapes; this is the belt to its braces.
    if (!abs.startsWith(this.root + path.sep)) throw new PermanentError('INVALID_INPUT', `store key ${JSON.stringify(key)} escapes the store`);
    return abs;
  }

  private tmpPath(): string {
    return path.join(this.tmp, `${process.pid}-${randomUUID()}`);
  }

  async putFile(filePath: string, opts: { expectSha256?: string; contentType?: string } = {}): Promise<StoredBlob> {
    if (opts.expectSha256 !== undefined) sha256Hex(opts.expectSha256);
    const st = await stat(filePath).catch((cause: unknown) => {
      throw new PermanentError('NOT_FOUND', `cannot read ${filePath}: ${(cause as Error).message}`, { cause });
    });
    if (!st.isFile()) throw new PermanentError('INVALID_INPUT', `${filePath} is not a regular file`);
    const tmp = this.tmpPath();
    try {
      const hasher = new HashingTransform({ sizeHint: st.size });
      await pipeline(
        createReadStream(filePath, { highWaterMark: HASH_CHUNK_BYTES }),
        hasher,
        createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true, highWaterMark: HASH_CHUNK_BYTES }),
      );
      const digests = await hasher.digests();
      if (opts.expectSha256 !== undefined && digests.sha256 !== opts.expectSha256) {
        throw new IntegrityError('HASH_MISMATCH', `${filePath}: expected ${opts.expectSha256}, read ${digests.sha256}`);
      }
      return await this.commitBlob(tmp, digests);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async putBytes(bytes: Uint8Array, _opts: { contentType?: string } = {}): Promise<StoredBlob> {
    const digests = hashBytes(bytes);
    const tmp = this.tmpPath();
    try {
      await this.writeTmp(tmp, bytes);
      return await this.commitBlob(tmp, digests);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async putRecord(key: string, bytes: Uint8Array, _opts: { contentType?: string } = {}): Promise<{ created: boolean }> {
    assertRecordKey(key);
    const dest = this.pathOf(key);
    const tmp = this.tmpPath();
    try {
      await this.writeTmp(tmp, bytes);
      await chmod(tmp, READ_ONLY);
      await mkdir(path.dirname(dest), { recursive: true });
      try {
        await link(tmp, dest);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw storeError(`cannot write record ${key}`, err);
        const existing = await readFile(dest);
        if (Buffer.compare(existing, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) === 0) return { created: false };
        throw new IntegrityError('STORE_CONFLICT', `record ${key} already exists with different content (write-once store refuses to overwrite)`);
      }
      await syncDir(path.dirname(dest));
      return { created: true };
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  private async writeTmp(tmp: string, bytes: Uint8Array): Promise<void> {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Link a fully written, fsynced temp file into the blob namespace unless already present. */
  private async commitBlob(tmp: string, d: Digests): Promise<StoredBlob> {
    const hex = sha256Hex(d.sha256);
    const key = storeKeys.blob(hex);
    const dest = this.pathOf(key);
    await chmod(tmp, READ_ONLY);
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await link(tmp, dest);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw storeError(`cannot store blob ${key}`, err);
      const existing = await stat(dest);
      if (existing.size !== d.size) {
        throw new IntegrityError('STORE_CONFLICT', `blob ${key} exists with size ${existing.size}, expected ${d.size}: the store is damaged`);
      }
      return { key, sha256: d.sha256, sha512: d.sha512, size: d.size, created: false };
    }
    await syncDir(path.dirname(dest));
    return { key, sha256: d.sha256, sha512: d.sha512, size: d.size, created: true };
  }

  async get(key: string): Promise<Readable> {
    const p = this.pathOf(key);
    let fh;
    try {
      fh = await open(p, 'r');
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') throw notFound(key, err);
      throw storeError(`cannot read ${key}`, err);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw notFound(key);
    }
    return fh.createReadStream({ highWaterMark: HASH_CHUNK_BYTES });
  }

  async getBytes(key: string): Promise<Buffer> {
    const p = this.pathOf(key);
    try {
      return await readFile(p);
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR' || errno(err) === 'EISDIR') throw notFound(key, err);
      throw storeError(`cannot read ${key}`, err);
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const p = this.pathOf(key);
    try {
      const st = await lstat(p);
      return st.isFile() ? { size: st.size } : null;
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null;
      throw storeError(`cannot stat ${key}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirPart = slash < 0 ? '' : prefix.slice(0, slash);
    // Blob keys have no deeper folders; every `sha256/...` prefix walks the fanned-out blob tree.
    const walkRel = dirPart === 'sha256' || dirPart.startsWith('sha256/') ? 'sha256' : dirPart;
    const keys: string[] = [];
    await this.walk(walkRel, keys);
    return keys.filter((k) => k.startsWith(prefix)).sort();
  }

  private async walk(rel: string, out: string[]): Promise<void> {
    const abs = rel === '' ? this.root : path.join(this.root, ...rel.split('/'));
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
      throw storeError(`cannot list ${rel || '/'}`, err);
    }
    for (const e of entries) {
      if (rel === '' && e.name === TMP_DIR) continue;
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await this.walk(childRel, out);
      else if (e.isFile()) out.push(toKey(childRel));
    }
  }
}

/** Disk path (relative, POSIX) → key: `sha256/ab/<hex>` → `sha256/<hex>`. */
function toKey(rel: string): string {
  const m = /^sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(rel);
  return m ? `sha256/${m[1]}` : rel;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function storeError(what: string, cause: unknown): Error {
  // I/O trouble (disk full, permissions): the job fails with the reason and may be retried.
  return new TransientError('STORE_ERROR', `${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
