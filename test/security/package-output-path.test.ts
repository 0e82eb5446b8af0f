import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Run the CLI; a run that does not end within `limitMs` is killed and reported as such. */
function exhibit(args: string[], env: Record<string, string>, limitMs = 60_000): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}

/**
 * `exhibit package -o <unusable path>`: refused up front with INVALID_INPUT (exit 4) and a message
 * naming the path, never an internal error with a stack trace (nor a hang: Node's recursive mkdir
 * never returns under /proc).
 */
describe('exhibit package -o to an unusable path', () => {
  let stateDir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-pkg-out-'));
    env = { EXHIBIT_STATE_DIR: stateDir, EXHIBIT_REDIS_URL: inject('redisUrl'), EXHIBIT_REDIS_PREFIX: 'pkgout', EXHIBIT_LOG_LEVEL: 'warn' };
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  const cases: Array<[string, () => string, RegExp]> = [
    ['an existing directory', () => stateDir, /is a directory/],
    ['a path under a regular file', () => '/etc/hostname/case.zip', /\/etc\/hostname is not a directory/],
    ['a path under a directory that cannot be created', () => '/proc/exhibit-missing/case.zip', /cannot create the directory \/proc\/exhibit-missing/],
    ['a directory that cannot be written (sysfs, even for root)', () => '/sys/case.zip', /not writable/],
  ];
  for (const [what, target, reason] of cases) {
    it(`refuses ${what} with INVALID_INPUT, naming the path`, async () => {
      const out = target();
      const r = await exhibit(['package', 'C-PKG-OUT-1', '-o', out], env);
      expect(r.timedOut, r.stderr).toBe(false);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain(out);
      expect(r.stderr).toMatch(reason);
      expect(r.stderr).toContain('INVALID_INPUT');
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });
  }

  it('leaves nothing behind in a usable directory it checked', async () => {
    const dir = path.join(stateDir, 'out', 'deeper');
    const out = path.join(dir, 'case.zip');
    // The case has no captures: the command fails later, but the path check made the directory and removed its probe.
    await exhibit(['package', 'C-PKG-OUT-EMPTY', '-o', out], env);
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('case.zip'))).toEqual([]);
  });
});
