import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import type { Config } from '../../../schemas/config.js';
import { SealPayload } from '../../../schemas/jobs.js';
import { verifyChain } from '../../../evidence/custody.js';
import { captureStatus, waitForFinal } from '../../../workers/job-state.js';
import { sealJobId } from '../../../workers/queues.js';
import { openServices, startWorkers, type Services } from '../../../workers/runtime.js';
import { submitCaptures } from '../../../workers/submit.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { startMinio, startRedis } from '../../support/services.js';
import { exhibit as runExhibit, type CliRun } from '../../support/cli.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

const REQUEST_TIMEOUT_MS = 1_500;

/** The CLI on a config file; a run that does not end within `timeoutMs` fails the test. */
const exhibit = (args: string[], configFile: string, timeoutMs = 90_000): Promise<CliRun> => runExhibit(['-c', configFile, ...args], { EXHIBIT_LOG_LEVEL: 'warn' }, { timeoutMs });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The evidence store frozen or down under a running pipeline: a MinIO of this test's own (a separate
 * process it can SIGSTOP, kill and start again on the same data), real Redis, Chromium and TSA.
 */
describe('evidence store outages (own MinIO process)', () => {
  let minio: Awaited<ReturnType<typeof startMinio>>;
  let minioDir: string;
  let site: SampleSite;
  let tsa: LocalTsa;
  let stateDir: string;
  const bin = process.env.EXHIBIT_MINIO_BIN!;

  function configWith(over: { budgetMs: number; prefix: string }): { config: Config; file: string } {
    const raw = {
      stateDir,
      redis: { url: inject('redisUrl'), prefix: over.prefix },
      store: { kind: 's3', s3: { endPoint: '127.0.0.1', port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'outage', retentionDays: 1, requestTimeoutMs: REQUEST_TIMEOUT_MS } },
      tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
      capture: { concurrency: 2, attempts: 2, navigationTimeoutMs: 8_000, settleTimeoutMs: 5_000, timeoutMs: 30_000, allowPrivateNetwork: true },
      queue: { retryBudgetMs: over.budgetMs, retryBackoffMs: 300, retryMaxBackoffMs: 2_000 },
      log: { level: 'warn' },
    };
    const file = path.join(stateDir, `${over.prefix}.yaml`);
    writeFileSync(file, JSON.stringify(raw));
    return { config: configFrom(raw), file };
  }

  async function restartMinio(): Promise<void> {
    minio = await startMinio(bin, { dir: minioDir, port: minio.port });
  }

  async function submit(s: Services, caseId: string, urls: string[]): Promise<string[]> {
    const outcomes = await submitCaptures(urls.map((url) => ({ url, caseId, requestedBy: 'analyst-01', options: { allowPrivateNetwork: true } })), s);
    return outcomes.map((o) => {
      if (!o.ok) throw new Error(`rejected: ${JSON.stringify(o)}`);
      return o.captureId;
    });
  }

  /** The case's custody log as stored: one gap-free, fork-free chain. */
  async function expectChainIntact(s: Services, caseId: string): Promise<Array<{ action: string; captureId?: string }>> {
    await s.custody.sync(caseId);
    const events = await s.custody.readLog(caseId);
    expect(verifyChain(caseId, events.map((e) => e.bytes))).toEqual([]);
    expect(events.map((e) => e.event.seq)).toEqual(events.map((_, i) => i + 1));
    return events.map((e) => ({ action: e.event.action, captureId: e.event.subject.captureId }));
  }

  beforeAll(async () => {
    minioDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-outage-minio-'));
    minio = await startMinio(bin, { dir: minioDir });
    site = await startSampleSite();
    tsa = await startLocalTsa();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-outage-'));
  });

  afterAll(async () => {
    if (minio?.child.exitCode === null) minio.child.kill('SIGCONT');
    await minio?.stop();
    await site?.close();
    await tsa?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    if (minioDir) rmSync(minioDir, { recursive: true, force: true });
  });

  it('a frozen MinIO makes `status` and `show` fail fast with exit 9 naming the store, instead of hanging', async () => {
    const { config, file } = configWith({ budgetMs: 60_000, prefix: `f${randomUUID().slice(0, 8)}` });
    const caseId = `C-FRZ-${randomUUID().slice(0, 6)}`;
    const s = await openServices(config, createLogger('warn'));
    const workers = await startWorkers(s, { capture: true, seal: true, watch: false });
    let id: string;
    try {
      [id] = (await submit(s, caseId, [`${site.url}/post/1`])) as [string];
      expect((await waitForFinal(s, id, { timeoutMs: 90_000 })).state).toBe('sealed');
    } finally {
      await workers.close();
      await s.close();
    }
    minio.child.kill('SIGSTOP');
    try {
      for (const args of [['status', id], ['show', id, '--case', caseId]]) {
        const r = await exhibit(args, file);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(9);
        expect(r.stderr).toContain('STORE_ERROR');
        expect(r.stderr).toContain(`127.0.0.1:${minio.port}`);
        expect(r.stderr).toContain(`did not answer within ${REQUEST_TIMEOUT_MS} ms`);
      }
    } finally {
      minio.child.kill('SIGCONT');
    }
    const again = await exhibit(['status', id], file);
    expect(again.code, again.stderr).toBe(0);
  }, 240_000);

  it('captures and seals ride out MinIO being down for ~35 s and all end sealed once, with an intact custody chain', async () => {
    const { config } = configWith({ budgetMs: 150_000, prefix: `o${randomUUID().slice(0, 8)}` });
    const caseId = `C-OUT-${randomUUID().slice(0, 6)}`;
    const s = await openServices(config, createLogger('warn'));
    try {
      const ids = await submit(s, caseId, [1, 2, 3, 4].map((n) => `${site.url}/post/1?n=${n}`));
      await minio.stop();
      const workers = await startWorkers(s, { capture: true, seal: true, watch: false });
      try {
        await sleep(35_000);
        // Nothing could be stored meanwhile, and nothing gave up.
        for (const id of ids) expect(['queued', 'capturing', 'sealing']).toContain((await captureStatus(s, id)).state);
        await restartMinio();
        for (const id of ids) {
          const st = await waitForFinal(s, id, { timeoutMs: 150_000 });
          expect(st.state, JSON.stringify(st.failure)).toBe('sealed');
        }
      } finally {
        await workers.close();
      }
      const events = await expectChainIntact(s, caseId);
      for (const id of ids) {
        expect(events.filter((e) => e.captureId === id && e.action === 'capture-finished')).toHaveLength(1);
        expect(events.filter((e) => e.captureId === id && e.action === 'manifest-signed')).toHaveLength(1);
      }
    } finally {
      await s.close();
    }
  }, 300_000);

  it('a seal that failed with the store down keeps the failure code and what was captured; `exhibit reseal` seals it', async () => {
    // No retry budget: the first outage failure is final, as after a longer outage.
    const { config, file } = configWith({ budgetMs: 0, prefix: `r${randomUUID().slice(0, 8)}` });
    const caseId = `C-RES-${randomUUID().slice(0, 6)}`;
    const s = await openServices(config, createLogger('warn'));
    try {
      const [id] = (await submit(s, caseId, [`${site.url}/post/1`])) as [string];
      // Capture with the store up, then take the store away before the seal stage runs.
      const capturing = await startWorkers(s, { capture: true, seal: false, watch: false });
      try {
        for (let i = 0; i < 600 && !(await s.queues.seal.getJob(sealJobId(id))); i++) await sleep(100);
      } finally {
        await capturing.close();
      }
      const job = await s.queues.seal.getJob(sealJobId(id));
      expect(job).toBeTruthy();
      const spoolDir = SealPayload.parse(job!.data).spoolDir;
      await minio.stop();
      const sealing = await startWorkers(s, { capture: false, seal: true, watch: false });
      let failed;
      try {
        failed = await waitForFinal(s, id, { timeoutMs: 60_000 });
      } finally {
        await sealing.close();
      }
      expect(failed.state).toBe('failed');
      // The code survived BullMQ (it used to come back as INTERNAL).
      expect(failed.failure).toMatchObject({ code: 'STORE_ERROR', kind: 'transient' });
      expect(existsSync(spoolDir)).toBe(true);
      const down = await exhibit(['status', id], file);
      expect(down.code, down.stderr).toBe(9);

      await restartMinio();
      const failedStatus = await exhibit(['status', id], file);
      expect(failedStatus.code, failedStatus.stderr).toBe(9);
      expect(failedStatus.stdout).toContain('STORE_ERROR');
      const r = await exhibit(['reseal', id, '--wait', '--json'], file, 150_000);
      expect(r.code, r.stderr).toBe(0);
      const [st] = JSON.parse(r.stdout) as Array<{ state: string; result: { status: string } }>;
      expect(st).toMatchObject({ state: 'sealed', result: { status: 'captured' } });
      expect(existsSync(spoolDir)).toBe(false);
      const again = await exhibit(['reseal', id], file);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('nothing to reseal');
      const events = await expectChainIntact(s, caseId);
      expect(events.filter((e) => e.captureId === id && e.action === 'capture-finished')).toHaveLength(1);
      expect(events.filter((e) => e.captureId === id && e.action === 'seal-failed').length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  }, 300_000);

  it('a frozen Redis makes `status` fail with exit 9 naming Redis, instead of hanging', async () => {
    const redis = await startRedis();
    const file = path.join(stateDir, 'frozen-redis.yaml');
    writeFileSync(file, JSON.stringify({ stateDir, redis: { url: redis.url, prefix: 'frozen', commandTimeoutMs: 1_000 }, store: { kind: 'fs' }, log: { level: 'warn' } }));
    redis.child.kill('SIGSTOP');
    try {
      const r = await exhibit(['status', randomUUID()], file, 60_000);
      expect(r.code, r.stderr).toBe(9);
      expect(r.stderr).toContain(`UNAVAILABLE: Redis at redis://127.0.0.1:${redis.port} did not answer`);
    } finally {
      redis.child.kill('SIGCONT');
      await redis.stop();
    }
  }, 120_000);
});
