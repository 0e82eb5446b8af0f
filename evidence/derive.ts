import * as path from 'node:path';
import sharp from 'sharp';
import { PermanentError } from '../lib/errors.js';

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

function open(src: string, opts: DeriveOptions): sharp.Sharp {
  // failOn 'warning': a truncated or damaged image is reported, not silently half-rendered.
  return sharp(src, { limitInputPixels: opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS, failOn: 'warning', sequentialRead: true });
}

/**
 * A thumbnail whose longest edge is `size` px (never enlarged), turned upright per the EXIF
 * orientation, with all metadata stripped (sharp writes none unless asked). The original is untouched.
 */
export async function makeThumbnail(src: string, dest: string, size: number, opts: DeriveOptions & { format?: 'webp' | 'jpeg' } = {}): Promise<Thumbnail> {
  const format = opts.format ?? 'webp';
  try {
    let img = open(src, opts).rotate().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
    img = format === 'webp' ? img.webp({ quality: 80, effort: 4 }) : img.jpeg({ quality: 82, mozjpeg: true });
    const info = await oneAtATime(() => img.toFile(dest));
    return { tool: SHARP_TOOL, method: `thumbnail-${size}-${format}`, format, width: info.width, height: info.height, size: info.size };
  } catch (err) {
    throw wrap(src, err);
  }
}

/**
 * Difference hash (dHash): the upright image in greyscale, squeezed to 9×8, each bit says whether
 * a pixel is brighter than its right neighbour. 64 bits as `dhash:<16 hex>`; near-identical
 * images differ in few bits (compare with {@link hammingDistance}).
 */
export async function perceptualHash(src: string, opts: DeriveOptions = {}): Promise<string> {
  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    ({ data, info } = await oneAtATime(() =>
      open(src, opts)
        .rotate()
        .flatten({ background: '#ffffff' })
        .grayscale()
        .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
        .raw()
        .toBuffer({ resolveWithObject: true }),
    ));
  } catch (err) {
    throw wrap(src, err);
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
