import os from 'node:os';
import path from 'node:path';
import { playwrightVersion } from '../../collectors/browser/environment.js';
import { programSearchEnv } from '../../lib/config.js';
import { mapLimit } from '../../lib/concurrency.js';
import { checkProgram, programs, type ProgramCheck, type ProgramLine, type ProgramLookup } from '../../lib/programs.js';
import { software } from '../../lib/software.js';
import type { Config } from '../../schemas/config.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

// Not from ./common.js: that pulls in the workers, and doctor must answer when they cannot load.
const out = (line = '') => process.stdout.write(`${line}\n`);

export interface DoctorReport {
  /** The same facts a capture's environment record names for Exhibit itself. */
  exhibitVersion: string;
  gitCommit: string | null;
  nodeVersion: string;
  playwrightVersion: string;
  platform: string;
  programs: ProgramCheck[];
  /** Programs not found, by use: a missing runtime program makes the exit code 69. */
  missing: Record<ProgramLine['use'], string[]>;
}

/** A config value by its dotted key (`capture.chromiumPath`), when it is a string. */
function configValue(config: Config, key: string): string | undefined {
  let node: unknown = config;
  for (const part of key.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return typeof node === 'string' && node !== '' ? node : undefined;
}

/** Check every program of the program list in ./exhibit where the code would look for it. */
export async function doctorReport(config: Config, env: { PATH: string; vars: Record<string, string> } = programSearchEnv(), list: ProgramLine[] = programs()): Promise<DoctorReport> {
  const lookup: ProgramLookup = { PATH: env.PATH, setting: (name) => (name.startsWith('EXHIBIT_') ? env.vars[name] : configValue(config, name)) };
  const checks = await mapLimit(list, 4, (line) => checkProgram(line, lookup));
  const missing: DoctorReport['missing'] = { runtime: [], test: [], optional: [] };
  for (const c of checks) if (!c.path) missing[c.use].push(c.program);
  const sw = software();
  return {
    exhibitVersion: sw.exhibitVersion,
    gitCommit: sw.gitCommit,
    nodeVersion: process.version,
    playwrightVersion: playwrightVersion(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    programs: checks,
    missing,
  };
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

/** Human-readable report: one line per program, missing ones marked, then what to install. */
export function formatDoctor(r: DoctorReport): string[] {
  const lines = [`Exhibit ${r.exhibitVersion}${r.gitCommit ? ` (${r.gitCommit.slice(0, 12)})` : ''}, Node.js ${r.nodeVersion}, playwright-core ${r.playwrightVersion}, ${r.platform}`, ''];
  const name = (p: ProgramCheck) => path.basename(p.program);
  const width = Math.max(...r.programs.map((p) => name(p).length)) + 2;
  lines.push(`${pad('program', width)}${pad('use', 10)}${pad('version', 20)}where / problem`);
  for (const p of r.programs) {
    const version = p.path ? (p.version ?? (p.versionArgs ? '?' : '-')) : 'MISSING';
    const where = p.path ? `${p.path}${p.via === 'PATH' || p.via === 'file' ? '' : ` (${p.via})`}` : `${p.problem}${p.debian.length ? ` — Debian: ${p.debian.join(' ')}` : ` — ${p.why}`}`;
    lines.push(`${pad(name(p), width)}${pad(p.use, 10)}${pad(version, 20)}${where}`);
  }
  lines.push('');
  const debsOf = (use: ProgramLine['use']) => [...new Set(r.programs.filter((p) => !p.path && p.use === use).flatMap((p) => p.debian))];
  if (r.missing.runtime.length) {
    lines.push(`MISSING runtime programs: ${r.missing.runtime.join(', ')}`);
    const debs = debsOf('runtime');
    if (debs.length) lines.push(`  install: sudo apt-get install -y ${debs.join(' ')}   (or run ./exhibit setup as root)`);
  } else lines.push('every runtime program was found');
  if (r.missing.test.length) lines.push(`missing test-only programs: ${r.missing.test.join(', ')} (./exhibit test installs the Debian ones and builds the rest)`);
  if (r.missing.optional.length) lines.push(`not installed, optional: ${r.missing.optional.join(', ')}`);
  return lines;
}

/** 69 (MISSING_DEPENDENCY) when a runtime program is missing; missing test-only and optional ones are reported, not fatal. */
export function doctorExitCode(r: DoctorReport): ExitCode {
  return r.missing.runtime.length > 0 ? EXIT.MISSING_DEPENDENCY : EXIT.OK;
}

/** `exhibit doctor`: every external program, its version and where it was found; exit 69 when a runtime one is missing. */
export async function doctorCommand(config: Config, opts: { json: boolean }): Promise<ExitCode> {
  const report = await doctorReport(config);
  if (opts.json) out(JSON.stringify(report, null, 2));
  else for (const line of formatDoctor(report)) out(line);
  return doctorExitCode(report);
}
