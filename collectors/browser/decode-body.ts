import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ExhibitError, PermanentError } from '../../lib/errors.js';
import { redactUrl } from '../../lib/target-url.js';
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

/** The content codings of a response, in the order they were applied (`identity` left out). */
export function contentCodings(ex: RecordedExchange): string[] {
  return ex.responseHeaders
    .filter(([k]) => k.toLowerCase() === 'content-encoding')
    .flatMap(([, v]) => v.split(','))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '' && t !== 'identity');
}

/** Media type and file extension for a body kept still encoded (its outermost coding). */
export function encodedMediaType(ex: RecordedExchange): { mediaType: string; ext: string } {
  const outer = contentCodings(ex).at(-1);
  if (outer === 'gzip' || outer === 'x-gzip') return { mediaType: 'application/gzip', ext: 'gz' };
  if (outer === 'zstd') return { mediaType: 'application/zstd', ext: 'zst' };
  if (outer === 'deflate') return { mediaType: 'application/octet-stream', ext: 'deflate' };
  if (outer === 'br') return { mediaType: 'application/octet-stream', ext: 'br' };
  return { mediaType: 'application/octet-stream', ext: 'bin' };
}

/** Thrown (inside the pipeline) when the decoded output passes the limit. */
class LimitReached extends Error {}

/** Passes bytes through until more than `max` went by, then fails the pipeline (which stops every decoder). */
function limiter(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > max) cb(new LimitReached());
      else cb(null, chunk);
    },
  });
}

/**
 * `zstd -d` as a stream stage: Node 20's zlib has no zstd. The CLI caps its own window memory
 * (`--memory`, 128 MiB by default) and is killed as soon as the pipeline stops.
 */
function zstdDecoder(zstdPath: string): Duplex {
  const child = spawn(zstdPath, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 2000) stderr += c.toString('utf8');
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.once('error', (err) => duplex.destroy(err));
  child.once('close', (code, signal) => {
    if (code !== 0 && !duplex.destroyed) duplex.destroy(new Error(`zstd exited with ${code ?? signal}: ${stderr.trim().split('\n')[0] ?? ''}`));
  });
  duplex.once('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/** Whether a program can be started (`zstd` may be missing on a machine set up by hand). */
let zstdAvailable: Promise<boolean> | null = null;
function hasZstd(zstdPath: string): Promise<boolean> {
  zstdAvailable ??= new Promise((resolve) => {
    const child = spawn(zstdPath, ['-V'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
  return zstdAvailable;
}

export interface DecodeOptions {
  /** Decoded bytes allowed; one more byte and decoding stops with `TOO_LARGE`. */
  maxBytes: number;
  /** zstd CLI. @defaultValue `zstd` */
  zstdPath?: string;
}

/**
 * Undo the Content-Encoding of an exchange's body into `out`, never writing more than
 * `opts.maxBytes` bytes. Returns `out`, the body file itself when there is no encoding, or null when
 * there is no body or an unknown coding.
 * @throws PermanentError `TOO_LARGE` when the decoded body would exceed `maxBytes` (checked while
 *   streaming; nothing of it is kept: the body as served is still on disk and in the WARC),
 *   `CORRUPT_MEDIA` when the body does not decode (also for truncated bodies).
 */
export async function decodeBody(ex: RecordedExchange, out: string, opts: DecodeOptions): Promise<string | null> {
  if (!ex.bodyPath || ex.completedAt === null) return null;
  const encodings = contentCodings(ex);
  if (encodings.length === 0) return ex.bodyPath;
  const zstdPath = opts.zstdPath ?? 'zstd';
  const decoders: Array<() => NodeJS.ReadWriteStream> = [];
  // Codings are listed in the order they were applied; undo them in reverse.
  for (const [i, coding] of [...encodings].reverse().entries()) {
    if (coding === 'gzip' || coding === 'x-gzip') decoders.push(() => zlib.createGunzip());
    // Only the outermost coding can be sniffed from the file itself.
    else if (coding === 'deflate') {
      const wrapped = i > 0 || (await hasZlibHeader(ex.bodyPath));
      decoders.push(() => (wrapped ? zlib.createInflate() : zlib.createInflateRaw()));
    } else if (coding === 'br') decoders.push(() => zlib.createBrotliDecompress());
    else if (coding === 'zstd' && (await hasZstd(zstdPath))) decoders.push(() => zstdDecoder(zstdPath));
    else return null;
  }
  const limit = limiter(opts.maxBytes);
  try {
    await pipeline([createReadStream(ex.bodyPath), ...decoders.map((d) => d()), limit, createWriteStream(out, { flags: 'wx' })]);
  } catch (cause) {
    await rm(out, { force: true });
    if (cause instanceof LimitReached) {
      throw new PermanentError(
        'TOO_LARGE',
        `body of ${redactUrl(ex.url)} (${ex.bodySize} bytes as served, Content-Encoding ${encodings.join(', ')}) decodes to more than ${opts.maxBytes} bytes; decoding stopped there`,
      );
    }
    if (cause instanceof ExhibitError) throw cause;
    throw new PermanentError('CORRUPT_MEDIA', `body of ${redactUrl(ex.url)} does not decode as ${encodings.join(', ')}: ${(cause as Error).message}`, { cause });
  }
  return out;
}

/** Whether an error from {@link decodeBody} means "over the decoded-size limit". */
export function isDecodeLimit(err: unknown): boolean {
  return err instanceof ExhibitError && err.code === 'TOO_LARGE';
}
