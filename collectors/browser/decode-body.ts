import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { PermanentError } from '../../lib/errors.js';
import { redactUrl } from './net-policy.js';
import type { RecordedExchange } from './recorded-exchange.js';

/** `Content-Encoding: deflate` is meant to be zlib-wrapped, but servers also send raw deflate. */
async function hasZlibHeader(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && (buf[0]! & 0x0f) === 8 && (buf[0]! * 256 + buf[1]!) % 31 === 0;
  } finally {
    await fh.close();
  }
}

/**
 * Undo the Content-Encoding of an exchange's body into `out`. Returns `out`, the body file itself
 * when there is no encoding, or null when there is no body or an unknown coding (e.g. zstd, which
 * Node 20 cannot decode).
 * @throws PermanentError `CORRUPT_MEDIA` when the body does not decode (also for truncated bodies).
 */
export async function decodeBody(ex: RecordedExchange, out: string): Promise<string | null> {
  if (!ex.bodyPath || ex.completedAt === null) return null;
  const encodings = ex.responseHeaders
    .filter(([k]) => k.toLowerCase() === 'content-encoding')
    .flatMap(([, v]) => v.split(','))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '' && t !== 'identity');
  if (encodings.length === 0) return ex.bodyPath;
  const decoders: NodeJS.ReadWriteStream[] = [];
  // Codings are listed in the order they were applied; undo them in reverse.
  for (const [i, coding] of [...encodings].reverse().entries()) {
    if (coding === 'gzip' || coding === 'x-gzip') decoders.push(zlib.createGunzip());
    // Only the outermost coding can be sniffed from the file itself.
    else if (coding === 'deflate') decoders.push(i > 0 || (await hasZlibHeader(ex.bodyPath)) ? zlib.createInflate() : zlib.createInflateRaw());
    else if (coding === 'br') decoders.push(zlib.createBrotliDecompress());
    else return null;
  }
  try {
    await pipeline([createReadStream(ex.bodyPath), ...decoders, createWriteStream(out)]);
  } catch (cause) {
    throw new PermanentError('CORRUPT_MEDIA', `body of ${redactUrl(ex.url)} does not decode as ${encodings.join(', ')}: ${(cause as Error).message}`, { cause });
  }
  return out;
}
