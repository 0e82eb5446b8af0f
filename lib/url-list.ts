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
