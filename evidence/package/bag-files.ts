/**
 * The BagIt files of a package (RFC 8493): where a bag's files come from (a zip, see zip-reader.ts,
 * or a directory), and the text of bagit.txt, bag-info.txt and the manifests, written and parsed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { hashFile } from '../hash-file.js';
import type { Digests } from '../hash.js';

/**
 * The files of a bag, wherever they are (a zip or a directory): bag-relative POSIX paths, their
 * bytes, and the digests of payload files. Zips are read in place: nothing is written to disk.
 */
export interface BagFiles {
  files: string[];
  /** Paths that are not regular files (symlinks, specials): each is a failing check. */
  unsafe: string[];
  read(p: string): Promise<Buffer>;
  digests(p: string): Promise<Digests>;
  /** Entry-level failures found while reading (zip CRC-32 mismatches), reported per item. */
  problems: Array<{ item: string; check: string; message: string }>;
  /**
   * Where a file's bytes lie unchanged on disk (a file, or a zip entry stored uncompressed), for
   * readers that seek (a WACZ inside a package); null when they are compressed in the zip.
   */
  region(p: string): Promise<FileRegion | null>;
  /** A file's bytes as a stream, read again from the source (WARCs are checked record by record without holding them). */
  stream(p: string): AsyncIterable<Uint8Array>;
}

/** A byte range of a file on disk. */
export interface FileRegion {
  file: string;
  start: number;
  length: number;
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
export async function dirBag(dir: string): Promise<BagFiles | null> {
  const root = await findBagRoot(dir);
  if (!root) return null;
  const { files, unsafe } = await walk(root);
  const abs = (p: string) => path.join(root, ...p.split('/'));
  return {
    files, unsafe, problems: [],
    read: (p) => readFile(abs(p)),
    digests: (p) => hashFile(abs(p)),
    region: async (p) => ({ file: abs(p), start: 0, length: (await lstat(abs(p))).size }),
    stream: (p) => createReadStream(abs(p), { highWaterMark: 1024 * 1024 }),
  };
}

export function parseManifest(text: string): { entries: Map<string, string>; bad: string[] } {
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

export function parseBagInfo(text: string): Map<string, string[]> {
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

/** bagit.txt of every package. */
export const BAGIT_TXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim();

/** bag-info.txt: one `Label: value` line each, values on one line. */
export function bagInfoText(info: ReadonlyArray<[string, string]>): string {
  return info.map(([k, v]) => `${k}: ${oneLine(v)}\n`).join('');
}

/** RFC 8493 §2.1.3: CR, LF and % in manifest paths are percent-encoded. */
const manifestPath = (p: string) => p.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** manifest-<alg>.txt of payload files whose digests are known (`sha256:<hex>`, `sha512:<hex>`), sorted by path. */
export function payloadManifestText(sorted: ReadonlyArray<[string, Digests]>, alg: 'sha256' | 'sha512'): string {
  return sorted.map(([p, d]) => `${d[alg].slice(7)}  ${manifestPath(p)}\n`).join('');
}

/** tagmanifest-<alg>.txt over tag files, in the order given. */
export function tagManifestText(tags: ReadonlyArray<[string, Buffer]>, alg: 'sha256' | 'sha512'): string {
  return tags.map(([p, b]) => `${createHash(alg).update(b).digest('hex')}  ${p}\n`).join('');
}
