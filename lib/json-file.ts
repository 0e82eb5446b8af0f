import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { PermanentError } from './errors.js';

/**
 * A small JSON state file (trust store, partners) read through its schema: null when the file does
 * not exist yet; a file that is there but does not parse is a configuration error naming it.
 */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.infer<S> | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch (cause) {
    throw new PermanentError('INVALID_CONFIG', `${what} ${file} is not valid: ${(cause as Error).message}`, { cause });
  }
}

/** Write a JSON state file whole (a temporary file renamed over it), so a reader never sees half of one. */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}
