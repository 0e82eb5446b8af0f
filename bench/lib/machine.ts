/** Facts about the machine and the software a benchmark ran on, for the JSON results file. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { programVersion } from '../../lib/programs.js';

const run = promisify(execFile);

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memTotalBytes: number;
  kernel: string;
  loadAverage: number[];
  versions: { node: string; chromium: string | null; playwrightCore: string | null; openssl: string | null; redis: string | null; bullmq: string | null; ffprobe: string | null };
  git: { commit: string | null; dirty: boolean | null };
}

/** `model name` of the first CPU in /proc/cpuinfo text. */
export function cpuModelFrom(cpuinfo: string): string | null {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? null;
}

/** MemTotal of /proc/meminfo text, in bytes. */
export function memTotalFrom(meminfo: string): number | null {
  const m = /^MemTotal:\s+(\d+)\s+kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : null;
}

async function firstLine(cmd: string, args: string[], cwd?: string): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 10_000, ...(cwd ? { cwd } : {}) });
    return (stdout || stderr).split('\n')[0]!.trim() || null;
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

export async function machineFacts(opts: { chromiumPath: string; root: string }): Promise<MachineFacts> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  // Version lines as `exhibit doctor` reads them (lib/programs.ts), so both name the same facts.
  const versionLine = (file: string, args: string[]) => programVersion(file, args).then((v) => v.line);
  const [chromium, openssl, redis, ffprobe, commit, status] = await Promise.all([
    versionLine(opts.chromiumPath, ['--version']),
    versionLine('openssl', ['version']),
    versionLine('redis-server', ['--version']),
    versionLine('ffprobe', ['-version']),
    firstLine('git', ['rev-parse', 'HEAD'], opts.root),
    run('git', ['status', '--porcelain'], { cwd: opts.root, timeout: 10_000 }).then((r) => r.stdout, () => null),
  ]);
  return {
    cpuModel: cpuModelFrom(cpuinfo) ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memTotalBytes: memTotalFrom(meminfo) ?? os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg(),
    versions: { node: process.version, chromium, playwrightCore: packageVersion('playwright-core'), openssl, redis, bullmq: packageVersion('bullmq'), ffprobe },
    git: { commit, dirty: status === null ? null : status.trim().length > 0 },
  };
}
