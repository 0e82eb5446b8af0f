/**
 * Offline verification of a certified package (zip or unzipped directory). Needs no store, no
 * Redis, no network: only the package, and optionally pinned TSA trust anchors.
 *
 * Checks, each reported by the bag-relative path of the item it is about:
 * - the zip (read in place, never extracted): no absolute / `..` / backslash paths, no symlinks, no
 *   duplicate or file-and-folder names, bounded entry count and size, every entry's size and CRC-32
 *   against the central directory;
 * - BagIt: bagit.txt, Payload-Oxum, every payload file against manifest-sha256 and -sha512, no
 *   missing and no extra files, tag manifests;
 * - each capture: manifest parses (CaptureManifest), every artifact present with matching digests
 *   and nothing else in the capture directory, Ed25519 signature (.sig and .signature.json) with the
 *   included key whose fingerprint matches, each `.tsr` (imprint = SHA-256 of manifest.json, CMS
 *   signature, chain to the TSA CA);
 * - custody: seq 1..n contiguous, prevHash links, hashes recompute, canonical bytes; each signed
 *   head matches the event at its seq, is signed and timestamped; the log does not end before the
 *   last signed head (truncation); every packaged capture appears in the log.
 *
 * - cross-checks against the signed custody log: each capture's manifest digest and signing key
 *   against its `manifest-signed` event, its artifacts against their `artifact-sealed` events, all
 *   covered by a head that is signed and timestamped;
 * - the package seal (package-seal.json): every file listed with its digest, signed and
 *   timestamped; the content manifest recorded in the `packaged` event; a whole-case package holds
 *   every capture the log says was sealed, or names it (evidence/package/verify-seal.ts).
 *
 * Trust (evidence/trust.ts): keys and CA certificates carried in the package only show that it is
 * internally consistent. The verdict is `verified` only when every signature is by a pinned key (or
 * one a pinned key rotated to) and every token chains to a pinned TSA root; a consistent package
 * without that is `unauthenticated`, naming the fingerprints a recipient must confirm out of band.
 */
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { createReadStream, read as fsRead } from 'node:fs';
import { lstat, open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { isoUtc, systemClock, type Clock } from '../lib/clock.js';
import { ExhibitError } from '../lib/errors.js';
import { CustodyEvent, CustodyHead, PackageReport, SignatureRecord, TimestampRecord, type VerifyCheck } from '../schemas/custody.js';
import { StoredCaptureManifest, type CaptureManifest } from '../schemas/manifest.js';
import { sha256Digest } from './canonical.js';
import { verifyChain } from './custody.js';
import { DualHasher, HASH_CHUNK_BYTES, hashBytes, hashFile, hashFileHandle, PARALLEL_HASH_MIN_BYTES, type Digests } from './hash.js';
import { keyFingerprint } from './keys.js';
import { bagPaths, isSafeRelativeName, unsealedByDesign } from './package-layout.js';
import { crossCheckCustody, verifyPackageSeal } from './package/verify-seal.js';
import { followRotations, TrustTracker } from './package/verify-trust.js';
import { mergeAnchors, noAnchors, parseCaCertificates, type TrustAnchors } from './trust.js';
import { digestBytes } from './signing.js';
import { verifyTimestampToken } from './timestamp.js';

export interface VerifyOptions {
  /** Pinned signing keys and TSA roots (flags, trust store, the local deployment's own). */
  anchors?: TrustAnchors;
  /** Pinned TSA root certificates (PEM text), as if given with `--tsa-ca`; added to `anchors`. */
  trustAnchors?: string[];
  /** Pinned signing key fingerprints (`sha256:<hex>`), as if given with `--signing-key`; added to `anchors`. */
  signingKeys?: string[];
  /** Refuse zips whose entries add up to more than this. @defaultValue 256 GiB */
  maxTotalBytes?: number;
  /** Refuse zips with more entries than this. @defaultValue 200000 */
  maxEntries?: number;
  /**
   * Zip entries up to this size are kept in memory from the single pass over the zip (at most
   * 64 MiB in all); a larger one that must be parsed is read from the zip again and re-checked.
   * @defaultValue 4 MiB
   */
  retainEntryBytes?: number;
  clock?: Clock;
}

class Report {
  readonly checks: VerifyCheck[] = [];
  add(item: string, check: string, ok: boolean, message: string): boolean {
    this.checks.push({ item, check, ok, message });
    return ok;
  }
  pass(item: string, check: string, message = 'ok') {
    return this.add(item, check, true, message);
  }
  fail(item: string, check: string, message: string) {
    return this.add(item, check, false, message);
  }
}

const errMsg = (e: unknown) => (e instanceof Error ? e.message : String(e));

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

/**
 * The files of a bag, wherever they are (a zip or a directory): bag-relative POSIX paths, their
 * bytes, and the digests of payload files. Zips are read in place: nothing is written to disk.
 */
interface BagFiles {
  files: string[];
  /** Paths that are not regular files (symlinks, specials): each is a failing check. */
  unsafe: string[];
  read(p: string): Promise<Buffer>;
  digests(p: string): Promise<Digests>;
  /** Entry-level failures found while reading (zip CRC-32 mismatches), reported per item. */
  problems: Array<{ item: string; check: string; message: string }>;
}

/** Entries up to this size are kept in memory from the one pass over the zip (tag files, manifests, JSON). */
const RETAIN_ENTRY_BYTES = 4 * 1024 * 1024;
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
    throw new Error(`zip entry ${JSON.stringify(name)} is named ${JSON.stringify(Buffer.from(local.fileName).toString('utf8'))} in its local header: the zip is ambiguous`);
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

/**
 * Read a zip in one pass without extracting it. Throws with a precise message on any unsafe or
 * hostile entry (traversal, absolute or backslash paths, symlinks, duplicates, a name that is both
 * a file and a folder, too many entries, too many bytes, sizes that lie); nothing is written to disk.
 */
async function openZipBag(zipPath: string, opts: { maxTotalBytes: number; maxEntries: number; retainEntryBytes: number }): Promise<{ bag: BagFiles | null; close(): Promise<void> }> {
  const fh = await open(zipPath, 'r');
  let zip: yauzl.ZipFile | null = null;
  const close = async (): Promise<void> => {
    zip?.close();
    await fh.close().catch(() => undefined);
  };
  try {
    const size = (await fh.stat()).size;
    zip = await openZip(fh, size);
    const z = zip;
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
      const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
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

    // The bag is at the top of the zip or in its single top-level folder (as findBagRoot on disk).
    let prefix: string | null = null;
    if (files.has('bagit.txt')) prefix = '';
    else {
      const tops = new Set([...files.keys(), ...dirs].map((n) => n.split('/')[0]!).filter((t) => !t.startsWith('.')));
      const only = tops.size === 1 ? [...tops][0]! : null;
      if (only && dirs.has(only) && files.has(`${only}/bagit.txt`)) prefix = `${only}/`;
    }
    if (prefix === null) return { bag: null, close };
    const inBag = (n: string) => n.startsWith(prefix);
    const bagFiles = [...files.keys()].filter(inBag).map((n) => n.slice(prefix.length));
    const entryOf = (p: string): ZipFileEntry => {
      const f = files.get(prefix + p);
      if (!f) throw new Error(`${p} is not in the zip`);
      return f;
    };
    const bag: BagFiles = {
      files: bagFiles,
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
    };
    return { bag, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Every file under `root` (POSIX relative paths), refusing symlinks and specials. */
async function walk(root: string, rel = ''): Promise<{ files: string[]; unsafe: string[] }> {
  const out = { files: [] as string[], unsafe: [] as string[] };
  for (const d of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) {
      const sub = await walk(root, p);
      out.files.push(...sub.files);
      out.unsafe.push(...sub.unsafe);
    } else if (d.isFile()) out.files.push(p);
    else out.unsafe.push(p);
  }
  return out;
}

async function findBagRoot(dir: string): Promise<string | null> {
  if (await lstat(path.join(dir, 'bagit.txt')).catch(() => null)) return dir;
  const entries = (await readdir(dir, { withFileTypes: true })).filter((d) => !d.name.startsWith('.'));
  if (entries.length === 1 && entries[0]!.isDirectory()) {
    const sub = path.join(dir, entries[0]!.name);
    if (await lstat(path.join(sub, 'bagit.txt')).catch(() => null)) return sub;
  }
  return null;
}

/** An unzipped bag on disk. */
async function dirBag(dir: string): Promise<BagFiles | null> {
  const root = await findBagRoot(dir);
  if (!root) return null;
  const { files, unsafe } = await walk(root);
  const abs = (p: string) => path.join(root, ...p.split('/'));
  return { files, unsafe, problems: [], read: (p) => readFile(abs(p)), digests: (p) => hashFile(abs(p)) };
}

function parseManifest(text: string): { entries: Map<string, string>; bad: string[] } {
  const entries = new Map<string, string>();
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-fA-F]+)[ \t]+\*?(.+)$/.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    const p = m[2]!.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
    // A path listed twice is ambiguous, and a later line must not hide an earlier, wrong digest.
    if (entries.has(p)) {
      bad.push(line);
      continue;
    }
    entries.set(p, m[1]!.toLowerCase());
  }
  return { entries, bad };
}

function parseBagInfo(text: string): Map<string, string[]> {
  const info = new Map<string, string[]>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    if (/^[ \t]/.test(line) && last) {
      const vals = info.get(last)!;
      vals[vals.length - 1] += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    last = line.slice(0, i).trim();
    info.set(last, [...(info.get(last) ?? []), line.slice(i + 1).trim()]);
  }
  return info;
}

/** Verify a package; never throws for problems in the package (they are failing checks). */
export async function verifyPackage(source: string, opts: VerifyOptions = {}): Promise<PackageReport> {
  const report = new Report();
  const clock = opts.clock ?? systemClock;
  const abs = path.resolve(source);
  let closeZip: (() => Promise<void>) | null = null;
  const result = { caseId: null as string | null, captureIds: [] as string[], events: 0 };
  let trust = new TrustTracker(noAnchors());
  try {
    trust = new TrustTracker(
      mergeAnchors(opts.anchors ?? noAnchors(), {
        signingKeys: (opts.signingKeys ?? []).map((fingerprint) => ({ fingerprint, source: 'flag' as const })),
        tsaCas: (opts.trustAnchors ?? []).flatMap((pem) => parseCaCertificates(pem).map((c) => ({ ...c, source: 'flag' as const }))),
      }),
    );
    const st = await lstat(abs).catch(() => null);
    if (!st) {
      report.fail(source, 'exists', 'no such file or directory');
    } else {
      let bag: BagFiles | null | undefined;
      if (st.isFile()) {
        try {
          const z = await openZipBag(abs, { maxTotalBytes: opts.maxTotalBytes ?? 256 * 1024 ** 3, maxEntries: opts.maxEntries ?? 200_000, retainEntryBytes: opts.retainEntryBytes ?? RETAIN_ENTRY_BYTES });
          closeZip = z.close;
          bag = z.bag;
          report.pass(source, 'zip', 'zip read safely: every entry within limits, sizes and CRC-32 checked');
        } catch (err) {
          report.fail(source, 'zip', `refusing the zip: ${errMsg(err)}`);
          bag = undefined;
        }
      } else {
        bag = await dirBag(abs);
      }
      if (bag === null) report.fail('bagit.txt', 'bag', 'no bagit.txt at the top level (or in a single top-level directory)');
      else if (bag) await verifyBag(bag, report, result, trust);
    }
  } catch (err) {
    report.fail(source, 'verify', `verification stopped: ${errMsg(err)}`);
  } finally {
    if (closeZip) await closeZip();
  }
  const failures = report.checks.filter((c) => !c.ok);
  const consistent = failures.length === 0 && report.checks.length > 0;
  const verdict = trust.verdict(consistent);
  return PackageReport.parse({
    schemaVersion: 'exhibit.verify-report/1',
    ok: verdict === 'verified',
    verdict,
    consistent,
    source,
    caseId: result.caseId,
    captureIds: result.captureIds,
    custodyEvents: result.events,
    trust: trust.report(verdict),
    verifiedAt: isoUtc(clock.now()),
    checks: report.checks,
    failures,
  });
}

async function verifyBag(bag: BagFiles, r: Report, result: { caseId: string | null; captureIds: string[]; events: number }, trust: TrustTracker): Promise<void> {
  const read = (p: string) => bag.read(p);
  const { files, unsafe } = bag;
  for (const u of unsafe) r.fail(u, 'file-type', 'not a regular file (symlink or special file)');
  for (const p of bag.problems) r.fail(p.item, p.check, p.message);
  const fileSet = new Set(files);

  // bagit.txt
  const bagit = fileSet.has('bagit.txt') ? (await read('bagit.txt')).toString('utf8') : '';
  if (/^BagIt-Version: 1\.0\r?\n/.test(bagit) && /Tag-File-Character-Encoding: UTF-8/.test(bagit)) r.pass('bagit.txt', 'bagit', 'BagIt 1.0, UTF-8');
  else r.fail('bagit.txt', 'bagit', 'missing or not "BagIt-Version: 1.0" / "Tag-File-Character-Encoding: UTF-8"');

  // Payload manifests.
  const payloadFiles = files.filter((f) => f.startsWith('data/'));
  const digests = new Map<string, Digests>();
  for (const f of payloadFiles) digests.set(f, await bag.digests(f));
  for (const alg of ['sha256', 'sha512'] as const) {
    const mp = bagPaths.manifest(alg);
    if (!fileSet.has(mp)) {
      r.fail(mp, 'manifest', 'missing');
      continue;
    }
    const { entries, bad } = parseManifest((await read(mp)).toString('utf8'));
    for (const b of bad) r.fail(mp, 'manifest', `malformed line ${JSON.stringify(b.slice(0, 200))}`);
    for (const [p, want] of entries) {
      if (!p.startsWith('data/') || !isSafeRelativeName(p)) {
        r.fail(mp, 'manifest', `unsafe or non-payload path ${JSON.stringify(p)}`);
        continue;
      }
      const d = digests.get(p);
      if (!d) r.fail(p, `payload-${alg}`, `listed in ${mp} but missing from the bag`);
      else if (d[alg].slice(alg.length + 1) !== want) r.fail(p, `payload-${alg}`, `${alg} mismatch: file is ${d[alg]}, ${mp} says ${alg}:${want}`);
      else r.pass(p, `payload-${alg}`);
    }
    for (const p of payloadFiles) if (!entries.has(p)) r.fail(p, `payload-${alg}`, `file is not listed in ${mp} (added after bagging?)`);
  }

  // bag-info.txt and Payload-Oxum.
  const info = fileSet.has(bagPaths.bagInfo) ? parseBagInfo((await read(bagPaths.bagInfo)).toString('utf8')) : new Map<string, string[]>();
  if (!fileSet.has(bagPaths.bagInfo)) r.fail(bagPaths.bagInfo, 'bag-info', 'missing');
  const oxum = info.get('Payload-Oxum')?.[0];
  const actualOxum = `${[...digests.values()].reduce((s, d) => s + d.size, 0)}.${digests.size}`;
  if (oxum === actualOxum) r.pass(bagPaths.bagInfo, 'payload-oxum', actualOxum);
  else r.fail(bagPaths.bagInfo, 'payload-oxum', `Payload-Oxum is ${oxum ?? 'missing'}, payload is ${actualOxum}`);
  const caseId = info.get('Exhibit-Case-Id')?.[0] ?? info.get('External-Identifier')?.[0] ?? null;
  result.caseId = caseId;
  if (!caseId) r.fail(bagPaths.bagInfo, 'case-id', 'no Exhibit-Case-Id');

  // Tag manifests and stray top-level files.
  const tagFiles = files.filter((f) => !f.startsWith('data/'));
  for (const alg of ['sha256', 'sha512'] as const) {
    const tp = bagPaths.tagmanifest(alg);
    if (!fileSet.has(tp)) {
      r.fail(tp, 'tagmanifest', 'missing');
      continue;
    }
    const { entries, bad } = parseManifest((await read(tp)).toString('utf8'));
    for (const b of bad) r.fail(tp, 'tagmanifest', `malformed line ${JSON.stringify(b.slice(0, 200))}`);
    for (const req of [bagPaths.bagit, bagPaths.bagInfo, bagPaths.manifest('sha256'), bagPaths.manifest('sha512')]) {
      if (!entries.has(req)) r.fail(req, `tag-${alg}`, `not listed in ${tp}`);
    }
    for (const [p, want] of entries) {
      if (!fileSet.has(p) || p.startsWith('data/')) {
        r.fail(p, `tag-${alg}`, `listed in ${tp} but missing`);
        continue;
      }
      const got = createHash(alg).update(await read(p)).digest('hex');
      if (got === want) r.pass(p, `tag-${alg}`);
      else r.fail(p, `tag-${alg}`, `${alg} mismatch: file is ${alg}:${got}, ${tp} says ${alg}:${want}`);
    }
  }
  const knownTags = new Set([bagPaths.bagit, bagPaths.bagInfo, bagPaths.manifest('sha256'), bagPaths.manifest('sha512'), bagPaths.tagmanifest('sha256'), bagPaths.tagmanifest('sha512')]);
  for (const f of tagFiles) if (!knownTags.has(f) && !unsealedByDesign(f)) r.fail(f, 'tag-file', 'unexpected file outside data/ (added after bagging?)');

  // Keys and TSA certificates.
  const keyPem = async (fp: string): Promise<string | null> => (fileSet.has(bagPaths.key(fp)) ? (await read(bagPaths.key(fp))).toString('utf8') : null);
  const caPem = fileSet.has(bagPaths.tsaCa) ? (await read(bagPaths.tsaCa)).toString('utf8') : '';
  const tsaPem = fileSet.has(bagPaths.tsaCerts) ? (await read(bagPaths.tsaCerts)).toString('utf8') : '';
  // Tokens are checked against the pinned roots first, then against the package's own CA file: a
  // token that chains only to the latter is consistent, not authenticated.
  let packageCas: ReturnType<typeof parseCaCertificates> = [];
  try {
    packageCas = caPem ? parseCaCertificates(caPem) : [];
  } catch (err) {
    r.fail(bagPaths.tsaCa, 'tsa-ca', `not PEM certificates: ${errMsg(err)}`);
  }
  const pinnedCas = trust.anchors.tsaCas;
  const pinnedCaFps = new Set(pinnedCas.map((c) => c.fingerprint));
  const tokenAnchors = [...pinnedCas.map((c) => ({ info: c, pinned: true })), ...packageCas.filter((c) => !pinnedCaFps.has(c.fingerprint)).map((c) => ({ info: c, pinned: false }))];
  if (tokenAnchors.length === 0) r.fail(bagPaths.tsaCa, 'tsa-ca', 'no TSA root certificate in the package and none pinned');
  let lastAnchor = 0;

  /** Signature by .sig + .signature.json over `digest`; the signer's fingerprint when it verifies. */
  const checkSignature = async (subject: string, sigPath: string, recordPath: string, digest: string, reliedOn = true): Promise<string | null> => {
    if (!fileSet.has(sigPath)) {
      r.fail(sigPath, 'signature', `${subject} is not signed: ${sigPath} missing`);
      return null;
    }
    if (!fileSet.has(recordPath)) {
      r.fail(recordPath, 'signature', 'signature record missing');
      return null;
    }
    let record: SignatureRecord;
    try {
      record = SignatureRecord.parse(JSON.parse((await read(recordPath)).toString('utf8')));
    } catch (err) {
      r.fail(recordPath, 'signature', `not a signature record: ${errMsg(err)}`);
      return null;
    }
    const raw = await read(sigPath);
    let ok = true;
    if (!raw.equals(Buffer.from(record.signature, 'base64'))) ok = r.fail(sigPath, 'signature', `${sigPath} and ${recordPath} hold different signatures`);
    if (record.signedDigest !== digest) ok = r.fail(recordPath, 'signature', `signature covers ${record.signedDigest}, but ${subject} hashes to ${digest}`);
    const pem = await keyPem(record.keyFingerprint);
    if (!pem) {
      r.fail(bagPaths.key(record.keyFingerprint), 'signature', `public key ${record.keyFingerprint} is not in the package`);
      return null;
    }
    try {
      const key = createPublicKey(pem);
      const fp = keyFingerprint(key);
      if (fp !== record.keyFingerprint) {
        r.fail(bagPaths.key(record.keyFingerprint), 'signature', `key file holds ${fp}, not ${record.keyFingerprint}`);
        return null;
      }
      // Whether this key is pinned decides the verdict, not this check: a key in the package is
      // only what the package claims.
      if (reliedOn) trust.signer(fp);
      if (edVerify(null, digestBytes(digest), key, raw)) {
        r.pass(sigPath, 'signature', `Ed25519 signature by ${fp} verifies over ${digest}`);
        return ok ? fp : null;
      }
      r.fail(sigPath, 'signature', `Ed25519 signature over ${digest} does not verify with key ${fp}`);
    } catch (err) {
      r.fail(sigPath, 'signature', `cannot check signature: ${errMsg(err)}`);
    }
    return null;
  };

  /** Tokens over `digest`; how many verified. */
  const checkTokens = async (tokenPaths: string[], digest: string, subject: string, recordPathOf: (p: string) => string): Promise<number> => {
    if (tokenPaths.length === 0) r.fail(subject, 'timestamp', `${subject} has no RFC 3161 timestamp token (unsealed)`);
    let verified = 0;
    for (const tp of tokenPaths) {
      try {
        const tsr = await read(tp);
        // The root that worked for the last token is tried first: tokens of one TSA share it.
        const order = [lastAnchor, ...tokenAnchors.keys()].filter((i, k, all) => i < tokenAnchors.length && all.indexOf(i) === k);
        let facts: Awaited<ReturnType<typeof verifyTimestampToken>> | null = null;
        let lastErr: unknown = new Error('no TSA root to check the token against');
        for (const i of order) {
          try {
            facts = await verifyTimestampToken(tsr, { digest, trustAnchors: [tokenAnchors[i]!.info.pem], untrusted: tsaPem ? [tsaPem] : [] });
            lastAnchor = i;
            trust.root(tokenAnchors[i]!.info);
            break;
          } catch (err) {
            lastErr = err;
          }
        }
        if (!facts) throw lastErr;
        const rp = recordPathOf(tp);
        if (fileSet.has(rp)) {
          try {
            const rec = TimestampRecord.parse(JSON.parse((await read(rp)).toString('utf8')));
            if (rec.genTime !== facts.genTime || rec.digest !== digest || rec.serialNumber !== facts.serialNumber) {
              r.fail(rp, 'timestamp-record', `record (${rec.genTime}, ${rec.digest}) disagrees with the token (${facts.genTime}, ${digest})`);
            }
          } catch (err) {
            r.fail(rp, 'timestamp-record', `not a timestamp record: ${errMsg(err)}`);
          }
        }
        r.pass(tp, 'timestamp', `token over ${digest} by ${facts.tsaName ?? facts.signerSubject} at ${facts.genTime}`);
        verified++;
      } catch (err) {
        r.fail(tp, 'timestamp', err instanceof ExhibitError ? `${err.code}: ${err.message}` : errMsg(err));
      }
    }
    return verified;
  };
  await followRotations({ fileSet, files, read, report: r, checkSignature }, trust);

  // Captures.
  const captureDirs = [...new Set(payloadFiles.map((f) => /^data\/captures\/([^/]+)\//.exec(f)?.[1]).filter((x): x is string => !!x))].sort();
  result.captureIds = captureDirs;
  if (captureDirs.length === 0) r.fail('data/captures/', 'captures', 'the package holds no capture');
  const captureFacts = new Map<string, { digest: string; signer: string | null; manifest: CaptureManifest | null }>();
  for (const id of captureDirs) {
    const mp = bagPaths.captureManifest(id);
    const accounted = new Set<string>([mp, bagPaths.captureSig(id), bagPaths.captureSignature(id)]);
    if (!fileSet.has(mp)) {
      r.fail(mp, 'capture-manifest', 'missing');
      continue;
    }
    const bytes = await read(mp);
    const digest = sha256Digest(bytes);
    let manifest: CaptureManifest | null = null;
    try {
      manifest = StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8')));
      if (manifest.captureId !== id) r.fail(mp, 'capture-manifest', `manifest is for capture ${manifest.captureId}, found in directory ${id}`);
      else if (caseId && manifest.caseId !== caseId) r.fail(mp, 'capture-manifest', `manifest is for case ${manifest.caseId}, package is case ${caseId}`);
      else r.pass(mp, 'capture-manifest', `capture of ${manifest.request.url}`);
    } catch (err) {
      r.fail(mp, 'capture-manifest', `does not parse as a capture manifest: ${errMsg(err).slice(0, 500)}`);
    }
    const signer = await checkSignature(`capture ${id} manifest`, bagPaths.captureSig(id), bagPaths.captureSignature(id), digest);
    captureFacts.set(id, { digest, signer, manifest });
    const tokens = payloadFiles.filter((f) => f.startsWith(`data/captures/${id}/timestamps/`) && f.endsWith('.tsr')).sort();
    for (const t of tokens) {
      accounted.add(t);
      accounted.add(t.replace(/\.tsr$/, '.json'));
    }
    await checkTokens(tokens, digest, mp, (t) => t.replace(/\.tsr$/, '.json'));
    if (manifest) {
      for (const a of manifest.artifacts) {
        if (!isSafeRelativeName(a.name)) {
          r.fail(mp, 'artifact', `unsafe artifact name ${JSON.stringify(a.name)}`);
          continue;
        }
        const ap = bagPaths.artifact(id, a);
        accounted.add(ap);
        const d = digests.get(ap);
        if (!d) r.fail(ap, 'artifact', `artifact ${a.name} listed in the manifest is missing`);
        else if (d.sha256 !== a.sha256 || d.sha512 !== a.sha512 || d.size !== a.size) r.fail(ap, 'artifact', `artifact ${a.name} does not match its manifest entry (${d.sha256}, manifest says ${a.sha256})`);
        else r.pass(ap, 'artifact', `matches manifest (${a.role})`);
      }
    }
    for (const f of payloadFiles.filter((p) => p.startsWith(bagPaths.captureDir(id)))) {
      if (!accounted.has(f)) r.fail(f, 'capture-file', 'file is not part of the capture manifest, its signature or its timestamps');
    }
  }

  // Custody.
  if (!fileSet.has(bagPaths.events)) {
    r.fail(bagPaths.events, 'custody', 'custody log missing');
    return;
  }
  const text = await read(bagPaths.events);
  const lines = text.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else r.fail(bagPaths.events, 'custody', 'custody log does not end with a newline');
  result.events = lines.length;
  const chainProblems = caseId ? verifyChain(caseId, lines.map((l) => Buffer.from(l, 'utf8'))) : [];
  for (const p of chainProblems) r.fail(`${bagPaths.events}#line${p.index + 1}`, 'custody-chain', `${p.seq !== null ? `event seq ${p.seq}: ` : ''}${p.message}`);
  if (caseId && chainProblems.length === 0) r.pass(bagPaths.events, 'custody-chain', `${lines.length} events, contiguous and hash-linked`);
  const events: Array<CustodyEvent | null> = lines.map((l) => {
    try {
      return CustodyEvent.parse(JSON.parse(l));
    } catch {
      return null;
    }
  });
  const lastSeq = events.length ? (events[events.length - 1]?.seq ?? events.length) : 0;

  const headFiles = payloadFiles.filter((f) => /^data\/custody\/heads\/\d{12}\.json$/.test(f)).sort();
  if (headFiles.length === 0) r.fail('data/custody/heads/', 'custody-head', 'no signed custody head');
  let lastHeadSeq = 0;
  // The highest head that is signed, timestamped and matches the log: events up to it are authentic
  // as far as the head's signer and TSA are.
  let coveredSeq = 0;
  for (const hp of headFiles) {
    const bytes = await read(hp);
    let head: CustodyHead;
    try {
      head = CustodyHead.parse(JSON.parse(bytes.toString('utf8')));
    } catch (err) {
      r.fail(hp, 'custody-head', `not a custody head: ${errMsg(err)}`);
      continue;
    }
    const seq12 = hp.slice(-17, -5);
    if (Number(seq12) !== head.seq) r.fail(hp, 'custody-head', `file name says seq ${Number(seq12)}, head says ${head.seq}`);
    if (caseId && head.caseId !== caseId) r.fail(hp, 'custody-head', `head is for case ${head.caseId}`);
    lastHeadSeq = Math.max(lastHeadSeq, head.seq);
    const digest = sha256Digest(bytes);
    const headSigner = await checkSignature(`custody head ${head.seq}`, bagPaths.headSig(head.seq), bagPaths.headSignature(head.seq), digest);
    const tokens = payloadFiles.filter((f) => f.startsWith(`data/custody/heads/${seq12}.timestamp-`) && f.endsWith('.tsr')).sort();
    const stamped = await checkTokens(tokens, digest, hp, (t) => t.replace(/\.tsr$/, '.json'));
    if (head.seq === 0) continue;
    const ev = events[head.seq - 1];
    if (!ev || ev.seq !== head.seq) r.fail(hp, 'custody-head', `signed head names event ${head.seq}, which is not in the log (log ends at ${lastSeq}): truncated or reordered`);
    else if (ev.hash !== head.hash) r.fail(hp, 'custody-head', `signed head says event ${head.seq} has hash ${head.hash}, the log has ${ev.hash}: the log was rewritten`);
    else {
      r.pass(hp, 'custody-head', `signed head matches event ${head.seq}`);
      if (headSigner && stamped > 0 && chainProblems.length === 0 && (!caseId || head.caseId === caseId)) coveredSeq = Math.max(coveredSeq, head.seq);
    }
  }
  if (lastSeq < lastHeadSeq) r.fail(bagPaths.events, 'custody-truncation', `log ends at event ${lastSeq}, before the last signed head ${lastHeadSeq}: events were removed`);
  else if (headFiles.length) r.pass(bagPaths.events, 'custody-truncation', `log reaches the last signed head (${lastHeadSeq})`);
  const inLog = new Set(events.flatMap((e) => (e?.subject.captureId ? [e.subject.captureId] : [])));
  for (const id of captureDirs) {
    if (inLog.has(id)) r.pass(bagPaths.captureDir(id), 'custody-capture', 'capture appears in the custody log');
    else r.fail(bagPaths.captureDir(id), 'custody-capture', `capture ${id} does not appear in the custody log`);
  }
  const parsed = events.filter((e): e is CustodyEvent => e !== null);
  crossCheckCustody({ report: r, events: parsed, coveredSeq, captures: captureFacts });
  const sha256Of = async (p: string): Promise<string> => (digests.get(p)?.sha256 ?? sha256Digest(await read(p)));
  await verifyPackageSeal({ files, fileSet, read, sha256Of, report: r, checkSignature, checkTokens, caseId, events: parsed, coveredSeq, captureIds: captureDirs, bagInfo: info });
}
