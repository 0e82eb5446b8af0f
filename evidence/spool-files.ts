import { lstat, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import type { SpoolFile } from '../schemas/artifact.js';

/** Spool names reserved for derivatives, so an original can never collide with one. */
export const DERIVED_PREFIX = 'derived/';

/** A spool file found where it should be: its absolute path and size. */
export interface ResolvedFile {
  spool: SpoolFile;
  abs: string;
  size: number;
}

/**
 * Resolve every spool path inside the spool directory and refuse anything that could reach
 * outside it: `..`, absolute paths, symlinks anywhere on the way, non-regular files, duplicates.
 * All files are checked before anything is stored.
 */
export async function resolveSpoolFiles(spoolDir: string, files: readonly SpoolFile[]): Promise<ResolvedFile[]> {
  let root: string;
  try {
    root = await realpath(spoolDir);
  } catch (cause) {
    throw new PermanentError('NOT_FOUND', `spool directory ${spoolDir} is not readable: ${(cause as Error).message}`, { cause });
  }
  const seen = new Set<string>();
  const out: ResolvedFile[] = [];
  for (const f of files) {
    const refuse = (why: string): never => {
      throw new IntegrityError('INVALID_INPUT', `spool file ${JSON.stringify(f.path)} refused: ${why}`);
    };
    const p = f.path;
    if (!p || p.startsWith('/') || p.includes('\\') || p.includes('\0')) refuse('path must be relative, POSIX, without NUL');
    const segs = p.split('/');
    if (segs.some((s) => s === '' || s === '.' || s === '..')) refuse('path must not contain empty, "." or ".." segments');
    if (p.startsWith(DERIVED_PREFIX)) refuse(`"${DERIVED_PREFIX}" is reserved for derivatives`);
    if (seen.has(p)) refuse('listed twice');
    seen.add(p);
    const abs = path.resolve(root, ...segs);
    if (!abs.startsWith(root + path.sep)) refuse('resolves outside the spool directory');
    // No symlink anywhere below the spool root: a link could point at any file on the host.
    let cur = root;
    for (const seg of segs) {
      cur = path.join(cur, seg);
      let st;
      try {
        st = await lstat(cur);
      } catch (cause) {
        throw new PermanentError('NOT_FOUND', `spool file ${JSON.stringify(p)} is missing (${(cause as Error).message})`, { cause });
      }
      if (st.isSymbolicLink()) refuse(`${path.relative(root, cur)} is a symbolic link`);
      if (cur === abs) {
        if (!st.isFile()) refuse('not a regular file');
        out.push({ spool: f, abs, size: st.size });
      }
    }
  }
  return out;
}
