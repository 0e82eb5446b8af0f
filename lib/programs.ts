/**
 * The external programs Exhibit, its tests and its benchmarks run, read from the program list in the
 * `./exhibit` script (the `PROGRAMS_TSV` block): the one list that `./exhibit` installs from,
 * `exhibit doctor` checks, and a test holds every spawn in the code to.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ProgramLine } from '../schemas/programs.js';
import { projectRoot } from './software.js';

export { ProgramLine };

/** The script that holds the program list (and installs from it). */
export const PROGRAMS_FILE = path.join(projectRoot, 'exhibit');
/** The list inside the script: a quoted here-document read into `PROGRAMS_TSV`. */
const BLOCK = /^read -r -d '' PROGRAMS_TSV <<'TSV' \|\| true\n([\s\S]*?)\nTSV$/m;

/** The program list's text as the script holds it, and the script line it starts after. */
export function programsText(script = readFileSync(PROGRAMS_FILE, 'utf8')): { text: string; firstLine: number } {
  const m = BLOCK.exec(script);
  if (!m) throw new Error(`${PROGRAMS_FILE}: no program list (a "read -r -d '' PROGRAMS_TSV <<'TSV'" block)`);
  return { text: m[1]!, firstLine: script.slice(0, m.index).split('\n').length };
}
const COLUMNS = ['program', 'use', 'debian', 'version', 'setting', 'why'] as const;
/** Bounds for reading a program's answer to its version flag. */
const VERSION_TIMEOUT_MS = 10_000;
const VERSION_MAX_BYTES = 1024 * 1024;

/**
 * Parse the program list (tab-separated): `#` comment lines, a header naming the columns, then one program per
 * line. Throws an Error naming the line and the problem; a program listed twice is refused.
 */
export function parsePrograms(text: string, source = 'exhibit', lineOffset = 0): ProgramLine[] {
  const out: ProgramLine[] = [];
  const seen = new Set<string>();
  let header = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const cells = line.split('\t');
    const where = `${source}:${i + 1 + lineOffset}`;
    if (!header) {
      if (cells.join('\t') !== COLUMNS.join('\t')) throw new Error(`${where}: expected the header ${COLUMNS.join(' <tab> ')}`);
      header = true;
      continue;
    }
    if (cells.length !== COLUMNS.length) throw new Error(`${where}: expected ${COLUMNS.length} tab-separated columns, found ${cells.length}`);
    const [program, use, debian, version, setting, why] = cells.map((c) => c.trim()) as [string, string, string, string, string, string];
    const parsed = ProgramLine.safeParse({
      program,
      use,
      debian: debian === '-' ? [] : debian.split(/ +/),
      versionArgs: version === '-' ? null : version.split(/ +/),
      setting: setting === '-' ? null : setting,
      why,
    });
    if (!parsed.success) throw new Error(`${where}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    if (seen.has(program)) throw new Error(`${where}: ${program} is listed twice`);
    seen.add(program);
    out.push(parsed.data);
  }
  if (!header) throw new Error(`${source}: no header line`);
  return out;
}

let cached: ProgramLine[] | undefined;

/** Every program of the list, read once. */
export function programs(): ProgramLine[] {
  if (!cached) {
    const { text, firstLine } = programsText();
    cached = parsePrograms(text, path.basename(PROGRAMS_FILE), firstLine);
  }
  return cached;
}

/** Where to look: PATH, and the value of a line's setting (config key or environment variable) if set. */
export interface ProgramLookup {
  PATH: string;
  setting(name: string): string | undefined;
}

/** An executable regular file at `file`, or why not. */
function executable(file: string): string | null {
  try {
    if (!statSync(file).isFile()) return 'not a file';
    accessSync(file, constants.X_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'not executable';
  }
}

/** First executable `name` on a PATH string, or null. */
export function whichOnPath(name: string, PATH: string): string | null {
  for (const dir of PATH.split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    if (executable(file) === null) return file;
  }
  return null;
}

export interface Located {
  path: string | null;
  /** How it was looked for: on PATH, at the path its setting names, or as a file. */
  via: string;
  problem: string | null;
}

/** Where a program is, as the code that runs it would find it. */
export function locateProgram(line: ProgramLine, lookup: ProgramLookup): Located {
  const configured = line.setting ? lookup.setting(line.setting) : undefined;
  const name = configured ?? line.program;
  const via = configured !== undefined ? `${line.setting}=${configured}` : path.isAbsolute(name) ? 'file' : 'PATH';
  if (path.isAbsolute(name) || name.includes('/')) {
    const file = path.resolve(name);
    // A file that is not a program (a font) only has to be there.
    const problem = line.versionArgs === null && configured === undefined ? (existsAsFile(file) ? null : 'not found') : executable(file);
    return problem === null ? { path: file, via, problem: null } : { path: null, via, problem: `${file}: ${problem}` };
  }
  const found = whichOnPath(name, lookup.PATH);
  return found ? { path: found, via, problem: null } : { path: null, via, problem: `${name}: not found on PATH` };
}

function existsAsFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The version in a program's answer to its version flag: the first dotted number
 * (`Chromium 131.0.6778.85 built on Debian` → `131.0.6778.85`; `Redis server v=7.0.15` → `7.0.15`;
 * `ffprobe version 5.1.9-0+deb12u1` → `5.1.9-0+deb12u1`, as the environment record and the
 * metadata derivation name them), or null.
 */
export function versionIn(text: string): string | null {
  return /(\d+(?:\.\d+)+[^\s,;()]*)/.exec(text)?.[1] ?? null;
}

export interface ProgramVersion {
  version: string | null;
  /** The line the version was read from (or the first line when none was found). */
  line: string | null;
  error: string | null;
}

/** Ask a program its version (bounded in time and output). Never throws. */
export function programVersion(file: string, args: readonly string[]): Promise<ProgramVersion> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: VERSION_TIMEOUT_MS, maxBuffer: VERSION_MAX_BYTES, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      // Some programs print their version on stderr, some exit non-zero after printing it.
      const lines = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      const withVersion = lines.find((l) => versionIn(l) !== null);
      if (withVersion) return resolve({ version: versionIn(withVersion), line: withVersion.slice(0, 200), error: null });
      if (err && lines.length === 0) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        return resolve({ version: null, line: null, error: e.killed ? `no answer within ${VERSION_TIMEOUT_MS} ms` : e.message });
      }
      resolve({ version: null, line: lines[0]?.slice(0, 200) ?? null, error: null });
    });
  });
}

export interface ProgramCheck extends ProgramLine, Located {
  version: string | null;
  versionLine: string | null;
}

/** Locate one program and ask its version. */
export async function checkProgram(line: ProgramLine, lookup: ProgramLookup): Promise<ProgramCheck> {
  const located = locateProgram(line, lookup);
  if (!located.path || !line.versionArgs) return { ...line, ...located, version: null, versionLine: null };
  const v = await programVersion(located.path, line.versionArgs); // spawns: listed
  return { ...line, ...located, version: v.version, versionLine: v.line ?? (v.error ? `(${v.error})` : null) };
}
