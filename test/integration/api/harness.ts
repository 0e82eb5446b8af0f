import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import type { Config } from '../../../schemas/config.js';
import type { Role } from '../../../schemas/api.js';
import { waitForFinal, type CaptureStatus } from '../../../workers/job-state.js';
import { openServices, startWorkers, type RunningWorkers, type Services } from '../../../workers/runtime.js';
import { createApi, type Api } from '../../../app/api/server.js';
import type { ApiOptions } from '../../../app/api/context.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

/**
 * The API on real parts, as the pipeline test sets them up: sample site, OpenSSL TSA, Redis and
 * MinIO from the global setup, Chromium through the capture workers. Private targets are allowed
 * by the server's config (the sample site is on loopback), never by the client.
 */
export interface Harness {
  site: SampleSite;
  tsa: LocalTsa;
  s: Services;
  workers: RunningWorkers;
  api: Api;
  config: Config;
  stateDir: string;
  tokens: Record<string, string>;
  close(): Promise<void>;
  waitFinal(captureId: string, timeoutMs?: number): Promise<CaptureStatus>;
}

export interface HarnessUser {
  name: string;
  role: Role;
  cases: string[];
}

/** `collectors`: per-collector options (e.g. a platform fixture's host), as in the config file. */
export async function startHarness(users: HarnessUser[], apiOptions: ApiOptions = {}, extra: { collectors?: Record<string, Record<string, unknown>> } = {}): Promise<Harness> {
  const site = await startSampleSite();
  const tsa = await startLocalTsa();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-api-'));
  const minio = inject('minio');
  const config = configFrom({
    stateDir,
    redis: { url: inject('redisUrl'), prefix: `t${randomUUID().slice(0, 8)}` },
    store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: `api-${randomUUID().slice(0, 12)}`, retentionDays: 1 } },
    tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
    capture: { concurrency: 2, attempts: 2, navigationTimeoutMs: 8_000, settleTimeoutMs: 8_000, timeoutMs: 40_000, allowPrivateNetwork: true },
    ...(extra.collectors ? { collectors: extra.collectors } : {}),
    log: { level: 'warn' },
  });
  const s = await openServices(config, createLogger('warn'));
  const workers = await startWorkers(s);
  const api = createApi(s, { progressIntervalMs: 200, ...apiOptions });
  const tokens: Record<string, string> = {};
  for (const u of users) {
    await api.deps.users.add(u.name, u.role, u.cases, 'test');
    tokens[u.name] = (await api.deps.users.issueToken(u.name)).token;
  }
  return {
    site,
    tsa,
    s,
    workers,
    api,
    config,
    stateDir,
    tokens,
    waitFinal: (captureId, timeoutMs) => waitForFinal(s, captureId, { timeoutMs }),
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

/** Read a server-sent event stream to its end: `[{event, data}]`. */
export async function readSse(res: Response, limitMs = 150_000): Promise<Array<{ event: string; data: unknown }>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (Date.now() > deadline) {
      await reader.cancel();
      throw new Error(`event stream did not end within ${limitMs} ms: ${text.slice(-500)}`);
    }
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}
