import { readFile } from 'node:fs/promises';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { BrowserPool } from '../collectors/collector.js';
import { newId, systemClock, type Clock, type IdGenerator } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { childLogger, type Logger } from '../lib/logger.js';
import { setBrowserProbe } from '../lib/metrics.js';
import { software, type Software } from '../lib/software.js';
import type { Config } from '../schemas/config.js';
import { CustodyLog } from '../evidence/custody.js';
import { KeyStore } from '../evidence/keys.js';
import { MeteredStore } from '../evidence/metered-store.js';
import { openStore } from '../evidence/open-store.js';
import type { EvidenceStore } from '../evidence/store.js';
import { startCaptureWorker } from './capture.js';
import { openQueues } from './queues.js';
import { connect, resolveRedis } from './redis.js';
import { startHeadSigner } from './heads.js';
import { startSealWorker } from './seal.js';
import { startWatchWorkers } from './watch.js';
import { exposeQueueMetrics, observeWorker } from './metrics.js';
import type { Services } from './services.js';
import { submitCaptures } from './submit.js';

export type { Services } from './services.js';

async function readTrustAnchors(files: string[]): Promise<string[]> {
  return Promise.all(
    files.map(async (f) => {
      try {
        return await readFile(f, 'utf8');
      } catch (cause) {
        throw new ConfigError(`tsa.caFiles: cannot read ${f}: ${(cause as Error).message}`, { cause });
      }
    }),
  );
}

export async function openServices(config: Config, logger: Logger, overrides: { clock?: Clock; newId?: IdGenerator } = {}): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const ids = overrides.newId ?? newId;
  const tsaTrustAnchors = await readTrustAnchors(config.tsa.caFiles);
  const store = new MeteredStore(await openStore(config.store, { logger: childLogger(logger, 'store') }));
  const redisTarget = await resolveRedis(config);
  const redis = connect(redisTarget, config.redis.commandTimeoutMs);
  redis.on('error', (err) => logger.warn({ context: 'redis', err: err.message }, 'redis connection error'));
  const queues = openQueues(redisTarget, config);
  const custody = new CustodyLog({ redis, store, clock, newId: ids, logger: childLogger(logger, 'custody'), prefix: config.redis.prefix });
  const keys = new KeyStore(config.keys.dir);
  const findings = custodyLogFindings(store, custody, logger);
  return {
    config,
    logger,
    clock,
    newId: ids,
    software: software(),
    store,
    redisTarget,
    redis,
    queues,
    custody,
    keys,
    tsaTrustAnchors,
    close: async () => {
      await findings.settled();
      await queues.close();
      redis.disconnect();
      await store.close?.();
    },
  };
}

const STORE_AUDITOR = { type: 'service' as const, id: 'exhibit-store', role: 'store-audit' };

/**
 * Put each store finding (something written over sealed evidence) on the custody log of the case
 * the object belongs to, once: the idempotency key names the object and what lies over it, so many
 * reads and many processes add one event. Blob keys (`sha256/…`) are shared between cases and name
 * none; those findings go to the operational log only.
 */
function custodyLogFindings(store: EvidenceStore, custody: CustodyLog, logger: Logger): { settled(): Promise<void> } {
  const pending = new Set<Promise<void>>();
  store.onFinding = (f) => {
    const caseId = /^cases\/([^/]+)\//.exec(f.key)?.[1];
    if (!caseId) return;
    const captureId = /^cases\/[^/]+\/captures\/([^/]+)\//.exec(f.key)?.[1];
    const p = custody
      .append({
        caseId,
        actor: STORE_AUDITOR,
        action: 'store-tampered',
        subject: captureId ? { captureId } : {},
        details: {
          code: 'STORE_CONFLICT',
          kind: 'integrity',
          key: f.key,
          sealedVersionId: f.sealedVersionId,
          above: f.above,
          message: `${f.key}: ${f.above.map((a) => (a.deleteMarker ? `delete marker ${a.versionId}` : `newer version ${a.versionId}`)).join(', ')} over the sealed version ${f.sealedVersionId}; the sealed version is served`,
        },
        idempotencyKey: `store-tampered:${f.key}:${f.above.map((a) => a.versionId).join(',')}`,
      })
      .then(
        () => undefined,
        (err: unknown) => logger.error({ context: 'custody', key: f.key, err: (err as Error).message }, 'could not record a store finding on the custody log'),
      );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  return { settled: async () => void (await Promise.all(pending)) };
}

export interface RunningWorkers {
  workers: Worker[];
  browsers: BrowserPool | null;
  /** Finish running jobs, then stop. */
  close(): Promise<void>;
}

/** Start the capture and/or seal workers (and, with capture unless `watch: false`, the watch workers) in this process. */
export async function startWorkers(s: Services, which: { capture: boolean; seal: boolean; watch?: boolean } = { capture: true, seal: true, watch: true }): Promise<RunningWorkers> {
  const workers: Worker[] = [];
  let browsers: BrowserPool | null = null;
  if (which.capture) {
    browsers = BrowserPool.fromConfig(s.config.capture, childLogger(s.logger, 'browser'));
    workers.push(
      startCaptureWorker(s.redisTarget, s.queues, {
        config: s.config,
        logger: childLogger(s.logger, 'worker'),
        clock: s.clock,
        browsers,
        software: s.software,
        custody: s.custody,
        submit: (requests) => submitCaptures(requests, s),
      }),
    );
  }
  if (which.seal) {
    workers.push(
      startSealWorker(s.redisTarget, {
        config: s.config,
        logger: childLogger(s.logger, 'seal'),
        clock: s.clock,
        store: s.store,
        keys: s.keys,
        custody: s.custody,
        software: s.software,
        tsaTrustAnchors: s.tsaTrustAnchors,
      }),
    );
  }
  // Whoever seals also signs custody heads periodically (one scheduler in Redis, however many workers).
  const heads = which.seal
    ? await startHeadSigner(s.redisTarget, { config: s.config, redis: s.redis, custody: s.custody, keys: s.keys, tsaTrustAnchors: s.tsaTrustAnchors, logger: childLogger(s.logger, 'custody'), store: s.store, clock: s.clock })
    : null;
  // Watch runs (schedules in Redis) and their webhook deliveries; on by default wherever captures run.
  const watch = (which.watch ?? which.capture) ? await startWatchWorkers(s, childLogger(s.logger, 'worker', { stage: 'watch' })) : null;
  for (const w of workers) observeWorker(w);
  exposeQueueMetrics(s.queues);
  const pool = browsers;
  setBrowserProbe(pool ? () => pool.activeContexts() : null);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    workers,
    browsers,
    close: async () => {
      await watch?.close();
      await heads?.close();
      await Promise.all(workers.map((w) => w.close()));
      await browsers?.close();
    },
  };
}
