import { createReadStream, type ReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ExhibitError } from './errors.js';

/** Parse a URL list: one per line; blank lines and `#` comments ignored. */
export function parseUrlList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Read a URL list file (`-` for stdin), as `exhibit capture --file` does. */
export async function readUrlList(file: string): Promise<string[]> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (cause) {
    throw new ExhibitError('permanent', 'INVALID_INPUT', `cannot read URL list ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseUrlList(text);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Read a sheet file (`-` for stdin) as UTF-8 text, at most `maxBytes`: a bigger file is refused
 * with TOO_LARGE after reading `maxBytes + 1` bytes, never read whole.
 */
export async function readSheetFile(file: string, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let seen = 0;
  try {
    const src = file === '-' ? process.stdin : createReadStream(file, { end: maxBytes });
    for await (const c of src) {
      const b = c as Buffer;
      seen += b.length;
      if (seen > maxBytes) {
        if (file === '-') process.stdin.pause();
        else (src as ReadStream).destroy();
        throw new ExhibitError('permanent', 'TOO_LARGE', `sheet ${file} is larger than ${maxBytes} bytes`);
      }
      chunks.push(b);
    }
  } catch (cause) {
    if (cause instanceof ExhibitError) throw cause;
    throw new ExhibitError('permanent', 'INVALID_INPUT', `cannot read sheet ${file}: ${(cause as Error).message}`, { cause });
  }
  return Buffer.concat(chunks).toString('utf8');
}
