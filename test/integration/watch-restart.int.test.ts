import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { openServices, type Services } from '../../workers/runtime.js';
import { addWatch, listWatches, startWatchWorkers, withWatchQueues, type RunningWatchWorkers } from '../../workers/watch.js';
import { startRedis, type RunningService } from '../support/services.js';

/**
 * Watch schedules live in Redis (BullMQ job schedulers): they survive a worker restart and a Redis
 * restart (AOF). A private redis-server is started, shut down with SHUTDOWN and started again on the
 * same data directory and port. The run itself is replaced by a recorder (no Chromium needed here).
 */
describe('watch schedules survive worker and Redis restarts (private Redis with AOF)', () => {
  const dirs: string[] = [];
  let redis: (RunningService & { port: number; dir: string }) | null = null;
  const open: Array<{ s: Services; w: RunningWatchWorkers }> = [];

  afterAll(async () => {
    for (const o of open.splice(0)) {
      await o.w.close().catch(() => undefined);
      await o.s.close().catch(() => undefined);
    }
    await redis?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a scheduled run fires after both restarts, on the schedule set before them', async () => {
    const redisDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-watch-redis-'));
    dirs.push(redisDir);
    redis = await startRedis({ dir: redisDir });
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-watch-state-'));
    dirs.push(stateDir);
    const config = configFrom({ stateDir, redis: { url: redis.url, prefix: `r${randomUUID().slice(0, 8)}` }, log: { level: 'warn' } });
    const ran: Array<{ watchId: string; at: number }> = [];
    const start = async () => {
      const s = await openServices(config, createLogger('warn'));
      const w = await startWatchWorkers(s, createLogger('warn'), { run: async (watchId) => void ran.push({ watchId, at: Date.now() }) });
      open.push({ s, w });
      return s;
    };
    const stopAll = async () => {
      for (const o of open.splice(0)) {
        await o.w.close();
        await o.s.close();
      }
    };

    let s = await start();
    let d = withWatchQueues(s);
    // Place the next run ~12 s from now (the offset inside the 1-minute interval); the jitter is tested elsewhere.
    const every = 60_000;
    const fireAt = Date.now() + 12_000;
    const watch = await addWatch({ url: 'https://t.me/s/somechannel', caseId: 'C-RESTART-1', every: '1m', createdBy: 'analyst-01' }, d, { offset: fireAt % every || 1 });
    const before = await d.watchQueues.watch.getJobScheduler(watch.id);
    expect(before?.every).toBe(every);
    expect(Math.abs(before!.next! - fireAt)).toBeLessThan(1000);
    await d.closeWatchQueues();

    // Worker restart.
    await stopAll();
    s = await start();
    d = withWatchQueues(s);
    expect((await d.watchQueues.watch.getJobScheduler(watch.id))?.next).toBe(before!.next);
    await d.closeWatchQueues();
    await stopAll();

    // Redis restart: SHUTDOWN writes the AOF; start again on the same dir and port.
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    await admin.call('SHUTDOWN').catch(() => undefined);
    admin.disconnect();
    await redis.stop();
    const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
    redis = await startRedis({ dir: redisDir, port: redis.port });
    expect(ran).toEqual([]);

    s = await start();
    d = withWatchQueues(s);
    const after = await d.watchQueues.watch.getJobScheduler(watch.id);
    expect(after?.every).toBe(every);
    expect(after?.next).toBe(before!.next);
    expect((await listWatches(d)).map((w) => [w.watch.id, w.watch.state, w.watch.url])).toEqual([[watch.id, 'active', 'https://t.me/s/somechannel']]);

    // The restarted worker runs it when it falls due, and the scheduler moves to the next slot.
    const deadline = Date.now() + 30_000;
    while (ran.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(ran.map((r) => r.watchId)).toEqual([watch.id]);
    expect(ran[0]!.at).toBeGreaterThanOrEqual(before!.next! - 50);
    await new Promise((r) => setTimeout(r, 500));
    expect((await d.watchQueues.watch.getJobScheduler(watch.id))?.next).toBe(before!.next! + every);
    await d.closeWatchQueues();
  });
});
