import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import exifr from 'exifr';

/** Outcome of a metadata tool: never thrown, so corrupt metadata cannot fail a seal. */
export type MetadataResult<T = Record<string, unknown>> =
  | { ok: true; tool: string; data: T }
  | { ok: false; tool: string; error: string };

const require = createRequire(import.meta.url);
/** `exifr <version>`, read from the installed package. */
export const EXIFR_TOOL = `exifr ${(require('exifr/package.json') as { version: string }).version}`;

/** Images up to this size are read into memory for exifr. @defaultValue 64 MiB */
const MAX_BUFFERED_IMAGE_BYTES = 64 * 1024 * 1024;

/** Byte arrays larger than this are summarised, not hex-dumped (maker notes, embedded previews). */
const MAX_HEX_BYTES = 4096;

const EXIFR_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  interop: true,
  // IFD1 is the embedded thumbnail's tags; the thumbnail itself is never extracted.
  ifd1: false,
  xmp: true,
  iptc: true,
  icc: true,
  jfif: true,
  ihdr: true,
  makerNote: false,
  userComment: true,
  multiSegment: true,
  mergeOutput: false,
  translateKeys: true,
  translateValues: true,
  reviveValues: true,
  sanitize: true,
  // Corrupt segments must surface as a failure we record, not be dropped quietly.
  silentErrors: false,
} as Parameters<typeof exifr.parse>[1];

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

/**
 * EXIF (IFD0, EXIF, GPS, interop), XMP, IPTC, ICC, JFIF and PNG IHDR of an image, grouped by
 * segment. GPS decimal degrees are in `gps.latitude` / `gps.longitude` (negative south and west).
 * A file with no metadata gives `ok: true` and `{}`; an unreadable or corrupt one gives `ok: false`.
 */
export async function extractImageMetadata(filePath: string): Promise<MetadataResult> {
  try {
    // exifr leaves its file handle open when a parse fails; reading the bytes ourselves avoids
    // that leak. Only very large files are handed over by path (exifr then reads chunks).
    const { size } = await stat(filePath);
    const input = size <= MAX_BUFFERED_IMAGE_BYTES ? await readFile(filePath) : filePath;
    const out = ((await exifr.parse(input, EXIFR_OPTIONS)) ?? {}) as Record<string, unknown>;
    const data: Record<string, unknown> = {};
    // ICC dates are UTC by the ICC spec (exifr builds them with Date.UTC); EXIF ones are zone-less.
    for (const [segment, value] of Object.entries(out)) {
      const safe = toJsonSafe(value, { dates: segment === 'icc' ? 'utc' : 'local' });
      if (safe !== undefined) data[segment] = safe;
    }
    return { ok: true, tool: EXIFR_TOOL, data };
  } catch (err) {
    return { ok: false, tool: EXIFR_TOOL, error: message(err).split(filePath).join(path.basename(filePath)) };
  }
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
