/**
 * Verify: `exhibit verify` (verifyPackage) of a package holding the big media file, vs the same
 * openssl pair over the package's bytes, and vs `sha256sum -c` of the bag's payload manifest (on the
 * unzipped bag; unzipping is not timed for it). Target: ≥ 0.9× openssl; faster than `sha256sum -c`.
 *
 * The child process that runs `exhibit verify` loads only evidence/package/verify.js, as the CLI's verify
 * command does: the setup (sealing, packaging: Redis, BullMQ, sharp, Chromium pool) is imported
 * lazily by the parent, so its modules no longer count in the child's peak RSS.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { verifyPackage } from '../../evidence/package/verify.js';
import type { ChildIO } from '../lib/child-io.js';
import type { BenchEnv } from '../lib/env.js';
import { median, megabytesPerSecond } from '../lib/stats.js';
import { formatBytes, formatDuration, formatNumber, type BenchRow } from '../report.js';

const ROW = 'verify';

/** Child task: verifyPackage of a zip or directory, timed. */
export async function exhibitVerify(p: { source: string }, io: ChildIO): Promise<{ elapsedMs: number; ok: boolean; checks: number; failures: string[] }> {
  io.mark('start');
  const t0 = performance.now();
  const report = await verifyPackage(p.source);
  const elapsedMs = performance.now() - t0;
  io.mark('end');
  // Speed of the checks: the bench pins nothing, so a consistent package is `unauthenticated`.
  return { elapsedMs, ok: report.consistent, checks: report.checks.length, failures: report.failures.slice(0, 5).map((f) => `${f.item}: ${f.check}: ${f.message}`) };
}

/** Seal (sign, timestamp) one capture holding the big file and package it; returns the zip. */
export async function buildBigPackage(env: BenchEnv): Promise<{ zip: string; size: number; bagName: string }> {
  const [{ configFrom }, { createLogger }, { openServices }, { runSeal: runSealStage }, { newId }, { spoolFile, syntheticSealPayload }, { packageCaseLikeCli }, { BIG_MEDIA_NAME, bigSpool }] = await Promise.all([
    import('../../lib/config.js'),
    import('../../lib/logger.js'),
    import('../../workers/runtime.js'),
    import('../../workers/seal.js'),
    import('../../lib/clock.js'),
    import('../lib/fixtures.js'),
    import('../lib/package-case.js'),
    import('./seal.js'),
  ]);
  const tree = env.configTree('verify');
  const config = configFrom(tree);
  const caseId = 'BENCH-VERIFY';
  const spool = await bigSpool(env, 'verify-spool');
  const s = await openServices(config, createLogger('warn'));
  try {
    const payload = syntheticSealPayload({ captureId: newId(), caseId, url: env.site.url, spoolDir: spool, files: [spoolFile(BIG_MEDIA_NAME, 'media', 'video/mp4', `${env.site.url}/clip.mp4`)] });
    const result = await runSealStage(payload, { config, logger: s.logger, clock: s.clock, store: s.store, keys: s.keys, custody: s.custody, software: s.software, tsaTrustAnchors: s.tsaTrustAnchors });
    if (result.seal !== 'sealed') throw new Error(`the big capture was not sealed: ${result.sealFailure?.message ?? ''}`);
  } finally {
    await s.close();
    await rm(spool, { recursive: true, force: true });
  }
  const zip = path.join(env.workDir, 'verify', 'BENCH-VERIFY-big.zip');
  await mkdir(path.dirname(zip), { recursive: true });
  const { built } = await packageCaseLikeCli(config, caseId, zip, 'bench-prosecutor');
  // The store copy is not needed any more; the package holds the bytes.
  await rm(config.store.fsRoot, { recursive: true, force: true });
  return { zip: built.path, size: built.size, bagName: built.bagName };
}

export async function runVerifyRow(env: BenchEnv): Promise<BenchRow[]> {
  const [{ bigMedia }, { opensslPair, timeCommand }] = await Promise.all([import('./seal.js'), import('../baselines/tools.js')]);
  const big = await bigMedia(env);
  env.say(ROW, `sealing and packaging a capture holding ${formatBytes(big.bytes)} (setup, not timed)`);
  const pkg = await buildBigPackage(env);
  const unzipped = path.join(env.workDir, 'verify', 'unzipped');
  await timeCommand('unzip', ['-q', pkg.zip, '-d', unzipped]);
  const bagRoot = path.join(unzipped, pkg.bagName);
  await stat(path.join(bagRoot, 'bagit.txt'));
  const reps = env.quick ? 1 : 3;
  const ex: number[] = [];
  const exRss: number[] = [];
  const ossl: number[] = [];
  const sums: number[] = [];
  let failures: string[] = [];
  for (let i = 0; i < reps; i++) {
    env.say(ROW, `openssl pair over the package ${i + 1}/${reps}`);
    ossl.push((await opensslPair(pkg.zip)).elapsedMs);
    env.say(ROW, `sha256sum -c of the bag ${i + 1}/${reps}`);
    sums.push((await timeCommand('sha256sum', ['-c', '--quiet', 'manifest-sha256.txt'], { cwd: bagRoot })).elapsedMs);
    env.say(ROW, `exhibit verify of the zip ${i + 1}/${reps}`);
    const r = await env.child<{ elapsedMs: number; ok: boolean; checks: number; failures: string[] }>('exhibit-verify', { source: pkg.zip });
    if (!r.result.ok) failures = r.result.failures;
    ex.push(r.result.elapsedMs);
    exRss.push(r.maxRssKb);
  }
  env.say(ROW, 'exhibit verify of the unzipped bag (for the breakdown)');
  const dirRun = await env.child<{ elapsedMs: number; ok: boolean }>('exhibit-verify', { source: bagRoot });
  await rm(path.join(env.workDir, 'verify'), { recursive: true, force: true });
  if (failures.length) throw new Error(`the package did not verify: ${failures[0]}`);
  const exMs = median(ex);
  const osslMs = median(ossl);
  const sumMs = median(sums);
  const exMBs = megabytesPerSecond(pkg.size, exMs);
  const osslMBs = megabytesPerSecond(pkg.size, osslMs);
  const ratio = exMBs / osslMBs;
  return [
    {
      id: 'verify',
      what: `verify a package holding the ${formatBytes(big.bytes)} file (${formatBytes(pkg.size)} zip)`,
      exhibit: `${formatNumber(exMBs)} MB/s (${formatDuration(exMs)}), peak RSS ${formatBytes(Math.max(...exRss) * 1024)}`,
      baseline: `openssl pair ${formatNumber(osslMBs)} MB/s (${formatDuration(osslMs)}); sha256sum -c ${formatDuration(sumMs)}`,
      ratio,
      target: '≥ 0.9× openssl; < sha256sum -c',
      pass: ratio >= 0.9 && exMs < sumMs,
      data: {
        zipBytes: pkg.size,
        reps,
        exhibit: { medianMs: exMs, mbPerS: exMBs, runsMs: ex, maxRssKb: exRss, unzippedBagMs: dirRun.result.elapsedMs },
        opensslPair: { medianMs: osslMs, mbPerS: osslMBs, runsMs: ossl },
        sha256sumCheck: { medianMs: sumMs, runsMs: sums, fasterThanIt: exMs < sumMs },
      },
    },
  ];
}
