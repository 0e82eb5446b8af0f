/**
 * Package: `exhibit package` of a 200-capture case (certificate PDF, signed custody head, BagIt
 * zip with both manifests), vs copying the same bytes (the package, unzipped) into a zip with no
 * compression. The captures are synthetic spools of small files (a PNG screenshot, DOM, MHTML,
 * WARC, facts), sealed, signed and timestamped by the real seal stage: no browser needed to set up.
 * Target: ≤ 1.5× the baseline's time.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { newId } from '../../lib/clock.js';
import { configFrom } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { openServices, type Services } from '../../workers/runtime.js';
import { runSeal as runSealStage } from '../../workers/seal.js';
import { timeCommand } from '../baselines/tools.js';
import type { ChildIO } from '../lib/child-io.js';
import type { BenchEnv } from '../lib/env.js';
import { spoolFile, syntheticSealPayload } from '../lib/fixtures.js';
import { packageCaseLikeCli } from '../lib/package-case.js';
import { median } from '../lib/stats.js';
import { formatBytes, formatDuration, type BenchRow } from '../report.js';

const ROW = 'package';

/** Child task: what `exhibit package <case>` runs, timed, with the time each phase started. */
export async function exhibitPackage(p: { config: Record<string, unknown>; caseId: string; outPath: string }, io: ChildIO): Promise<{ elapsedMs: number; size: number; captures: number; phasesMs: Record<string, number> }> {
  const config = configFrom(p.config);
  io.mark('start');
  const t0 = performance.now();
  const { built, phasesMs } = await packageCaseLikeCli(config, p.caseId, p.outPath, 'bench-prosecutor');
  const elapsedMs = performance.now() - t0;
  io.mark('end');
  return { elapsedMs, size: built.size, captures: built.captureIds.length, phasesMs };
}

/** One synthetic capture: small files, distinct bytes, sealed by the real seal stage. */
async function sealSynthetic(s: Services, env: BenchEnv, caseId: string, i: number): Promise<void> {
  const captureId = newId();
  const spool = path.join(env.workDir, 'package-spools', captureId);
  await mkdir(spool, { recursive: true });
  const url = `${env.site.url}/post/${i + 1}`;
  const noise = await sharp(randomBytes(160 * 120 * 3), { raw: { width: 160, height: 120, channels: 3 } }).png().toBuffer();
  const png = await sharp({ create: { width: 1280, height: 1600, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: 200 } } })
    .composite([{ input: noise, top: 40, left: 40 }])
    .png()
    .toBuffer();
  await writeFile(path.join(spool, 'screenshot.png'), png);
  const text = `<p>post ${i} ${randomBytes(3000).toString('base64')}</p>`;
  await writeFile(path.join(spool, 'dom.html'), `<!doctype html><html><body>${text}</body></html>`);
  await writeFile(path.join(spool, 'page.mhtml'), `MIME-Version: 1.0\r\nContent-Type: multipart/related\r\n\r\n${text.repeat(4)}`);
  await writeFile(path.join(spool, 'traffic.warc.gz'), randomBytes(48 * 1024));
  await writeFile(path.join(spool, 'page-facts.json'), JSON.stringify({ url, i }));
  await writeFile(path.join(spool, 'environment.json'), JSON.stringify({ bench: true, i }));
  const files = [
    spoolFile('dom.html', 'dom', 'text/html; charset=utf-8', url),
    spoolFile('environment.json', 'environment', 'application/json'),
    spoolFile('page-facts.json', 'page-facts', 'application/json'),
    spoolFile('page.mhtml', 'mhtml', 'multipart/related', url),
    spoolFile('screenshot.png', 'screenshot', 'image/png', url),
    spoolFile('traffic.warc.gz', 'warc', 'application/warc'),
  ];
  const result = await runSealStage(syntheticSealPayload({ captureId, caseId, url, spoolDir: spool, files }), {
    config: s.config,
    logger: s.logger,
    clock: s.clock,
    store: s.store,
    keys: s.keys,
    custody: s.custody,
    software: s.software,
    tsaTrustAnchors: s.tsaTrustAnchors,
  });
  if (result.seal !== 'sealed') throw new Error(`synthetic capture ${i} was not sealed: ${result.sealFailure?.message ?? ''}`);
}

export async function runPackageRow(env: BenchEnv): Promise<BenchRow[]> {
  const n = env.quick ? 20 : 200;
  const reps = env.quick ? 1 : 2;
  const tree = env.configTree('package');
  const config = configFrom(tree);
  const caseId = 'BENCH-PACKAGE';
  const s = await openServices(config, createLogger('warn'));
  try {
    const progress = env.progress(ROW, 'sealing synthetic captures (setup, not timed)');
    let next = 0;
    let done = 0;
    const lane = async () => {
      while (next < n) {
        const i = next++;
        await sealSynthetic(s, env, caseId, i);
        progress(++done, n);
      }
    };
    await Promise.all([lane(), lane()]);
  } finally {
    await s.close();
  }
  const dir = path.join(env.workDir, 'package-out');
  await mkdir(dir, { recursive: true });
  const ex: number[] = [];
  const base: number[] = [];
  const phases: Array<Record<string, number>> = [];
  let size = 0;
  let baseBytes = 0;
  for (let i = 0; i < reps; i++) {
    env.say(ROW, `exhibit package of ${n} captures ${i + 1}/${reps}`);
    const zip = path.join(dir, `${caseId}-${i}.zip`);
    const r = await env.child<{ elapsedMs: number; size: number; captures: number; phasesMs: Record<string, number> }>('exhibit-package', { config: tree, caseId, outPath: zip });
    phases.push(r.result.phasesMs);
    if (r.result.captures !== n) throw new Error(`the package holds ${r.result.captures} captures, expected ${n}`);
    ex.push(r.result.elapsedMs);
    size = r.result.size;
    const unzipped = path.join(dir, `unzipped-${i}`);
    await timeCommand('unzip', ['-q', zip, '-d', unzipped]);
    env.say(ROW, `store-only zip of the same bytes ${i + 1}/${reps}`);
    const b = await env.child<{ elapsedMs: number; files: number; bytes: number }>('bare-zip', { dir: unzipped, out: path.join(dir, `baseline-${i}.zip`) });
    base.push(b.result.elapsedMs);
    baseBytes = b.result.bytes;
  }
  await rm(dir, { recursive: true, force: true });
  await rm(path.join(env.workDir, 'package-spools'), { recursive: true, force: true });
  const exMs = median(ex);
  const baseMs = median(base);
  const ratio = exMs / baseMs;
  return [
    {
      id: 'package',
      what: `package a ${n}-capture case (${formatBytes(size)} zip)`,
      exhibit: formatDuration(exMs),
      baseline: `${formatDuration(baseMs)} store-only zip of the same files`,
      ratio,
      target: '≤ 1.5×',
      pass: ratio <= 1.5,
      data: { captures: n, reps, zipBytes: size, baselineZipBytes: baseBytes, exhibit: { medianMs: exMs, runsMs: ex, phaseStartMs: phases }, baseline: { medianMs: baseMs, runsMs: base } },
    },
  ];
}
