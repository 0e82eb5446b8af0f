import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorExitCode, doctorReport, formatDoctor } from '../../../app/commands/doctor.js';
import { configFrom } from '../../../lib/config.js';
import { checkProgram, parsePrograms, programs, programsText, programVersion, versionIn, type ProgramLine } from '../../../lib/programs.js';
import { ffprobeTool } from '../../../evidence/metadata.js';
import { ffmpegVersionOf } from '../../../collectors/platform/hls.js';
import { projectRoot } from '../../../lib/software.js';
import { projectSources, scanSource, scanSources, shellCommands, spawnProblems, type ScanOptions } from '../../support/spawn-scan.js';

const list = programs();
const known = new Set(list.map((p) => path.basename(p.program)));
/** Setting name → program, as the scanner reads known config values: `chromiumPath`, `EXHIBIT_MINIO_BIN`. */
const settings = new Map(list.flatMap((p) => (p.setting ? [[p.setting.split('.').pop()!, path.basename(p.program)] as const] : [])));
const opts: ScanOptions = { settings };
/** Executables of this repository (the `./exhibit` front door), not external programs. */
const own = new Set(['exhibit']);

describe('the program list in ./exhibit: every external program, in one list', () => {
  it('parses, and every setting is an EXHIBIT_ variable or a config key with a value', () => {
    expect(list.length).toBeGreaterThan(10);
    const config = configFrom() as unknown as Record<string, Record<string, unknown>>;
    for (const p of list.filter((l) => l.setting && !l.setting.startsWith('EXHIBIT_'))) {
      const [section, key] = p.setting!.split('.') as [string, string];
      expect(typeof config[section]?.[key], `${p.program}: ${p.setting}`).toBe('string');
    }
  });

  it('names every program the product, the tests and the benchmarks spawn (and nothing is spawned that it cannot name)', () => {
    const sites = scanSources(projectSources(projectRoot), opts);
    const found = new Set(sites.flatMap((s) => s.programs));
    // The scanner must see the spawns we know of, or it proves nothing.
    for (const p of ['chromium', 'redis-server', 'ffmpeg', 'ffprobe', 'openssl', 'exiftool', 'unzip', 'zip', 'python3', 'minio', 'docker-compose', 'git', 'node', 'sha256sum']) expect(found, p).toContain(p);
    const problems = spawnProblems(
      sites.map((s) => ({ ...s, programs: s.programs.filter((p) => !(own.has(p) && existsSync(path.join(projectRoot, p)))) })),
      known,
    );
    expect(problems).toEqual([]);
  });

  it('./exhibit builds its apt lists from its program list and from nothing else', () => {
    const script = readFileSync(path.join(projectRoot, 'exhibit'), 'utf8');
    const fn = /^debs_for\(\) \{\n[\s\S]*?\n\}$/m.exec(script)?.[0];
    expect(fn, 'debs_for in ./exhibit').toBeDefined();
    const debsOf = (use: string) => execFileSync('bash', ['-c', `${fn}\ndebs_for ${use}`], { encoding: 'utf8', env: { ...process.env, PROGRAMS_TSV: programsText(script).text } }).split('\n').filter(Boolean); // spawns: bash awk sort
    const want = (use: ProgramLine['use']) => [...new Set(list.filter((p) => p.use === use).flatMap((p) => p.debian))].sort();
    expect(debsOf('runtime')).toEqual(want('runtime'));
    expect(debsOf('test')).toEqual(want('test'));
    expect(debsOf('test')).toContain('libimage-exiftool-perl');
    // No package list of its own: every Debian package the script names comes from the file.
    expect(script).not.toMatch(/DEBS_(RUNTIME|TEST)=\(/);
    expect(script).toMatch(/mapfile -t DEBS_RUNTIME < <\(debs_for runtime\)/);
  });

  it('reads the list from its block in ./exhibit and names lines by their place in the script', () => {
    const script = '#!/usr/bin/env bash\nset -e\nread -r -d \'\' PROGRAMS_TSV <<\'TSV\' || true\nprogram\tuse\tdebian\tversion\tsetting\twhy\nzip\ttest\tzip\n' + 'TSV\n';
    const { text, firstLine } = programsText(script);
    expect(firstLine).toBe(3);
    expect(() => parsePrograms(text, 'exhibit', firstLine)).toThrow(/^exhibit:5: expected 6 tab-separated columns/);
    expect(() => programsText('#!/bin/sh\n')).toThrow(/no program list/);
  });

  it('refuses a malformed list, naming the line', () => {
    const head = '# comment\nprogram\tuse\tdebian\tversion\tsetting\twhy\n';
    expect(parsePrograms(`${head}exiftool\ttest\tlibimage-exiftool-perl\t-ver\t-\tchecks metadata\n`)).toEqual([
      { program: 'exiftool', use: 'test', debian: ['libimage-exiftool-perl'], versionArgs: ['-ver'], setting: null, why: 'checks metadata' },
    ]);
    expect(() => parsePrograms(`${head}exiftool\ttest\tlibimage-exiftool-perl\n`)).toThrow(/exhibit:3: expected 6 tab-separated columns, found 3/);
    expect(() => parsePrograms(`${head}exiftool\tsometimes\tx\t-\t-\twhy\n`)).toThrow(/exhibit:3: use/);
    expect(() => parsePrograms(`${head}exiftool\ttest\tNot_A_Package\t-\t-\twhy\n`)).toThrow(/exhibit:3: debian\.0: expected a Debian package name/);
    expect(() => parsePrograms(`${head}zip\ttest\tzip\t-v\t-\ta\nzip\ttest\tzip\t-v\t-\tb\n`)).toThrow(/exhibit:4: zip is listed twice/);
    expect(() => parsePrograms('zip\ttest\tzip\t-v\t-\ta\n')).toThrow(/expected the header/);
  });
});

describe('the spawn scanner', () => {
  it('reads literals, promisify aliases, wrappers, defaults, settings and shell scripts; flags an unlisted program', () => {
    const sample = `
import { execFile, execFileSync as efs, spawn } from 'node:child_process';
import { promisify } from 'node:util';
const run = promisify(execFile);
const PY = process.env.EXHIBIT_PYTHON ?? 'python3';
function sh(cmd: string) { return run('bash', ['-o', 'pipefail', '-c', cmd]); }
function tool(file: string, args: string[]) { return new Promise((r) => execFile(file, args, () => r(null))); }
export async function f(config: { seal: { ffprobePath: string } }) {
  efs('exiftool', ['-j', 'a.jpg']);
  await run(PY, ['-m', 'bagit']);
  await sh('find . -type f | wc -l && heif-convert a.heic b.png');
  await tool(config.seal.ffprobePath, ['-version']);
  spawn(process.execPath, ['x.js']);
  await run('/usr/bin/time', ['-f', '%M', 'true']);
}`;
    const sites = scanSource('sample.ts', sample, opts);
    expect(sites.map((s) => [s.line, s.programs.sort()])).toEqual([
      [6, ['bash']], // the shell wrapper runs bash; its callers' scripts run the rest
      [9, ['exiftool']],
      [10, ['python3']],
      [11, ['find', 'heif-convert', 'wc']],
      [12, ['ffprobe']],
      [13, ['node']],
      [14, ['time']],
    ]);
    // The check the tree test applies: a program missing from the list is named, with where it is spawned.
    const problems = spawnProblems(sites, new Set([...known].filter((p) => p !== 'exiftool')));
    expect(problems.some((p) => p.startsWith('sample.ts:9: exiftool is spawned but not in the program list'))).toBe(true);
    // heif-convert is not listed (yet): the same check catches it inside a shell script.
    if (!known.has('heif-convert')) expect(problems.some((p) => p.startsWith('sample.ts:11: heif-convert is spawned but not in the program list'))).toBe(true);
  });

  it('follows a wrapper exported by one file into the file that imports it', () => {
    const sites = scanSources(
      [
        { file: 'a.ts', text: `import { spawn } from 'node:child_process';\nexport function startThing(bin: string) { return spawn(bin, ['serve']); }` },
        { file: 'b.ts', text: `import { startThing } from './a.js';\nstartThing(process.env.EXHIBIT_MINIO_BIN!);\nstartThing('redis-server');` },
      ],
      opts,
    );
    expect(sites.map((s) => `${s.file}:${s.line} ${s.programs.join(',')}`)).toEqual(['b.ts:2 minio', 'b.ts:3 redis-server']);
  });

  it('reports a spawn whose program it cannot read, unless a comment names it', () => {
    const text = `import { spawn } from 'node:child_process';\nconst pick = (xs: string[]) => xs[0]!;\nspawn(pick(['a']), []);\n// spawns: openssl\nspawn(pick(['b']), []);\nimport * as cp from 'child_process';\ncp.execSync('rsync -a x y');\nconst o = { executablePath: '/opt/google/chrome' };\n['gpg', 'curl'].forEach((bin) => spawn(bin, []));`;
    const sites = scanSource('dyn.ts', text, opts);
    expect(sites.map((s) => [s.line, s.programs, s.unresolved])).toEqual([
      [3, [], ["pick(['a'])"]],
      [5, ['openssl'], []],
      [7, ['rsync'], []],
      [8, ['chrome'], []],
      [9, [], ['a parameter of an anonymous function or method (bin)']],
    ]);
    const problems = spawnProblems(sites, known);
    expect(problems[0]).toMatch(/^dyn\.ts:3: cannot tell which program pick\(\['a'\]\) is/);
    expect(problems.filter((p) => /rsync is spawned but not in the program list/.test(p))).toHaveLength(1);
    expect(problems.filter((p) => /chrome is spawned but not in the program list/.test(p))).toHaveLength(1);
  });

  it('splits shell scripts into commands, skipping builtins, assignments, variables and here-documents', () => {
    expect(shellCommands('openssl ts -verify -digest "$(sha256sum a | cut -c1-64)" -in x; LC_ALL=C sort f > g\ncd /tmp && echo hi')).toEqual({ programs: ['openssl', 'sha256sum', 'cut', 'sort'], unresolved: [] });
    expect(shellCommands("python3 - <<'EOF'\nimport os\nprint(1)\nEOF\n$PY -c x")).toEqual({ programs: ['python3'], unresolved: ['$PY'] });
  });
});

describe('exhibit doctor', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-doctor-'));
  const fake = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };
  fake('fakechrome', 'echo "Fakium 131.0.6778.85 built on Debian GNU/Linux 12 (bookworm)"');
  fake('fakeredis', 'echo "warning: something" >&2; echo "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0"');
  const custom = fake('custom-probe', 'echo "ffprobe version 5.1.9-0+deb12u1 Copyright (c) 2007-2026" >&2; exit 1');
  const line = (program: string, use: ProgramLine['use'], extra: Partial<ProgramLine> = {}): ProgramLine => ({ program, use, debian: [program], versionArgs: ['--version'], setting: null, why: 'test', ...extra });

  it('reads versions as the environment record and the metadata derivation name them', () => {
    expect(versionIn('Chromium 131.0.6778.85 built on Debian GNU/Linux 12')).toBe('131.0.6778.85');
    expect(versionIn('ffprobe version 5.1.9-0+deb12u1 Copyright (c) 2007-2026 the FFmpeg developers')).toBe('5.1.9-0+deb12u1');
    expect(versionIn('Redis server v=7.0.15 sha=00000000:0')).toBe('7.0.15');
    expect(versionIn('go version go1.26.8 linux/amd64')).toBe('1.26.8');
    expect(versionIn('minio version DEVELOPMENT.GOGET')).toBeNull();
  });

  it('names ffprobe and ffmpeg versions exactly as the metadata derivation and the HLS assembly record them', async () => {
    const [probe, mpeg] = await Promise.all([programVersion('ffprobe', ['-version']), programVersion('ffmpeg', ['-version'])]);
    expect(probe.version).not.toBeNull();
    expect(await ffprobeTool('ffprobe')).toBe(`ffprobe ${probe.version}`);
    expect(await ffmpegVersionOf('ffmpeg')).toBe(mpeg.version);
  });

  it('prints each program with version and path, marks missing ones, and exits 69 only when a runtime program is missing', async () => {
    const config = configFrom({ seal: { ffprobePath: custom } });
    const env = { PATH: `${dir}:/nonexistent`, vars: {} };
    const ok = await doctorReport(config, env, [line('fakechrome', 'runtime'), line('fakeredis', 'runtime'), line('ffprobe', 'runtime', { setting: 'seal.ffprobePath', versionArgs: ['-version'] }), line('no-such-tool', 'test', { debian: ['no-such-deb'] })]);
    expect(ok.programs.map((p) => [p.program, p.version, p.path])).toEqual([
      ['fakechrome', '131.0.6778.85', path.join(dir, 'fakechrome')],
      ['fakeredis', '7.0.15', path.join(dir, 'fakeredis')],
      ['ffprobe', '5.1.9-0+deb12u1', custom],
      ['no-such-tool', null, null],
    ]);
    expect(ok.missing).toEqual({ runtime: [], test: ['no-such-tool'], optional: [] });
    expect(doctorExitCode(ok)).toBe(0);
    const text = formatDoctor(ok).join('\n');
    expect(text).toMatch(/^no-such-tool +test +MISSING +no-such-tool: not found on PATH — Debian: no-such-deb$/m);
    expect(text).toMatch(/^ffprobe +runtime +5\.1\.9-0\+deb12u1 +.*custom-probe \(seal\.ffprobePath=/m);
    // The same facts a capture's environment record names for Exhibit itself.
    expect(ok.nodeVersion).toBe(process.version);
    expect(ok.exhibitVersion).toMatch(/^\d+\.\d+\.\d+/);

    const bad = await doctorReport(config, { PATH: dir, vars: { EXHIBIT_MINIO_BIN: path.join(dir, 'missing-minio') } }, [line('missing-runtime', 'runtime', { debian: ['pkg-a', 'pkg-b'] }), line('minio', 'test', { debian: [], setting: 'EXHIBIT_MINIO_BIN' })]);
    expect(bad.missing).toEqual({ runtime: ['missing-runtime'], test: ['minio'], optional: [] });
    expect(bad.programs[1]!.problem).toBe(`${path.join(dir, 'missing-minio')}: not found`);
    expect(doctorExitCode(bad)).toBe(69);
    expect(formatDoctor(bad).join('\n')).toMatch(/MISSING runtime programs: missing-runtime\n  install: sudo apt-get install -y pkg-a pkg-b/);
  });

  it('checks a file that is not a program (a font) for presence only', async () => {
    const font = path.join(dir, 'Font.ttf');
    writeFileSync(font, 'x');
    const lookup = { PATH: '', setting: () => undefined };
    expect(await checkProgram(line(font, 'runtime', { versionArgs: null }), lookup)).toMatchObject({ path: font, problem: null });
    expect(await checkProgram(line(path.join(dir, 'Gone.ttf'), 'runtime', { versionArgs: null }), lookup)).toMatchObject({ path: null, problem: `${path.join(dir, 'Gone.ttf')}: not found` });
  });
});
