import { Worker } from 'bullmq';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../schemas/config.js';
import type { CustodyLog } from '../evidence/custody.js';
import type { KeyStore } from '../evidence/keys.js';
import { completeHeadTokens } from '../evidence/custody-heal.js';
import type { EvidenceStore } from '../evidence/store.js';
import type { Clock } from '../lib/clock.js';
import type { Redis } from 'ioredis';
import type { RedisTarget } from './redis.js';
import { HEADS_QUEUE, openHeadsQueue, workerLockOptions } from './queues.js';

export interface HeadSigningDeps {
  config: Config;
  redis: Redis;
  custody: CustodyLog;
  keys: KeyStore;
  tsaTrustAnchors: string[];
  logger: Logger;
  /** Where earlier heads without a token get theirs (evidence/custody-heal.ts); both or neither. */
  store?: EvidenceStore;
  clock?: Clock;
}

/** Case ids that have a custody log in Redis (keys `<prefix>:custody:{<caseId>}:head`). */
export async function casesWithCustody(redis: Redis, prefix: string): Promise<string[]> {
  const cases = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:custody:{*}:head`, 'COUNT', 500);
    cursor = next;
    for (const k of keys) {
      const m = /:custody:\{(.+)\}:head$/.exec(k);
      if (m) cases.add(m[1]!);
    }
  } while (cursor !== '0');
  return [...cases].sort();
}

/**
 * Sign and timestamp the head of every case whose log moved since its last signed head, so a later
 * truncation or rewrite of the log is detectable even before anyone packages the case.
 */
export async function signMovedHeads(deps: HeadSigningDeps): Promise<Array<{ caseId: string; seq: number; timestamps: number }>> {
  const signed = [];
  for (const caseId of await casesWithCustody(deps.redis, deps.config.redis.prefix)) {
    const head = await deps.custody.head(caseId);
    if (head.seq === 0) continue;
    const heads = await deps.custody.readHeads(caseId);
    const last = heads[heads.length - 1];
    if (last && last.head.seq >= head.seq && last.tokens.length > 0) continue;
    const done = await deps.custody.signHead(caseId, {
      keys: deps.keys,
      tsas: deps.config.tsa.urls.map((url) => ({ url })),
      timestamp: { trustAnchors: deps.tsaTrustAnchors, timeoutMs: deps.config.tsa.timeoutMs, attempts: deps.config.tsa.attempts },
    });
    if (done.tokens.length && deps.store && deps.clock) {
      await completeHeadTokens(deps.custody, caseId, {
        store: deps.store,
        clock: deps.clock,
        tsas: deps.config.tsa.urls.map((url) => ({ url })),
        timestamp: { trustAnchors: deps.tsaTrustAnchors, timeoutMs: deps.config.tsa.timeoutMs, attempts: deps.config.tsa.attempts },
        logger: deps.logger,
      });
    }
    signed.push({ caseId, seq: done.head.seq, timestamps: done.tokens.length });
  }
  return signed;
}

/** Schedule the signing every `custody.headSigningIntervalMs` and run it on this worker. */
export async function startHeadSigner(target: RedisTarget, deps: HeadSigningDeps): Promise<{ close(): Promise<void> }> {
  const opts = { connection: target.options, prefix: deps.config.redis.prefix };
  const queue = openHeadsQueue(target, deps.config.redis.prefix);
  await queue.upsertJobScheduler('sign-heads', { every: deps.config.custody.headSigningIntervalMs }, { name: 'sign-heads', opts: { removeOnComplete: 100, removeOnFail: 100 } });
  const worker = new Worker(
    HEADS_QUEUE,
    async () => {
      const signed = await signMovedHeads(deps);
      if (signed.length) deps.logger.info({ context: 'custody', signed }, 'custody heads signed');
      return signed;
    },
    { ...opts, concurrency: 1, ...workerLockOptions(deps.config) },
  );
  worker.on('error', (err) => deps.logger.error({ err, context: 'worker' }, 'head signer error'));
  return {
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}
