import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { PermanentError } from '../lib/errors.js';
import { isoBmffImage, readHead } from './image-containers.js';

// Every image is decoded once per seal: libvips' operation cache would only hold memory.
sharp.cache(false);

/** `sharp <version> / libvips <version>`: the tool named in every derivation. */
export const SHARP_TOOL = `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`;

/**
 * Largest image (width × height) sharp will decode. A small file declaring huge dimensions
 * (a decompression bomb) is refused before any pixel is decoded.
 * @defaultValue 100 megapixels
 */
export const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;

export interface DeriveOptions {
  /** Refuse images with more pixels than this. @defaultValue {@link DEFAULT_MAX_INPUT_PIXELS} */
  maxInputPixels?: number;
}

/**
 * Pixels ready for sharp: the original itself, or a lossless PNG an outside decoder made from it
 * (HEVC-coded HEIF, which the libvips bundled with sharp cannot decode). `tool` names every
 * program that touched the pixels, decoder first; derivatives made from it record that chain.
 */
export interface RasterSource {
  path: string;
  tool: string;
  /** Apply EXIF orientation: true for the original; false for a decoder's output, already upright. */
  orient: boolean;
  /** Removes the decoder's temporary files; the original is never touched. */
  dispose(): Promise<void>;
}

export interface DecoderOptions extends DeriveOptions {
  /** libheif's `heif-convert` binary. @defaultValue `heif-convert` */
  heifConvertPath?: string;
  /** Longest a decoder may run. @defaultValue 60 s */
  timeoutMs?: number;
}

function exec(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
      const why = e.code === 'ENOENT' ? `${file} is not installed` : e.killed || e.signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : (stderr || e.message).replace(/\s+/g, ' ').trim();
      reject(new Error(why));
    });
  });
}

const heifVersions = new Map<string, Promise<string>>();

/** `heif-convert (libheif <version>)`, asked once per binary; `heif-convert (unavailable: …)` if it cannot run. */
export function heifConvertTool(bin = 'heif-convert'): Promise<string> {
  let v = heifVersions.get(bin);
  if (!v) {
    // heif-convert has no --version; its help (exit status 0 or 1 by release) names the library version.
    v = exec(bin, ['-h'], 10_000).then(
      ({ stdout, stderr }) => `${path.basename(bin)} (libheif ${/libheif version:\s*(\S+)/.exec(stdout + stderr)?.[1] ?? 'unknown'})`,
      (err: unknown) => {
        const m = /libheif version:\s*(\S+)/.exec((err as Error).message);
        return m ? `${path.basename(bin)} (libheif ${m[1]})` : `${path.basename(bin)} (unavailable: ${(err as Error).message})`;
      },
    );
    heifVersions.set(bin, v);
  }
  return v;
}

/** Pixel size as the image header states it (primary image of a HEIF), or null when sharp cannot read the header. */
export async function imageDimensions(src: string | Buffer): Promise<{ width: number; height: number; tool: string } | null> {
  try {
    // Through the same one-at-a-time queue as every other sharp call: libvips' process-wide error
    // buffer would otherwise let this header read swap messages with a pipeline failing beside it.
    const m = await oneAtATime(() => sharp(src, { limitInputPixels: false }).metadata());
    return m.width && m.height ? { width: m.width, height: m.height, tool: SHARP_TOOL } : null;
  } catch {
    return null;
  }
}

/**
 * Where sharp can decode an image, the image itself; for HEVC-coded HEIF (phone HEIC), a PNG
 * decoded by libheif's `heif-convert` into a private temporary directory, bounded in time and in
 * pixels (the declared size is checked before decoding). Throws PermanentError when neither can.
 */
export async function openRaster(src: string, opts: DecoderOptions = {}): Promise<RasterSource> {
  const maxPixels = opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  let meta: sharp.Metadata | null = null;
  let refused: unknown = null;
  try {
    meta = await oneAtATime(() => sharp(src, { limitInputPixels: maxPixels }).metadata());
  } catch (err) {
    refused = err;
  }
  const own = { path: src, tool: SHARP_TOOL, orient: true, dispose: async () => undefined };
  // HEVC is not in sharp's libheif; and a HEIF sharp cannot even open (a damaged ICC profile) may still decode with libheif's own tools.
  const head = await readHead(src, 1 << 20);
  const heif = isoBmffImage(head);
  if (meta && (meta.format !== 'heif' || meta.compression === 'av1')) return own;
  if (!meta && !heif) throw wrap(src, refused);
  const declared = heif?.pixels ?? (meta?.width ?? 0) * (meta?.height ?? 0);
  if (declared > maxPixels) {
    throw new PermanentError('TOO_LARGE', `image exceeds the pixel limit (possible decompression bomb): ${declared} pixels declared`);
  }
  const compression = meta?.compression ?? 'heif';
  const bin = opts.heifConvertPath ?? 'heif-convert';
  const decoder = await heifConvertTool(bin);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-heif-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    // PNG keeps the decoded pixels exactly. libpng refuses to write a damaged ICC profile (a phone
    // file with a truncated one still has good pixels), so JPEG at quality 100 is the second try;
    // the tool string says which was used. heif-convert 1.15 can exit 0 without writing: the file decides.
    // heif-convert writes every top-level image (decoded-1.png, decoded-2.png, … when there are
    // several); heif-info lists them in the same order and marks the primary one, the picture itself.
    const infoBin = bin.includes('/') ? path.join(path.dirname(bin), 'heif-info') : 'heif-info';
    const info = (await exec(infoBin, [path.resolve(src)], opts.timeoutMs ?? 60_000)).stdout;
    const images = info.split('\n').filter((l) => /^image: /.test(l));
    const primary = images.findIndex((l) => /\bprimary\b/.test(l));
    if (primary < 0) throw new Error('heif-info names no primary image');
    const decode = async (ext: 'png' | 'jpg', args: string[]): Promise<{ file: string | null; said: string }> => {
      const { stderr } = await exec(bin, ['--quiet', ...args, path.resolve(src), path.join(dir, `decoded.${ext}`)], opts.timeoutMs ?? 60_000);
      const file = path.join(dir, images.length > 1 ? `decoded-${primary + 1}.${ext}` : `decoded.${ext}`);
      const size = await stat(file).then((st) => st.size, () => 0);
      return { file: size > 0 ? file : null, said: stderr.replace(/\s+/g, ' ').trim() };
    };
    let via = 'PNG';
    let out = await decode('png', []);
    if (!out.file) {
      const png = out.said;
      out = await decode('jpg', ['-q', '100']);
      via = `JPEG q100 (PNG refused: ${png || 'no output'})`;
      if (!out.file) throw new Error(`the decoder wrote no image: ${png || out.said || 'no message'}`);
    }
    const file = out.file!;
    // 16-bit RGBA is 8 bytes a pixel; a file far larger than that was not made from this image.
    if ((await stat(file)).size > maxPixels * 8 + (1 << 20)) throw new Error('the decoded image is larger than the pixel limit allows');
    return { path: file, tool: `${decoder} to ${via} + ${SHARP_TOOL}`, orient: false, dispose };
  } catch (err) {
    await dispose();
    const why = (err instanceof Error ? err.message : String(err)).split(path.resolve(src)).join(path.basename(src)).split(dir + path.sep).join('');
    throw new PermanentError('CORRUPT_MEDIA', `cannot decode ${compression} image with ${decoder}: ${why}`, { cause: err });
  }
}

export interface Thumbnail {
  tool: string;
  /** e.g. `thumbnail-512-webp`: recorded as the derivation method. */
  method: string;
  format: 'webp' | 'jpeg';
  width: number;
  height: number;
  size: number;
}

/** Messages name the file by base name only: they end up in manifests, which must not leak host paths. */
function wrap(src: string, err: unknown): PermanentError {
  const msg = (err instanceof Error ? err.message : String(err)).split(src).join(path.basename(src)).trim();
  if (/pixel limit/i.test(msg)) {
    return new PermanentError('TOO_LARGE', `image exceeds the pixel limit (possible decompression bomb): ${msg}`, { cause: err });
  }
  return new PermanentError('CORRUPT_MEDIA', `cannot decode image: ${msg}`, { cause: err });
}

/**
 * libvips keeps one error buffer per process: two images failing at once can swap or lose each
 * other's messages ("Warning treated as error" instead of "premature end of JPEG image"). Failure
 * messages go into sealed manifests, and a retried seal must produce the same manifest, so sharp
 * pipelines run one at a time (libvips still spreads each one over its own threads).
 */
let sharpQueue: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const run = sharpQueue.then(fn, fn);
  sharpQueue = run.catch(() => undefined);
  return run;
}

function open(src: string | RasterSource, opts: DeriveOptions): sharp.Sharp {
  // failOn 'warning': a truncated or damaged image is reported, not silently half-rendered.
  const img = sharp(typeof src === 'string' ? src : src.path, { limitInputPixels: opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS, failOn: 'warning', sequentialRead: true });
  // A decoder's output is already upright (HEIF's irot/imir); its copied EXIF Orientation must not turn it again.
  return typeof src === 'string' || src.orient ? img.rotate() : img;
}

function srcName(src: string | RasterSource): string {
  return typeof src === 'string' ? src : src.path;
}

/**
 * A thumbnail whose longest edge is `size` px (never enlarged), turned upright per the EXIF
 * orientation, with all metadata stripped (sharp writes none unless asked). The original is untouched.
 */
export async function makeThumbnail(src: string | RasterSource, dest: string, size: number, opts: DeriveOptions & { format?: 'webp' | 'jpeg' } = {}): Promise<Thumbnail> {
  const format = opts.format ?? 'webp';
  try {
    let img = open(src, opts).resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
    img = format === 'webp' ? img.webp({ quality: 80, effort: 4 }) : img.jpeg({ quality: 82, mozjpeg: true });
    const info = await oneAtATime(() => img.toFile(dest));
    return { tool: typeof src === 'string' ? SHARP_TOOL : src.tool, method: `thumbnail-${size}-${format}`, format, width: info.width, height: info.height, size: info.size };
  } catch (err) {
    throw wrap(srcName(src), err);
  }
}

/**
 * Difference hash (dHash): the upright image in greyscale, squeezed to 9×8, each bit says whether
 * a pixel is brighter than its right neighbour. 64 bits as `dhash:<16 hex>`; near-identical
 * images differ in few bits (compare with {@link hammingDistance}).
 */
export async function perceptualHash(src: string | RasterSource, opts: DeriveOptions = {}): Promise<string> {
  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    ({ data, info } = await oneAtATime(() =>
      open(src, opts)
        .flatten({ background: '#ffffff' })
        .grayscale()
        .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
        .raw()
        .toBuffer({ resolveWithObject: true }),
    ));
  } catch (err) {
    throw wrap(srcName(src), err);
  }
  if (info.width !== 9 || info.height !== 8 || info.channels !== 1) {
    throw new PermanentError('CORRUPT_MEDIA', `unexpected raw layout ${info.width}x${info.height}x${info.channels} for dHash`);
  }
  let bits = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const left = data[y * 9 + x]!;
      const right = data[y * 9 + x + 1]!;
      bits = (bits << 1n) | (left > right ? 1n : 0n);
    }
  }
  return `dhash:${bits.toString(16).padStart(16, '0')}`;
}

/** Bits that differ between two `dhash:` values. */
export function hammingDistance(a: string, b: string): number {
  const parse = (h: string): bigint => {
    const m = /^dhash:([0-9a-f]{16})$/.exec(h);
    if (!m) throw new PermanentError('INVALID_INPUT', `not a dhash: ${JSON.stringify(h)}`);
    return BigInt(`0x${m[1]}`);
  };
  let x = parse(a) ^ parse(b);
  let n = 0;
  while (x) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}
