/**
 * Prometheus metrics scraped during real runs: the server's `/metrics` while in-process workers
 * capture and seal (MinIO, Redis, Chromium, OpenSSL TSA), and `exhibit worker --metrics-port` as its
 * own process. Counters must move by what the run did; readiness must say when Redis is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { systemClock } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/logger.js';
import { timestampDigest } from '../../../evidence/timestamp.js';
import { createApi } from '../../../app/api/server.js';
import { waitForFinal } from '../../../workers/job-state.js';
import { openServices, startWorkers, type Services } from '../../../workers/runtime.js';
import { submitCaptures } from '../../../workers/submit.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { ROOT } from '../../support/cli.js';
import { freePort } from '../../support/services.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

/** Sum of the samples of `name` whose labels include `labels` (Prometheus text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) {
      sum += Number(m[3]);
      seen = true;
    }
  }
  if (!seen) throw new Error(`no sample ${name}${JSON.stringify(labels)} in:\n${text.split('\n').filter((l) => l.startsWith(name)).join('\n')}`);
  return sum;
}

describe('Prometheus metrics during a real run', () => {
  let site: SampleSite;
  let tsa: LocalTsa;
  let stateDir: string;
  const minio = inject('minio');

  function rawConfig(prefix: string): Record<string, unknown> {
    return {
      stateDir,
      redis: { url: inject('redisUrl'), prefix },
      store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: `m-${prefix}`, retentionDays: 1 } },
      tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
      capture: { concurrency: 2, attempts: 2, navigationTimeoutMs: 8_000, settleTimeoutMs: 5_000, timeoutMs: 30_000, allowPrivateNetwork: true },
      log: { level: 'warn' },
    };
  }

  async function submit(s: Services, caseId: string, urls: string[]): Promise<string[]> {
    const outcomes = await submitCaptures(urls.map((url) => ({ url, caseId, requestedBy: 'analyst-01', options: { allowPrivateNetwork: true } })), s);
    return outcomes.map((o) => {
      if (!o.ok) throw new Error(`rejected: ${JSON.stringify(o)}`);
      return o.captureId;
    });
  }

  beforeAll(async () => {
    site = await startSampleSite();
    tsa = await startLocalTsa();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-metrics-'));
  });
  afterAll(async () => {
    await site?.close();
    await tsa?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('the server: /metrics counters move by what captures, seals, the TSA, the store and the custody log did; /healthz, /readyz', async () => {
    const s = await openServices(configFrom(rawConfig(`m${randomUUID().slice(0, 8)}`)), createLogger('warn'));
    const api = createApi(s, { queueDashboard: false });
    const scrape = async () => {
      const res = await api.app.request('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    try {
      expect((await api.app.request('/healthz')).status).toBe(200);
      const ready = await api.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, redis: 'ok', store: 'ok' });

      const before = await scrape();
      const caseId = `C-MET-${randomUUID().slice(0, 6)}`;
      const ids = await submit(s, caseId, [1, 2].map((n) => `${site.url}/post/1?n=${n}`));
      // Queued, no worker yet: the capture queue shows them waiting, with an age.
      const queued = await scrape();
      expect(sample(queued, 'exhibit_queue_jobs', { queue: 'capture', state: 'waiting' })).toBe(2);
      expect(sample(queued, 'exhibit_queue_oldest_waiting_seconds', { queue: 'capture' })).toBeGreaterThanOrEqual(0);
      const workers = await startWorkers(s, { capture: true, seal: true, watch: false });
      try {
        for (const id of ids) expect((await waitForFinal(s, id, { timeoutMs: 120_000 })).state).toBe('sealed');
      } finally {
        await workers.close();
      }
      const after = await scrape();
      const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sampleOr0(before, name, labels);
      expect(moved('exhibit_captures_total', { outcome: 'sealed', code: 'OK', platform: 'generic' })).toBe(2);
      expect(moved('exhibit_job_duration_seconds_count', { stage: 'capture', outcome: 'completed' })).toBe(2);
      expect(moved('exhibit_job_duration_seconds_count', { stage: 'seal', outcome: 'completed' })).toBe(2);
      expect(moved('exhibit_tsa_request_seconds_count', { tsa: tsa.url, outcome: 'ok' })).toBeGreaterThanOrEqual(2);
      expect(moved('exhibit_store_request_seconds_count', { store: 's3', op: 'put-file', outcome: 'ok' })).toBeGreaterThan(0);
      expect(moved('exhibit_store_request_seconds_count', { store: 's3', op: 'put-record' })).toBeGreaterThan(0);
      expect(moved('exhibit_custody_appends_total', { action: 'capture-finished' })).toBe(2);
      expect(moved('exhibit_custody_appends_total', { action: 'timestamped' })).toBe(2);
      expect(sample(after, 'exhibit_queue_jobs', { queue: 'seal', state: 'completed' })).toBe(2);
      expect(sample(after, 'exhibit_queue_jobs', { queue: 'capture', state: 'waiting' })).toBe(0);
      expect(sample(after, 'exhibit_browser_contexts_in_use')).toBe(0);

      // Failure paths: a TSA that does not answer, a store read that fails.
      const deadTsa = `http://127.0.0.1:${await freePort()}/tsa`;
      const out = await timestampDigest(`sha256:${'ab'.repeat(32)}`, [{ url: deadTsa }], { clock: systemClock, trustAnchors: [], attempts: 1, timeoutMs: 3_000 });
      expect(out.failures).toHaveLength(1);
      await expect(s.store.getBytes('cases/../escape')).rejects.toThrow();
      const failed = await scrape();
      expect(sample(failed, 'exhibit_tsa_failures_total', { tsa: deadTsa, code: 'TIMESTAMP_FAILED' })).toBe(1);
      expect(sample(failed, 'exhibit_tsa_request_seconds_count', { tsa: deadTsa, outcome: 'failed' })).toBe(1);
      expect(sample(failed, 'exhibit_store_errors_total', { store: 's3', op: 'get-bytes', code: 'INVALID_INPUT' })).toBeGreaterThanOrEqual(1);

      // Redis gone: not ready, and it says which part.
      s.redis.disconnect();
      const notReady = await api.app.request('/readyz');
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ ready: false, redis: expect.stringContaining('unreachable'), store: 'ok' });
      expect((await api.app.request('/healthz')).status).toBe(200);
    } finally {
      await api.close();
      await s.close();
    }
  }, 240_000);

  it('`exhibit worker --metrics-port`: the worker process serves /metrics, /healthz and /readyz, and its counters move', async () => {
    const prefix = `w${randomUUID().slice(0, 8)}`;
    const raw = rawConfig(prefix);
    const file = path.join(stateDir, `${prefix}.yaml`);
    writeFileSync(file, JSON.stringify(raw));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(path.join(ROOT, 'exhibit'), ['-c', file, 'worker', '--metrics-port', String(port)], { cwd: ROOT, env: { ...process.env, EXHIBIT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const s = await openServices(configFrom(raw), createLogger('warn'));
    try {
      let ready = false;
      for (let i = 0; i < 600 && !ready && child.exitCode === null; i++) {
        ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, stderr).toBe(true);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const [id] = await submit(s, `C-MW-${randomUUID().slice(0, 6)}`, [`${site.url}/post/1?w=1`]);
      expect((await waitForFinal(s, id!, { timeoutMs: 120_000 })).state).toBe('sealed');
      const text = await (await fetch(`${base}/metrics`)).text();
      // A fresh process: its counters are this run's alone.
      expect(sample(text, 'exhibit_captures_total', { outcome: 'sealed', platform: 'generic' })).toBe(1);
      expect(sample(text, 'exhibit_job_duration_seconds_count', { stage: 'seal' })).toBe(1);
      expect(sample(text, 'exhibit_custody_appends_total', { action: 'manifest-signed' })).toBe(1);
      // One token over the manifest, one over the capture's WACZ digest (datapackage-digest.json).
      expect(sample(text, 'exhibit_tsa_request_seconds_count', { tsa: tsa.url, outcome: 'ok' })).toBe(2);
      expect(sample(text, 'exhibit_store_request_seconds_count', { store: 's3' })).toBeGreaterThan(0);
      expect(sample(text, 'exhibit_queue_jobs', { queue: 'seal', state: 'completed' })).toBe(1);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
    } finally {
      await s.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 240_000);
});

function sampleOr0(text: string, name: string, labels: Record<string, string>): number {
  try {
    return sample(text, name, labels);
  } catch {
    return 0;
  }
}
