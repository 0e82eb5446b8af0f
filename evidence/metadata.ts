import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import exifr from 'exifr';
import * as exifrModule from 'exifr';
import { IMAGE_METADATA_BLOCKS, type ImageMetadataBlock } from '../schemas/artifact.js';
import type { ImageFacts, MetadataBlockFlag } from '../schemas/image-metadata.js';
import { imageDimensions } from './derive.js';
import { heifColourType, heifExifTiff, readHead, webpChunks } from './image-containers.js';
import { imageFacts, readGpsRationals, type Rational, type TiffView } from './image-facts.js';

/** Outcome of a metadata tool: never thrown, so corrupt metadata cannot fail a seal. */
export type MetadataResult<T = Record<string, unknown>> =
  | { ok: true; tool: string; data: T }
  | { ok: false; tool: string; error: string };

/**
 * Outcome of reading an image's metadata. `ok: true` whenever any block could be read; each block
 * that could not be read is named in `flags`. `ok: false` only when nothing at all could be read.
 */
export type ImageMetadataResult =
  | { ok: true; tool: string; data: Record<string, unknown>; facts: ImageFacts; flags: MetadataBlockFlag[]; blocks: ImageMetadataBlock[] }
  | { ok: false; tool: string; error: string };

const require = createRequire(import.meta.url);
/** `exifr <version>`, read from the installed package. */
export const EXIFR_TOOL = `exifr ${(require('exifr/package.json') as { version: string }).version}`;

/** Images up to this size are read into memory for exifr. @defaultValue 64 MiB */
const MAX_BUFFERED_IMAGE_BYTES = 64 * 1024 * 1024;

/** Byte arrays larger than this are summarised, not hex-dumped (maker notes, embedded previews). */
const MAX_HEX_BYTES = 4096;

/** exifr's reader of a lone block: a named export of its ESM build, a property of its CommonJS default. */
const sidecar = ((exifrModule as { sidecar?: typeof exifr.sidecar }).sidecar ?? exifr.sidecar).bind(exifr);

/** Options every exifr pass shares; each pass then names the blocks it reads. */
const EXIFR_BASE = {
  makerNote: false,
  multiSegment: true,
  mergeOutput: false,
  translateKeys: true,
  sanitize: true,
  // A damaged block must surface as a failure we record, not be dropped quietly.
  silentErrors: false,
} as const;
/** Values as read: labels for coded values, dates revived. What `data` holds. */
const READ_AS_READ = { ...EXIFR_BASE, translateValues: true, reviveValues: true } as const;
/** Values as the file states them (raw strings and numbers), for {@link imageFacts}. */
const READ_AS_STATED = { ...EXIFR_BASE, translateValues: false, reviveValues: false } as const;

/** Blocks read together. XMP is read on its own: exifr would merge its tiff and exif namespaces into the EXIF blocks. */
const NON_XMP_BLOCKS = IMAGE_METADATA_BLOCKS.filter((b) => b !== 'xmp');

type ExifrOptions = ConstructorParameters<typeof exifr.Exifr>[0];

/** exifr options that read exactly `blocks` (never `tiff: true`, which would switch every TIFF block back on). */
function only(blocks: readonly ImageMetadataBlock[], mode: typeof READ_AS_READ | typeof READ_AS_STATED): ExifrOptions {
  const o: Record<string, unknown> = { ...mode };
  for (const b of IMAGE_METADATA_BLOCKS) o[b] = blocks.includes(b);
  // UserComment lives in the EXIF block; asking for it alone would make exifr read every TIFF block.
  o.userComment = blocks.includes('exif');
  return o as ExifrOptions;
}

/** What exifr's TIFF parser keeps after a parse: the block's bytes and the offsets of its IFDs. */
interface TiffParserState {
  chunk?: TiffView;
  exifOffset?: unknown;
  gpsOffset?: unknown;
  interopOffset?: unknown;
}

async function exifrPass(input: Buffer | string, options: ExifrOptions): Promise<{ out: Record<string, unknown>; tiff: TiffParserState | undefined }> {
  const exr = new exifr.Exifr(options);
  await exr.read(input);
  const out = ((await exr.parse()) ?? {}) as Record<string, unknown>;
  return { out, tiff: (exr as unknown as { parsers: { tiff?: TiffParserState } }).parsers.tiff };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/**
 * EXIF times carry no zone (the offset, if any, is a separate tag) and exifr revives them with the
 * process's local zone. Reading the local fields back gives the camera's wall-clock time exactly,
 * whatever TZ the sealer runs in, written as an ISO-8601 local date-time (no `Z`: it is not UTC).
 */
function naiveIso(d: Date): string | null {
  if (Number.isNaN(d.getTime())) return null;
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Make a tool's output JSON-safe and deterministic: no Dates, byte arrays, Maps, NaN or undefined.
 * `dates: 'local'` writes Dates as zone-less local date-times (EXIF), `'utc'` as ISO UTC with `Z` (ICC).
 */
export function toJsonSafe(value: unknown, opts: { dates?: 'local' | 'utc' } = {}, depth = 0): unknown {
  if (depth > 32) return '[nested too deep]';
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return value.toString();
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value instanceof Date) return opts.dates === 'utc' ? (Number.isNaN(value.getTime()) ? null : value.toISOString()) : naiveIso(value);
  if (value instanceof ArrayBuffer) value = new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (bytes.byteLength > MAX_HEX_BYTES) return `[${bytes.byteLength} bytes omitted]`;
    return Buffer.from(bytes).toString('hex');
  }
  if (value instanceof Map) value = Object.fromEntries(value);
  if (Array.isArray(value)) return value.map((v) => toJsonSafe(v, opts, depth + 1) ?? null);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const safe = toJsonSafe(v, opts, depth + 1);
      if (safe !== undefined) out[k] = safe;
    }
    return out;
  }
  return String(value);
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim() || 'unknown error';
}

/** XMP namespaces as the file names them: exifr files XMP's `tiff` and `exif` under the EXIF block names. */
function xmpNamespaces(out: Record<string, unknown>): Record<string, unknown> {
  const ns: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) ns[k === 'ifd0' ? 'tiff' : k] = v;
  return ns;
}

function jsonSafeBlocks(out: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  // ICC dates are UTC by the ICC spec (exifr builds them with Date.UTC); EXIF ones are zone-less.
  for (const [block, value] of Object.entries(out)) {
    const safe = toJsonSafe(value, { dates: block === 'icc' ? 'utc' : 'local' });
    if (safe !== undefined) data[block] = safe;
  }
  return data;
}

/**
 * Every block of an image's metadata that can be read: EXIF (IFD0, EXIF, GPS, interop, IFD1), XMP,
 * IPTC, ICC, JFIF and PNG IHDR, grouped by block, values as exifr reads them (`data`); XMP apart,
 * under `data.xmp` by namespace, so nothing it says is mixed with EXIF. `facts` holds the core
 * values as the file states them (see image-facts.ts). When the blocks cannot be read together,
 * each is read on its own: one damaged block is named in a flag and costs nothing else.
 * GPS decimal degrees are in `data.gps.latitude` / `data.gps.longitude` (negative south and west).
 */
export async function extractImageMetadata(filePath: string): Promise<ImageMetadataResult> {
  const clean = (err: unknown): string => message(err).split(filePath).join(path.basename(filePath));
  let input: Buffer | string;
  let head: Buffer;
  try {
    // exifr leaves its file handle open when a parse fails; reading the bytes ourselves avoids
    // that leak. Only very large files are handed over by path (exifr then reads chunks).
    const { size } = await stat(filePath);
    input = size <= MAX_BUFFERED_IMAGE_BYTES ? await readFile(filePath) : filePath;
    head = typeof input === 'string' ? await readHead(filePath, 1 << 20) : input;
  } catch (err) {
    return { ok: false, tool: EXIFR_TOOL, error: clean(err) };
  }
  const flags: MetadataBlockFlag[] = [];
  const flag = (block: ImageMetadataBlock, err: unknown): void => {
    flags.push({ code: 'METADATA_BLOCK_UNREADABLE', block, message: `${EXIFR_TOOL} could not read the ${block} block: ${clean(err)}` });
  };
  // An nclx colr box is colour information, not an ICC profile: exifr would read it as a short ICC one.
  const blocks = heifColourType(head) === 'nclx' ? NON_XMP_BLOCKS.filter((b) => b !== 'icc') : NON_XMP_BLOCKS;

  if (typeof input !== 'string' && webpChunks(input)) return readWebp(input, flags, flag);

  // HEIF keeps EXIF in an item; where exifr cannot find its TIFF header there, we locate it (see heifExifTiff).
  let tiffInput: Buffer | string = input;
  const relocated = typeof input === 'string' ? null : heifExifTiff(input);
  if (relocated && !(await readable(input, ['ifd0'])) && (await readable(relocated, ['ifd0']))) tiffInput = relocated;

  const tiff = await readBlocks(tiffInput, blocks.filter((b) => isTiffBlock(b)), flag);
  const other = await readBlocks(input, blocks.filter((b) => !isTiffBlock(b)), flag);
  if (other.unknownFormat && tiffInput === input) return { ok: false, tool: EXIFR_TOOL, error: clean(other.unknownFormat) };
  const out = { ...other.out, ...tiff.out };

  let xmp: Record<string, unknown> | null = null;
  try {
    const x = (await exifrPass(input, only(['xmp'], READ_AS_READ))).out;
    if (Object.keys(x).length > 0) xmp = xmpNamespaces(x);
  } catch (err) {
    if (!/unknown file format/i.test(message(err))) flag('xmp', err);
  }

  const data = jsonSafeBlocks(out);
  if (xmp) data.xmp = toJsonSafe(xmp, { dates: 'local' });
  if (tiff.read + other.read === 0 && !xmp && flags.length > 0) {
    return { ok: false, tool: EXIFR_TOOL, error: flags.map((f) => f.message).join('; ') };
  }
  const facts = await statedFacts(tiffInput, xmp, input);
  return { ok: true, tool: EXIFR_TOOL, data, facts, flags, blocks: [...blocks, 'xmp'] };
}

/** WebP: the EXIF chunk read as TIFF, the XMP and ICC chunks as exifr reads those blocks on their own. */
async function readWebp(buf: Buffer, flags: MetadataBlockFlag[], flag: (b: ImageMetadataBlock, err: unknown) => void): Promise<ImageMetadataResult> {
  const chunks = webpChunks(buf) ?? {};
  const tiffBlocks = NON_XMP_BLOCKS.filter((b) => isTiffBlock(b));
  const tiff = chunks.exif ? await readBlocks(chunks.exif, tiffBlocks, flag) : { out: {}, read: 0 };
  if (tiff.unknownFormat) flag('ifd0', tiff.unknownFormat);
  const out: Record<string, unknown> = { ...tiff.out };
  let read = tiff.read;
  if (chunks.icc) {
    try {
      out.icc = await sidecar(chunks.icc, only(['icc'], READ_AS_READ) as Parameters<typeof exifr.sidecar>[1], 'icc');
      read += 1;
    } catch (err) {
      flag('icc', err);
    }
  }
  let xmp: Record<string, unknown> | null = null;
  if (chunks.xmp) {
    try {
      const x = ((await sidecar(chunks.xmp, only(['xmp'], READ_AS_READ) as Parameters<typeof exifr.sidecar>[1], 'xmp')) ?? {}) as Record<string, unknown>;
      delete x.xmlns;
      if (Object.keys(x).length > 0) xmp = x;
    } catch (err) {
      flag('xmp', err);
    }
  }
  const data = jsonSafeBlocks(out);
  if (xmp) data.xmp = toJsonSafe(xmp, { dates: 'local' });
  if (read === 0 && !xmp && flags.length > 0) return { ok: false, tool: EXIFR_TOOL, error: flags.map((f) => f.message).join('; ') };
  const facts = await statedFacts(chunks.exif ?? Buffer.alloc(0), xmp, buf);
  return { ok: true, tool: EXIFR_TOOL, data, facts, flags, blocks: [...tiffBlocks, 'icc', 'xmp'] };
}

function isTiffBlock(b: ImageMetadataBlock): boolean {
  return b === 'ifd0' || b === 'exif' || b === 'gps' || b === 'interop' || b === 'ifd1';
}

async function readable(input: Buffer | string, blocks: ImageMetadataBlock[]): Promise<boolean> {
  return exifrPass(input, only(blocks, READ_AS_READ)).then(
    () => true,
    () => false,
  );
}

/**
 * Read `blocks` together; when that fails, each on its own, naming each block that cannot be read.
 * `read` counts the blocks that gave values; `unknownFormat` is set when exifr does not know the file.
 */
async function readBlocks(
  input: Buffer | string,
  blocks: ImageMetadataBlock[],
  flag: (b: ImageMetadataBlock, err: unknown) => void,
): Promise<{ out: Record<string, unknown>; read: number; unknownFormat?: unknown }> {
  if (blocks.length === 0) return { out: {}, read: 0 };
  try {
    const { out } = await exifrPass(input, only(blocks, READ_AS_READ));
    return { out, read: Object.keys(out).length };
  } catch (err) {
    if (/unknown file format/i.test(message(err))) return { out: {}, read: 0, unknownFormat: err };
  }
  const out: Record<string, unknown> = {};
  let read = 0;
  // IFD0 first: it holds the pointers that say whether EXIF and GPS blocks exist at all.
  let pointers: TiffParserState | undefined;
  for (const b of blocks) {
    try {
      const pass = await exifrPass(input, only([b], READ_AS_READ));
      if (b === 'ifd0') pointers = pass.tiff ?? {};
      if (pass.out[b] !== undefined) {
        out[b] = pass.out[b];
        read += 1;
      }
    } catch (err) {
      // A block IFD0 does not point to is absent, whatever exifr says while looking for it.
      const pointer = b === 'exif' ? pointers?.exifOffset : b === 'gps' ? pointers?.gpsOffset : 'unknown';
      if (pointers && pointer === undefined) continue;
      flag(b, err);
    }
  }
  return { out, read };
}

/** The core facts as stated: a second reading of IFD0, EXIF and GPS with values left untouched. */
async function statedFacts(input: Buffer | string, xmp: Record<string, unknown> | null, image: Buffer | string): Promise<ImageFacts> {
  const raw: Record<string, unknown> = {};
  let rationals: Record<string, Rational[]> = {};
  const take = (pass: Awaited<ReturnType<typeof exifrPass>>): void => {
    Object.assign(raw, pass.out);
    const { chunk, gpsOffset } = pass.tiff ?? {};
    if (chunk && typeof gpsOffset === 'number') rationals = readGpsRationals(chunk, gpsOffset);
  };
  try {
    take(await exifrPass(input, only(['ifd0', 'exif', 'gps'], READ_AS_STATED)));
  } catch {
    // The damaged block is already flagged by the reading pass; take each block that reads alone.
    for (const b of ['ifd0', 'exif', 'gps'] as const) {
      try {
        const pass = await exifrPass(input, only([b], READ_AS_STATED));
        if (pass.out[b] !== undefined) raw[b] = pass.out[b];
        if (b === 'gps') take({ out: {}, tiff: pass.tiff });
      } catch {
        /* flagged by the reading pass */
      }
    }
  }
  const block = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  return imageFacts({ ifd0: block(raw.ifd0), exif: block(raw.exif), gps: block(raw.gps), xmpExif: block(xmp?.exif) }, rationals, await imageDimensions(image));
}

/** Decimal-degree position from an extractImageMetadata result, when it has one. */
export function gpsPosition(data: Record<string, unknown>): { latitude: number; longitude: number } | null {
  const gps = data.gps as { latitude?: unknown; longitude?: unknown } | undefined;
  if (gps && typeof gps.latitude === 'number' && typeof gps.longitude === 'number') return { latitude: gps.latitude, longitude: gps.longitude };
  return null;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        const why = e.killed || e.signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : message(stderr || err);
        reject(new Error(why));
      } else resolve({ stdout, stderr });
    });
  });
}

const ffprobeVersions = new Map<string, Promise<string>>();

/** `ffprobe <version>` of a binary, asked once per path; `ffprobe (unavailable: …)` if it cannot run. */
export function ffprobeTool(ffprobePath: string): Promise<string> {
  let v = ffprobeVersions.get(ffprobePath);
  if (!v) {
    v = run(ffprobePath, ['-version'], 10_000).then(
      ({ stdout }) => {
        const m = /^ffprobe version (\S+)/m.exec(stdout);
        return `ffprobe ${m?.[1] ?? 'unknown'}`;
      },
      (err: unknown) => `ffprobe (unavailable: ${message(err)})`,
    );
    ffprobeVersions.set(ffprobePath, v);
  }
  return v;
}

/**
 * Container and stream facts of a video or audio file (`ffprobe -show_format -show_streams`).
 * The path is passed as `file:<absolute>` so no name is taken for a protocol or an option;
 * `format.filename` is reduced to the base name so the output does not depend on the spool path.
 */
export async function probeMedia(filePath: string, ffprobePath: string, opts: { timeoutMs?: number } = {}): Promise<MetadataResult> {
  const tool = await ffprobeTool(ffprobePath);
  try {
    const { stdout } = await run(ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', `file:${path.resolve(filePath)}`], opts.timeoutMs ?? 30_000);
    const parsed = JSON.parse(stdout) as { format?: { filename?: string }; streams?: unknown[] };
    if (!parsed.format && (!parsed.streams || parsed.streams.length === 0)) throw new Error('ffprobe found no format and no streams');
    if (parsed.format?.filename) parsed.format.filename = path.basename(parsed.format.filename);
    return { ok: true, tool, data: toJsonSafe(parsed) as Record<string, unknown> };
  } catch (err) {
    const abs = path.resolve(filePath);
    return { ok: false, tool, error: message(err).split(`file:${abs}`).join(path.basename(abs)).split(abs).join(path.basename(abs)) };
  }
}
