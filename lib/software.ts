import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Exhibit's own identity, recorded in every environment and manifest. */
export interface Software {
  exhibitVersion: string;
  gitCommit: string | null;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let cached: Software | undefined;

/** Version from package.json; commit from git when running from a checkout (null otherwise). */
export function software(): Software {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  let gitCommit: string | null = null;
  try {
    gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || null;
  } catch {
    gitCommit = null;
  }
  cached = { exhibitVersion: pkg.version, gitCommit };
  return cached;
}

/** The project root (where package.json is). */
export const projectRoot = ROOT;
