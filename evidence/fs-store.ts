import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { IntegrityError, PermanentError, TransientError } from '../lib/errors.js';
import { hashFileHandle } from './hash-file.js';
import { HASH_CHUNK_BYTES, hashBytes, type Digests } from './hash.js';
import type { EvidenceStore, StoredBlob } from './store.js';
import { storeKeys } from './store.js';
import { assertRecordKey, assertValidKey, assertValidPrefix, isBlobKey, sha256Hex } from './store-keys.js';

const TMP_DIR = '.tmp';
const READ_ONLY = 0o444;
/** Start writing a large copy back to disk every 32 MiB while hashing, so the closing fsync is short. */
const EARLY_SYNC_BYTES = 32 * 1024 * 1024;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function notFound(key: string, cause?: unknown): PermanentError {
  return new PermanentError('NOT_FOUND', `no object ${JSON.stringify(key)} in the evidence store`, { cause });
}

export interface FsStoreOptions {
  /**
   * Makes `dest` (which must not exist) a copy-on-write clone of `src`, or throws when the
   * filesystem cannot. Injected by tests to drive both putFile paths on any filesystem.
   * @defaultValue a reflink via copyFile(COPYFILE_FICLONE_FORCE)
   */
  cloneFile?: (src: string, dest: string) => Promise<void>;
}

/** A reflink or an error (ENOTSUP/EXDEV/EOPNOTSUPP on ext4 or across filesystems): never a byte copy. */
async function reflink(src: string, dest: string): Promise<void> {
  await copyFile(src, dest, fsConstants.COPYFILE_FICLONE_FORCE | fsConstants.COPYFILE_EXCL);
}

/**
 * The local-directory evidence store (embedded default). Blobs live at `sha256/<ab>/<hex>` on disk
 * (fanned out by the first two hex digits) but their keys are `sha256/<hex>`; named records live
 * at their key. Everything is written to a temp file, fsynced, then hard-linked into place, which
 * fails if the name exists — so a concurrent writer can never clobber, and readers never see a
 * partial file. Stored files are made read-only (0444). There is no delete.
 * A directory has no object versions: there is no version id to record at seal or pin on read, and
 * no `onFinding` (an overwrite is refused here, not layered on top as in a versioned bucket).
 */
export class FsStore implements EvidenceStore {
  readonly kind = 'fs' as const;
  readonly location: string;
  private readonly root: string;
  private readonly tmp: string;

  private readonly cloneFile: (src: string, dest: string) => Promise<void>;
  private canClone = true;

  private constructor(root: string, opts: FsStoreOptions) {
    this.root = root;
    this.location = root;
    this.tmp = path.join(root, TMP_DIR);
    this.cloneFile = opts.cloneFile ?? reflink;
  }

  /** Open (creating if needed) a store rooted at `root`. */
  static async open(root: string, opts: FsStoreOptions = {}): Promise<FsStore> {
    const abs = path.resolve(root);
    await mkdir(path.join(abs, TMP_DIR), { recursive: true });
    await mkdir(path.join(abs, 'sha256'), { recursive: true });
    return new FsStore(abs, opts);
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
    const cannotRead = (cause: unknown): never => {
      throw new PermanentError('NOT_FOUND', `cannot read ${filePath}: ${(cause as Error).message}`, { cause });
    };
    // stat before open: opening a FIFO would block.
    if (!(await stat(filePath).catch(cannotRead)).isFile()) throw new PermanentError('INVALID_INPUT', `${filePath} is not a regular file`);
    const src = await open(filePath, 'r').catch(cannotRead);
    const tmp = this.tmpPath();
    try {
      const st = await src.stat();
      if (!st.isFile()) throw new PermanentError('INVALID_INPUT', `${filePath} is not a regular file`);
      const digests = (await this.cloneAndHash(filePath, tmp, st.size)) ?? (await this.copyAndHash(src, tmp, st.size));
      if (opts.expectSha256 !== undefined && digests.sha256 !== opts.expectSha256) {
        throw new IntegrityError('HASH_MISMATCH', `${filePath}: expected ${opts.expectSha256}, read ${digests.sha256}`);
      }
      return await this.commitBlob(tmp, digests);
    } finally {
      await src.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Zero-copy path: a reflink (FICLONE) of the source into the temp namespace, then the digests of
   * the clone itself, read back after it was made read-only. A reflink shares blocks copy-on-write,
   * so a later write to the spool file (an fd a collector still holds, a retried capture rewriting
   * the same path with O_TRUNC) changes only the spool's own copy, never the stored blob. A hard
   * link would share the inode instead — any such write would silently rewrite sealed evidence,
   * and 0444 does not stop an open fd or root — so hard links are never used for blobs.
   * Returns null when the filesystem cannot clone (ext4, across filesystems, …): the caller copies.
   */
  private async cloneAndHash(filePath: string, tmp: string, sizeHint: number): Promise<Digests | null> {
    if (!this.canClone) return null;
    try {
      await this.cloneFile(filePath, tmp);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      // The store's filesystem cannot clone at all: stop asking. (EXDEV depends on the source: ask again.)
      if (['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'ENOTTY'].includes(errno(err) ?? '')) this.canClone = false;
      return null;
    }
    await chmod(tmp, READ_ONLY);
    const fh = await open(tmp, 'r');
    try {
      const { crc32: _crc, ...d } = await hashFileHandle(fh, { sizeHint });
      await fh.sync();
      return d;
    } finally {
      await fh.close();
    }
  }

  /**
   * Copy path: one pass over the source, each chunk hashed (the two digests on two threads) and
   * written to the temp file from the same memory, so what is stored is exactly what was hashed.
   * The copy is fsynced in 32 MiB steps while hashing goes on (EARLY_SYNC_BYTES).
   */
  private async copyAndHash(src: FileHandle, tmp: string, sizeHint: number): Promise<Digests> {
    const out = await open(tmp, 'wx', 0o600);
    try {
      const { crc32: _crc, ...d } = await hashFileHandle(src, { sink: out, sizeHint, syncEveryBytes: EARLY_SYNC_BYTES });
      await out.sync();
      return d;
    } finally {
      await out.close();
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
