/**
 * Baselines that are other people's command-line tools: `openssl dgst`, `sha256sum -c`. Each is
 * run under GNU time (`/usr/bin/time`) for its peak RSS; the wall time is measured here.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ToolRun {
  elapsedMs: number;
  /** Peak RSS from GNU time, kB (null when /usr/bin/time is not installed). */
  maxRssKb: number | null;
  stdout: string;
}

const GNU_TIME = '/usr/bin/time';
const MARK = 'EXHIBIT-BENCH-TIME';

/** Parse the line GNU time prints with `-f "EXHIBIT-BENCH-TIME %M"` out of stderr text. */
export function parseGnuTime(stderr: string): number | null {
  const m = new RegExp(`^${MARK} (\\d+)\\s*$`, 'm').exec(stderr);
  return m ? Number(m[1]) : null;
}

/** Run a command to completion; throws with its stderr when it exits non-zero. */
export async function timeCommand(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<ToolRun> {
  const useTime = existsSync(GNU_TIME);
  const [file, argv] = useTime ? [GNU_TIME, ['-f', `${MARK} %M`, cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const child = spawn(file, argv, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const elapsedMs = performance.now() - t0;
  const stderr = Buffer.concat(err).toString();
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.replace(new RegExp(`${MARK}.*`), '').trim().slice(0, 300)}`);
  return { elapsedMs, maxRssKb: useTime ? parseGnuTime(stderr) : null, stdout: Buffer.concat(out).toString() };
}

/** `openssl dgst -sha256` then `openssl dgst -sha512` on one file: the baseline for hashing it both ways. */
export async function opensslPair(file: string): Promise<{ elapsedMs: number; sha256Ms: number; sha512Ms: number; maxRssKb: number | null; sha256: string; sha512: string }> {
  const a = await timeCommand('openssl', ['dgst', '-sha256', '-r', file]);
  const b = await timeCommand('openssl', ['dgst', '-sha512', '-r', file]);
  return {
    elapsedMs: a.elapsedMs + b.elapsedMs,
    sha256Ms: a.elapsedMs,
    sha512Ms: b.elapsedMs,
    maxRssKb: a.maxRssKb === null || b.maxRssKb === null ? null : Math.max(a.maxRssKb, b.maxRssKb),
    sha256: a.stdout.split(' ')[0]!.trim(),
    sha512: b.stdout.split(' ')[0]!.trim(),
  };
}
