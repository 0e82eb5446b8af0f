import { closeSync, mkdirSync, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { PermanentError } from '../../lib/errors.js';

const unusable = (outPath: string, why: string) => new PermanentError('INVALID_INPUT', `cannot write the package to ${outPath}: ${why}; choose another -o path`);
const errnoText = (e: unknown) => {
  const x = e as NodeJS.ErrnoException;
  return x.code ? `${x.code} (${x.syscall ?? 'fs'} ${x.path ?? ''})`.replace(' )', ')') : String(e);
};

/** stat, or null when nothing is there (ENOENT) or a parent is a file (ENOTDIR, found walking up). */
function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new PermanentError('INVALID_INPUT', `cannot use ${p} for the package: ${errnoText(e)}; choose another -o path`);
  }
}

/**
 * Check the -o path before any work: not an existing file or directory, its directory present
 * (missing levels are created one at a time; `mkdir -p` semantics loop forever under /proc) and
 * writable (a file is created there and removed again).
 */
export function usableOutputPath(outPath: string): void {
  const st = statOrNull(outPath);
  if (st?.isDirectory()) throw unusable(outPath, 'it is a directory');
  if (st) throw new PermanentError('INVALID_INPUT', `${outPath} already exists: packages are never overwritten; choose another -o path`);
  const missing: string[] = [];
  let dir = path.dirname(outPath);
  for (;;) {
    const d = statOrNull(dir);
    if (d && !d.isDirectory()) throw unusable(outPath, `${dir} is not a directory`);
    if (d) break;
    missing.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      throw unusable(outPath, `cannot create the directory ${m}: ${errnoText(e)}`);
    }
  }
  try {
    closeSync(openSync(outPath, 'wx'));
    unlinkSync(outPath);
  } catch (e) {
    throw unusable(outPath, `the directory is not writable: ${errnoText(e)}`);
  }
}

/** A file-system error on the package being written (disk full, directory gone) is about -o, not a bug. */
export async function writeErrorsAsInput<T>(outPath: string, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (e) {
    const p = (e as NodeJS.ErrnoException).path;
    if (typeof p === 'string' && (p === outPath || p.startsWith(`${outPath}.partial`))) throw unusable(outPath, errnoText(e));
    throw e;
  }
}
