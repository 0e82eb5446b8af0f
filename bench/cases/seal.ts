/**
 * Sealing one large media file on the local store: sealCapture over a spool holding one random
 * file declared `video/mp4` (both digests while streaming, store write with fsync, ffprobe — which
 * fails on random bytes, and that failure is recorded in the manifest as it would be for any
 * unreadable media), vs `openssl dgst -sha256` then `openssl dgst -sha512` on the same file.
 * Target: ≥ 0.9× the openssl pair's throughput, peak RSS ≤ 200 MB.
 */
import { link, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { newId } from '../../lib/clock.js';
import { configFrom } from '../../lib/config.js';
import { software } from '../../lib/software.js';
import { FsStore } from '../../evidence/fs-store.js';
import { sealCapture } from '../../evidence/seal-capture.js';
import { opensslPair } from '../baselines/tools.js';
import type { ChildIO } from '../lib/child-io.js';
import type { BenchEnv } from '../lib/env.js';
import { spoolFile, syntheticSealPayload, writeRandomFile } from '../lib/fixtures.js';
import { median, megabytesPerSecond } from '../lib/stats.js';
import { formatBytes, formatDuration, formatNumber, type BenchRow } from '../report.js';

const ROW = 'seal';
export const BIG_MEDIA_NAME = 'media/001-clip.mp4';

/** The big random file shared by the seal and verify rows (written once per run). */
export function bigMedia(env: BenchEnv): Promise<{ path: string; bytes: number }> {
  let p = env.shared.get('big-media') as Promise<{ path: string; bytes: number }> | undefined;
  if (!p) {
    const bytes = env.quick ? 256 * 1024 * 1024 : 1024 * 1024 * 1024;
    const file = path.join(env.workDir, 'big-media.mp4');
    env.say(ROW, `writing ${formatBytes(bytes)} of random bytes to ${file}`);
    p = writeRandomFile(file, bytes).then(() => ({ path: file, bytes }));
    env.shared.set('big-media', p);
  }
  return p;
}

/** A spool directory holding the big file (hard-linked: same bytes, no copy). */
export async function bigSpool(env: BenchEnv, name: string): Promise<string> {
  const big = await bigMedia(env);
  const spool = path.join(env.workDir, name);
  await rm(spool, { recursive: true, force: true });
  await mkdir(path.join(spool, 'media'), { recursive: true });
  await link(big.path, path.join(spool, BIG_MEDIA_NAME));
  return spool;
}

export interface ExhibitSealParams {
  spoolDir: string;
  storeRoot: string;
  caseId: string;
  url: string;
}

/** Child task: one sealCapture of the spool into a fresh local store; the seal alone is timed. */
export async function exhibitSeal(p: ExhibitSealParams, io: ChildIO): Promise<{ elapsedMs: number; sha256: string; sha512: string; size: number; enrichment: unknown }> {
  const store = await FsStore.open(p.storeRoot);
  const payload = syntheticSealPayload({ captureId: newId(), caseId: p.caseId, url: p.url, spoolDir: p.spoolDir, files: [spoolFile(BIG_MEDIA_NAME, 'media', 'video/mp4', `${p.url}/clip.mp4`)] });
  const config = configFrom({});
  io.mark('start');
  const t0 = performance.now();
  const out = await sealCapture(payload, { store, clock: { now: () => new Date() }, logger: pino({ level: 'silent' }), config, software: software(), hostname: os.hostname() });
  const elapsedMs = performance.now() - t0;
  io.mark('end');
  const a = out.manifest.artifacts.find((x) => x.name === BIG_MEDIA_NAME);
  if (!a) throw new Error('the sealed manifest does not list the media file');
  return { elapsedMs, sha256: a.sha256, sha512: a.sha512, size: a.size, enrichment: out.manifest.enrichment };
}

export async function runSealRow(env: BenchEnv): Promise<BenchRow[]> {
  const big = await bigMedia(env);
  const reps = env.quick ? 1 : 3;
  const spool = await bigSpool(env, 'seal-spool');
  const ex: Array<{ elapsedMs: number; maxRssKb: number; windowPeakRssKb: number | null }> = [];
  const base: Array<Awaited<ReturnType<typeof opensslPair>>> = [];
  let digests: { sha256: string; sha512: string; enrichment: unknown } | null = null;
  for (let i = 0; i < reps; i++) {
    env.say(ROW, `openssl dgst -sha256 + -sha512 of ${formatBytes(big.bytes)} ${i + 1}/${reps}`);
    base.push(await opensslPair(big.path));
    env.say(ROW, `Exhibit sealCapture of ${formatBytes(big.bytes)} ${i + 1}/${reps}`);
    const storeRoot = path.join(env.workDir, `seal-store-${i}`);
    try {
      const r = await env.child<{ elapsedMs: number; sha256: string; sha512: string; enrichment: unknown }>('exhibit-seal', { spoolDir: spool, storeRoot, caseId: 'BENCH-SEAL', url: env.site.url } satisfies ExhibitSealParams, { sampleMemory: true });
      ex.push({ elapsedMs: r.result.elapsedMs, maxRssKb: r.maxRssKb, windowPeakRssKb: r.memory?.peakRssKb ?? null });
      digests = r.result;
    } finally {
      await rm(storeRoot, { recursive: true, force: true });
    }
  }
  await rm(spool, { recursive: true, force: true });
  // Our digests must be openssl's: a fast wrong answer is no answer.
  if (!digests) throw new Error('no seal result');
  const agree = digests.sha256 === `sha256:${base[0]!.sha256}` && digests.sha512 === `sha512:${base[0]!.sha512}`;
  if (!agree) throw new Error(`Exhibit's digests differ from openssl's: ${digests.sha256} vs sha256:${base[0]!.sha256}`);
  const exMs = median(ex.map((r) => r.elapsedMs));
  const baseMs = median(base.map((r) => r.elapsedMs));
  const exMBs = megabytesPerSecond(big.bytes, exMs);
  const baseMBs = megabytesPerSecond(big.bytes, baseMs);
  const peakRssKb = Math.max(...ex.map((r) => r.maxRssKb));
  const ratio = exMBs / baseMBs;
  const rssOk = peakRssKb * 1024 <= 200 * 1e6;
  env.shared.set('seal-baseline', Promise.resolve({ bytes: big.bytes, opensslMs: baseMs }));
  return [
    {
      id: 'seal',
      what: `seal a ${formatBytes(big.bytes)} media file (local store)`,
      exhibit: `${formatNumber(exMBs)} MB/s (${formatDuration(exMs)}), peak RSS ${formatBytes(peakRssKb * 1024)}`,
      baseline: `${formatNumber(baseMBs)} MB/s (${formatDuration(baseMs)}) openssl sha256 + sha512`,
      ratio,
      target: '≥ 0.9×, RSS ≤ 200 MB',
      pass: ratio >= 0.9 && rssOk,
      data: {
        bytes: big.bytes,
        reps,
        exhibit: { medianMs: exMs, mbPerS: exMBs, runs: ex, peakRssKb },
        baseline: { medianMs: baseMs, mbPerS: baseMBs, runs: base.map(({ sha256: _a, sha512: _b, ...r }) => r) },
        enrichment: digests.enrichment,
        digestsAgreeWithOpenssl: agree,
      },
    },
  ];
}
