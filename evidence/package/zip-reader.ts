/**
 * Reading a package zip in place, never extracting it: one pass over its entries checks every
 * name, size and CRC-32 against the central directory and hashes each file; small entries are kept
 * in memory for the checks that parse them.
 */
import { createReadStream, read as fsRead } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { hashFileHandle } from '../hash-file.js';
import { DualHasher, HASH_CHUNK_BYTES, hashBytes, PARALLEL_HASH_MIN_BYTES, type Digests } from '../hash.js';
import type { BagFiles } from './bag-files.js';
import { isSafeRelativeName } from './layout.js';

/** fs functions for streams on a shared descriptor: a stream's destroy() must not close it. */
const KEEP_FD_OPEN = { read: fsRead, close: (_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => cb(null) };

/**
 * The bytes of a zip for yauzl, read in 1 MiB positioned reads on one descriptor. yauzl's own file
 * reader reads 16 KiB at a time, and per-read overhead then costs more than the hashing itself.
 * Only the byte source changes: yauzl still does every check of the zip structure.
 */
class LargeReadReader extends yauzl.RandomAccessReader {
  constructor(private readonly fh: FileHandle) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    if (end <= start) return Readable.from([]);
    // destroy() would close the descriptor even with autoClose off (hence KEEP_FD_OPEN); close() closes it.
    return createReadStream('', { fd: this.fh.fd, fs: KEEP_FD_OPEN, start, end: end - 1, highWaterMark: HASH_CHUNK_BYTES, autoClose: false });
  }
  override close(callback: (err: Error | null) => void): void {
    // Read-only, and openZipBag closes it too: a failed close changes nothing about the result.
    this.fh.close().then(() => callback(null), () => callback(null));
  }
}

/** Entries up to this size are kept in memory from the one pass over the zip (tag files, manifests, JSON). */
export const RETAIN_ENTRY_BYTES = 4 * 1024 * 1024;
/** In all at most this much; anything else that must be parsed is read again from the zip (and re-checked). */
const RETAIN_TOTAL_BYTES = 64 * 1024 * 1024;

interface ZipFileEntry {
  entry: yauzl.Entry;
  digests: Digests;
  bytes: Buffer | null;
}

function openZip(fh: FileHandle, size: number): Promise<yauzl.ZipFile> {
  return new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromRandomAccessReader(new LargeReadReader(fh), size, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, decodeStrings: true, autoClose: false }, (err, z) =>
      err || !z ? reject(err ?? new Error('cannot open zip')) : resolve(z),
    ),
  );
}

/**
 * Read one zip entry: digests of its uncompressed bytes, their CRC-32 and count checked against the
 * central directory, and the bytes themselves when `keep`. Stored entries are hashed straight from
 * the zip file with positioned reads (see hashFileHandle); deflated ones go through yauzl's inflater.
 */
async function readZipEntry(zip: yauzl.ZipFile, fh: FileHandle, entry: yauzl.Entry, keep: boolean): Promise<{ digests: Digests; crc32: number; bytes: Buffer | null }> {
  const name = entry.fileName;
  // yauzl checks the local header's signature and that the data lies inside the file. Its name must
  // be the central directory's: tools that read local headers (streaming unzippers) would otherwise
  // see other files than we verify. Python's zipfile refuses such zips too.
  const local = await zip.readLocalFileHeaderPromise(entry);
  if (!Buffer.from(local.fileName).equals(entry.fileNameRaw)) {
    // Both names come from the zip (hostile): quoted clipped, so the report stays bounded.
    const clip = (n: string): string => JSON.stringify(n.length > 200 ? `${n.slice(0, 200)}…` : n);
    throw new Error(`zip entry ${clip(name)} is named ${clip(Buffer.from(local.fileName).toString('utf8'))} (${local.fileName.length} bytes) in its local header: the zip is ambiguous`);
  }
  if (entry.compressionMethod === 0 && !entry.isEncrypted()) {
    if (entry.compressedSize !== entry.uncompressedSize) throw new Error(`stored entry ${name} claims ${entry.compressedSize} bytes in the zip but ${entry.uncompressedSize} uncompressed`);
    const { fileDataStart } = local;
    if (keep) {
      const bytes = Buffer.allocUnsafe(entry.uncompressedSize);
      let got = 0;
      while (got < bytes.length) {
        const { bytesRead } = await fh.read(bytes, got, bytes.length - got, fileDataStart + got);
        if (bytesRead === 0) throw new Error(`entry ${name} is truncated`);
        got += bytesRead;
      }
      return { digests: hashBytes(bytes), crc32: zlib.crc32(bytes), bytes };
    }
    const d = await hashFileHandle(fh, { start: fileDataStart, length: entry.uncompressedSize, crc32: true });
    return { digests: { sha256: d.sha256, sha512: d.sha512, size: d.size }, crc32: d.crc32!, bytes: null };
  }
  // yauzl inflates and, with validateEntrySizes, errors when the byte count differs from the directory.
  const stream = await zip.openReadStreamPromise(entry);
  const hasher = new DualHasher({ parallel: entry.uncompressedSize >= PARALLEL_HASH_MIN_BYTES });
  const parts: Buffer[] = [];
  let crc = 0;
  let inflated = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Never past the declared size: a bomb stops at its first chunk beyond what it declared.
      inflated += chunk.length;
      if (inflated > entry.uncompressedSize) {
        stream.destroy();
        throw new Error(`entry ${name} inflates past its declared ${entry.uncompressedSize} bytes`);
      }
      crc = zlib.crc32(chunk, crc);
      if (keep) parts.push(chunk);
      const wait = hasher.update(chunk);
      if (wait) await wait;
    }
  } catch (err) {
    await hasher.abort();
    throw err;
  }
  return { digests: await hasher.digest(), crc32: crc, bytes: keep ? Buffer.concat(parts) : null };
}

interface ZipLimits {
  maxTotalBytes: number;
  maxEntries: number;
  retainEntryBytes: number;
}

/** The zip's files by name, its folders, and the entries whose CRC-32 did not match. */
interface ZipContents {
  files: Map<string, ZipFileEntry>;
  dirs: Set<string>;
  crcProblems: Array<{ name: string; message: string }>;
}

/** The next central-directory entry, or null at the end. */
function nextEntry(z: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise<yauzl.Entry | null>((resolve, reject) => {
    const onEntry = (e: yauzl.Entry) => done(e);
    const onEnd = () => done(null);
    const onError = (err: Error) => done(null, err);
    const done = (e: yauzl.Entry | null, err?: Error) => {
      z.off('entry', onEntry).off('end', onEnd).off('error', onError);
      if (err) reject(err);
      else resolve(e);
    };
    z.on('entry', onEntry).on('end', onEnd).on('error', onError);
    z.readEntry();
  });
}

/** Every entry, checked and read in one pass; throws on the first unsafe or hostile one. */
async function readEntries(z: yauzl.ZipFile, fh: FileHandle, opts: ZipLimits): Promise<ZipContents> {
  if (z.entryCount > opts.maxEntries) throw new Error(`zip has ${z.entryCount} entries (limit ${opts.maxEntries})`);
  // yauzl reports some problems as 'error' events outside readEntry: keep them, never crash on them.
  let zipError: Error | null = null;
  z.on('error', (err: Error) => (zipError ??= err));
  const files = new Map<string, ZipFileEntry>();
  const dirs = new Set<string>();
  const crcProblems: Array<{ name: string; message: string }> = [];
  let total = 0;
  let retained = 0;
  for (;;) {
    const entry = await nextEntry(z);
    if (!entry) break;
    const name = entry.fileName;
    const isDir = name.endsWith('/');
    const rel = isDir ? name.slice(0, -1) : name;
    if (!isSafeRelativeName(rel)) throw new Error(`unsafe path in zip: ${JSON.stringify(name)}`);
    const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
    if (mode === 0o120000) throw new Error(`symlink in zip: ${name}`);
    total += entry.uncompressedSize;
    if (total > opts.maxTotalBytes) throw new Error(`zip expands to more than ${opts.maxTotalBytes} bytes`);
    // On disk these would collide; in a zip they are ambiguous: which bytes are the evidence?
    if (files.has(rel) || (!isDir && dirs.has(rel))) throw new Error(`duplicate entry in zip: ${name}`);
    const segs = rel.split('/');
    for (let i = 1; i < segs.length; i++) {
      const parent = segs.slice(0, i).join('/');
      if (files.has(parent)) throw new Error(`zip entry ${name} is inside ${parent}, which is a file`);
      dirs.add(parent);
    }
    if (isDir) {
      dirs.add(rel);
      continue;
    }
    const keep = entry.uncompressedSize <= opts.retainEntryBytes && retained + entry.uncompressedSize <= RETAIN_TOTAL_BYTES;
    if (keep) retained += entry.uncompressedSize;
    const r = await readZipEntry(z, fh, entry, keep);
    if (r.crc32 !== entry.crc32) crcProblems.push({ name: rel, message: `CRC-32 of the bytes is ${hex8(r.crc32)}, the zip says ${hex8(entry.crc32)}: the zip is damaged or was altered` });
    files.set(rel, { entry, digests: r.digests, bytes: r.bytes });
  }
  if (zipError) throw zipError;
  return { files, dirs, crcProblems };
}

/** Where the bag starts: the top of the zip or its single top-level folder (as findBagRoot on disk); null when neither. */
function bagPrefix({ files, dirs }: ZipContents): string | null {
  if (files.has('bagit.txt')) return '';
  const tops = new Set([...files.keys(), ...dirs].map((n) => n.split('/')[0]!).filter((t) => !t.startsWith('.')));
  const only = tops.size === 1 ? [...tops][0]! : null;
  return only && dirs.has(only) && files.has(`${only}/bagit.txt`) ? `${only}/` : null;
}

/** The bag under `prefix`, read from the zip's first pass (or again, re-checked, for large entries). */
function zipBagFiles(z: yauzl.ZipFile, fh: FileHandle, zipPath: string, { files, crcProblems }: ZipContents, prefix: string): BagFiles {
  const inBag = (n: string) => n.startsWith(prefix);
  const entryOf = (p: string): ZipFileEntry => {
    const f = files.get(prefix + p);
    if (!f) throw new Error(`${p} is not in the zip`);
    return f;
  };
  return {
    files: [...files.keys()].filter(inBag).map((n) => n.slice(prefix.length)),
    unsafe: [],
    problems: crcProblems.filter((c) => inBag(c.name)).map((c) => ({ item: c.name.slice(prefix.length), check: 'zip-crc32', message: c.message })),
    digests: async (p) => entryOf(p).digests,
    read: async (p) => {
      const f = entryOf(p);
      if (f.bytes) return f.bytes;
      // Not kept from the first pass: read it again, and make sure these are the bytes that were hashed.
      const again = await readZipEntry(z, fh, f.entry, true);
      if (again.digests.sha256 !== f.digests.sha256) throw new Error(`${p} changed in the zip while it was being verified`);
      return again.bytes!;
    },
    region: async (p) => {
      const { entry } = entryOf(p);
      if (entry.compressionMethod !== 0 || entry.isEncrypted()) return null;
      const local = await z.readLocalFileHeaderPromise(entry);
      return { file: zipPath, start: local.fileDataStart, length: entry.uncompressedSize };
    },
    stream: (p) => ({
      [Symbol.asyncIterator]: async function* () {
        yield* (await z.openReadStreamPromise(entryOf(p).entry)) as AsyncIterable<Buffer>;
      },
    }),
  };
}

/**
 * Read a zip in one pass without extracting it. Throws with a precise message on any unsafe or
 * hostile entry (traversal, absolute or backslash paths, symlinks, duplicates, a name that is both
 * a file and a folder, too many entries, too many bytes, sizes that lie); nothing is written to disk.
 */
export async function openZipBag(zipPath: string, opts: ZipLimits): Promise<{ bag: BagFiles | null; close(): Promise<void> }> {
  const fh = await open(zipPath, 'r');
  let zip: yauzl.ZipFile | null = null;
  const close = async (): Promise<void> => {
    zip?.close();
    await fh.close().catch(() => undefined);
  };
  try {
    const size = (await fh.stat()).size;
    zip = await openZip(fh, size);
    const contents = await readEntries(zip, fh, opts);
    const prefix = bagPrefix(contents);
    return { bag: prefix === null ? null : zipBagFiles(zip, fh, zipPath, contents, prefix), close };
  } catch (err) {
    await close();
    throw err;
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
