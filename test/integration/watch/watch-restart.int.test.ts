import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import { openServices, type Services } from '../../../workers/runtime.js';
import { addWatch, listWatches, runWatchNow, startWatchWorkers, withWatchQueues, type RunningWatchWorkers } from '../../../workers/watch.js';
import { startRedis, type RunningService } from '../../support/services.js';

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

  it('runs share a per-platform rate limit across workers: over it, runs wait for the next window', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-watch-rate-'));
    dirs.push(stateDir);
    const config = configFrom({ stateDir, redis: { url: inject('redisUrl'), prefix: `q${randomUUID().slice(0, 8)}` }, watch: { concurrency: 4, platformRate: { max: 2, durationMs: 4000 } }, log: { level: 'warn' } });
    const ran: Array<{ watchId: string; at: number }> = [];
    // Two workers on the same Redis: the limit is shared, not per process.
    const mine: Services[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await openServices(config, createLogger('warn'));
      const w = await startWatchWorkers(s, createLogger('warn'), { run: async (watchId) => void ran.push({ watchId, at: Date.now() }) });
      open.push({ s, w });
      mine.push(s);
    }
    const d = withWatchQueues(mine[0]!);
    const tg = await Promise.all([0, 1, 2, 3, 4].map((i) => addWatch({ url: `https://t.me/s/channel_${i}0000`, caseId: 'C-RATE-1', every: '1h', createdBy: 'analyst-01' }, d)));
    const web = await addWatch({ url: 'https://example.org/page', caseId: 'C-RATE-1', every: '1h', createdBy: 'analyst-01' }, d);
    // Align to the start of a window so the first two Telegram runs share it.
    const dur = 4000;
    await new Promise((r) => setTimeout(r, dur - (Date.now() % dur) + 50));
    const t0 = Date.now();
    for (const w of [...tg, web]) await runWatchNow(d, w.id);
    const deadline = Date.now() + 20_000;
    while (ran.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ran).toHaveLength(6);
    const tgRuns = ran.filter((r) => tg.some((w) => w.id === r.watchId)).map((r) => r.at - t0).sort((a, b) => a - b);
    const webRun = ran.find((r) => r.watchId === web.id)!.at - t0;
    // Another platform is not held back by Telegram's limit.
    expect(webRun).toBeLessThan(2000);
    // Telegram: 2 in the first window, 2 in the second, 1 in the third.
    expect(tgRuns.filter((t) => t < dur - 100)).toHaveLength(2);
    expect(tgRuns.filter((t) => t >= dur - 100 && t < 2 * dur - 100)).toHaveLength(2);
    expect(tgRuns.filter((t) => t >= 2 * dur - 100)).toHaveLength(1);
    expect(new Set(ran.map((r) => r.watchId)).size).toBe(6);
    await d.closeWatchQueues();
  });
});
