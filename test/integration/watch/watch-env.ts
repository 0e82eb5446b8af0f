import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import type { Config } from '../../../schemas/config.js';
import type { WatchRun } from '../../../schemas/watch.js';
import { waitForFinal } from '../../../workers/job-state.js';
import { openServices, startWorkers, type RunningWorkers, type Services } from '../../../workers/runtime.js';
import type { WatchDeps } from '../../../workers/watch.js';
import { createApi, type Api } from '../../../app/api/server.js';
import { startTelegramFixture } from '../../fixtures/telegram/server.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';
import type { HarnessUser } from '../api/harness.js';

/**
 * Watchlists and spreadsheets in the app, on real parts: the Telegram fixture (whose channel can be
 * switched between three states: posts new, edited, deleted), the OpenSSL TSA, Redis and MinIO from
 * the global setup, Chromium through the capture workers, the watch workers, and the API with its
 * users. `cliEnv` points `./exhibit` at the same Redis, bucket, keys and collectors.
 */
export interface WatchEnv {
  site: FixtureSite;
  tsa: LocalTsa;
  s: Services;
  workers: RunningWorkers;
  api: Api;
  /** The API's services with the watch queues. */
  watches: WatchDeps;
  config: Config;
  stateDir: string;
  tokens: Record<string, string>;
  cliEnv: Record<string, string>;
  /** Call the API as a user (bearer token). */
  call(user: string, method: string, url: string, body?: unknown): Promise<Response>;
  /** Wait until the captures of a run's findings are sealed (or failed). */
  settle(run: WatchRun | null): Promise<WatchRun>;
  close(): Promise<void>;
}

export async function startWatchEnv(users: HarnessUser[]): Promise<WatchEnv> {
  const [site, tsa] = await Promise.all([startTelegramFixture(), startLocalTsa()]);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-watchapp-'));
  const minio = inject('minio');
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const bucket = `watch-${randomUUID().slice(0, 12)}`;
  const config = configFrom({
    stateDir,
    redis: { url: inject('redisUrl'), prefix },
    store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket, retentionDays: 1 } },
    tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
    collectors: { telegram: { hosts: [site.host] } },
    capture: { concurrency: 2, attempts: 1, navigationTimeoutMs: 10_000, settleTimeoutMs: 6_000, networkQuietMs: 300, timeoutMs: 45_000, allowPrivateNetwork: true },
    watch: { runTimeoutMs: 120_000, failureThreshold: 2, webhookTimeoutMs: 800, webhookAttempts: 2, webhookBackoffMs: 200 },
    log: { level: 'warn' },
  });
  const s = await openServices(config, createLogger('warn'));
  const workers = await startWorkers(s);
  const api = createApi(s, { progressIntervalMs: 200 });
  const tokens: Record<string, string> = {};
  for (const u of users) {
    await api.deps.users.add(u.name, u.role, u.cases, 'test');
    tokens[u.name] = (await api.deps.users.issueToken(u.name)).token;
  }
  const yaml = path.join(stateDir, 'exhibit.yaml');
  writeFileSync(yaml, `collectors:\n  telegram:\n    hosts: ["${site.host}"]\n`);
  const cliEnv = {
    EXHIBIT_STATE_DIR: stateDir,
    EXHIBIT_CONFIG: yaml,
    EXHIBIT_REDIS_URL: inject('redisUrl'),
    EXHIBIT_REDIS_PREFIX: prefix,
    EXHIBIT_STORE: 's3',
    EXHIBIT_S3_ENDPOINT: minio.endPoint,
    EXHIBIT_S3_PORT: String(minio.port),
    EXHIBIT_S3_ACCESS_KEY: minio.accessKey,
    EXHIBIT_S3_SECRET_KEY: minio.secretKey,
    EXHIBIT_S3_BUCKET: bucket,
    EXHIBIT_S3_RETENTION_DAYS: '1',
    EXHIBIT_TSA_URLS: tsa.url,
    EXHIBIT_TSA_CA_FILES: tsa.caCertPath,
    EXHIBIT_ALLOW_PRIVATE_NETWORK: 'true',
    EXHIBIT_LOG_LEVEL: 'warn',
  };
  const call = (user: string, method: string, url: string, body?: unknown) =>
    Promise.resolve(
      api.app.request(url, {
        method,
        headers: { Authorization: `Bearer ${tokens[user]}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    );
  return {
    site,
    tsa,
    s,
    workers,
    api,
    watches: api.deps.watches,
    config,
    stateDir,
    tokens,
    cliEnv,
    call,
    settle: async (run) => {
      if (!run) throw new Error('the run did not happen (another run held the lock)');
      for (const f of run.findings) if (f.captureId) await waitForFinal(s, f.captureId, { timeoutMs: 120_000 });
      return run;
    },
    close: async () => {
      await api.close();
      await workers.close();
      await s.close();
      await site.close();
      await tsa.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
