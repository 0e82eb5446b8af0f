import { open } from 'node:fs/promises';

/**
 * Bounded byte-level readings of image containers that the decoders and metadata readers need
 * before (or instead of) parsing: the WebP RIFF chunks, and in ISO-BMFF images (HEIF, HEIC, AVIF)
 * the brand, the colour box type, the declared pixel size and the Exif item. Nothing here decodes.
 */

/** The first `n` bytes of a file (fewer if it is shorter). */
export async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * An ISO-BMFF image (HEIF, HEIC, AVIF) by its `ftyp` box, with the largest size its `ispe`
 * properties declare (a grid image declares its full size), so the pixel limit holds before decoding.
 */
export function isoBmffImage(head: Buffer): { pixels: number } | null {
  if (head.length < 12 || head.toString('latin1', 4, 8) !== 'ftyp') return null;
  const brands = head.toString('latin1', 8, Math.min(head.length, head.readUInt32BE(0)));
  if (!/heic|heix|heim|heis|hevc|hevx|mif1|msf1|avif|avis/.test(brands)) return null;
  let pixels = 0;
  for (let i = head.indexOf('ispe', 8, 'latin1'); i >= 4 && i + 16 <= head.length; i = head.indexOf('ispe', i + 4, 'latin1')) {
    if (head.readUInt32BE(i - 4) === 20) pixels = Math.max(pixels, head.readUInt32BE(i + 8) * head.readUInt32BE(i + 12));
  }
  return { pixels };
}

/** The colour type of an ISO-BMFF image's first `colr` box (`nclx`, `prof`, `rICC`), if it has one. */
export function heifColourType(buf: Buffer): string | null {
  // The meta box (with its colr properties) comes before the image data in the files we see;
  // a bounded scan of the head is enough and never reads pixel data as boxes.
  const head = buf.subarray(0, Math.min(buf.length, 1 << 20));
  if (head.toString('latin1', 4, 8) !== 'ftyp') return null;
  for (let i = head.indexOf('colr', 8, 'latin1'); i >= 4 && i + 8 <= head.length; i = head.indexOf('colr', i + 4, 'latin1')) {
    const size = head.readUInt32BE(i - 4);
    const type = head.toString('latin1', i + 4, i + 8);
    if (size >= 12 && ['nclx', 'prof', 'rICC'].includes(type)) return type;
  }
  return null;
}

/**
 * The TIFF bytes of a HEIF file's Exif item: HEIF stores them after a 4-byte offset, which cameras
 * and phones set to 6 for an `Exif\0\0` prefix. Only that exact layout is accepted (offset 6, the
 * prefix, then a TIFF header), so nothing else in the file is taken for EXIF.
 */
export function heifExifTiff(buf: Buffer): Buffer | null {
  if (buf.toString('latin1', 4, 8) !== 'ftyp') return null;
  const marker = Buffer.from('\0\0\0\x06Exif\0\0', 'latin1');
  for (let i = buf.indexOf(marker); i >= 0; i = buf.indexOf(marker, i + 1)) {
    const t = i + marker.length;
    const h = buf.toString('latin1', t, t + 4);
    if (h === 'II*\0' || h === 'MM\0*') return buf.subarray(t);
  }
  return null;
}

/**
 * The metadata chunks of a WebP file (RIFF): `EXIF` (TIFF bytes, sometimes after an `Exif\0\0`
 * prefix), `XMP ` and `ICCP`. Null when the file is not WebP. exifr 7 does not read WebP itself.
 */
export function webpChunks(buf: Buffer): { exif?: Buffer; xmp?: Buffer; icc?: Buffer } | null {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WEBP') return null;
  const out: { exif?: Buffer; xmp?: Buffer; icc?: Buffer } = {};
  for (let at = 12, n = 0; at + 8 <= buf.length && n < 10_000; n++) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = buf.subarray(at + 8, Math.min(buf.length, at + 8 + size));
    if (id === 'EXIF') out.exif = body.toString('latin1', 0, 6) === 'Exif\0\0' ? body.subarray(6) : body;
    else if (id === 'XMP ') out.xmp = body;
    else if (id === 'ICCP') out.icc = body;
    at += 8 + size + (size % 2);
  }
  return out;
}
