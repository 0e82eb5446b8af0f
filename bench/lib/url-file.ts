import { readFile } from 'node:fs/promises';

/**
 * Read a URL list the way `exhibit capture --file` does (app/cli.ts `readUrlFile`): one per line,
 * blank lines and `#` comments ignored. Repeated here because nothing may import app/.
 */
export async function readUrlList(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
