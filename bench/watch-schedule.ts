/**
 * Benchmark (not a test): schedule N watches (default 10,000, every 15m) on a private redis-server
 * and report Redis memory (INFO memory) and how their next runs spread over the interval.
 *
 *   npx tsx bench/watch-schedule.ts [--count 10000] [--every 15m]
 *
 * Prints a Markdown summary and the figures as JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { configFrom } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { parseInterval } from '../schemas/watch.js';
import { openServices } from '../workers/runtime.js';
import { addWatch, withWatchQueues } from '../workers/watch.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function main(): Promise<void> {
  const count = Number(arg('count', '10000'));
  const everyText = arg('every', '15m');
  const every = parseInterval(everyText);
  if (!every.ok) throw new Error(every.message);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-bench-watch-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  const admin = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 100 });
  admin.on('error', () => undefined);
  try {
    const deadline = Date.now() + 10_000;
    while ((await admin.ping().catch(() => null)) !== 'PONG') {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const config = configFrom({ stateDir: dir, redis: { url: `redis://127.0.0.1:${port}`, prefix: 'bench' }, log: { level: 'warn' } });
    const s = await openServices(config, createLogger('warn'));
    const d = withWatchQueues(s);
    await d.watchQueues.watch.waitUntilReady();
    const before = await usedMemory(admin);
    const started = Date.now();
    const BATCH = 200;
    for (let i = 0; i < count; i += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
          addWatch({ url: `https://t.me/s/channel_${String(i + j).padStart(6, '0')}`, caseId: `C-BENCH-${(i + j) % 50}`, every: everyText, createdBy: 'analyst-01' }, d),
        ),
      );
    }
    const addSeconds = (Date.now() - started) / 1000;
    const after = await usedMemory(admin);
    const now = Date.now();
    const schedulers = await d.watchQueues.watch.getJobSchedulers(0, -1);
    const delayed = await d.watchQueues.watch.getDelayedCount();
    const nexts = schedulers.map((x) => x.next ?? 0).filter((n) => n > 0);
    // Spread: next-run times in one-second buckets over the interval.
    const seconds = Math.ceil(every.ms / 1000);
    const buckets = new Array<number>(seconds).fill(0);
    for (const n of nexts) buckets[Math.floor((n % every.ms) / 1000) % seconds]!++;
    const sorted = [...buckets].sort((a, b) => a - b);
    const maxPerSecond = sorted[sorted.length - 1]!;
    const p99PerSecond = sorted[Math.floor(sorted.length * 0.99)]!;
    const emptySeconds = buckets.filter((b) => b === 0).length;
    const minute = new Array<number>(Math.ceil(seconds / 60)).fill(0);
    buckets.forEach((b, i) => (minute[Math.floor(i / 60)]! += b));
    const firstRunWithin = Math.max(...nexts) - now;
    const result = {
      count,
      every: everyText,
      schedulers: schedulers.length,
      delayedJobs: delayed,
      addSeconds,
      addsPerSecond: Math.round(count / addSeconds),
      redisUsedMemoryBytes: { before, after, delta: after - before, perWatch: Math.round((after - before) / count) },
      spread: { meanPerSecond: +(nexts.length / seconds).toFixed(2), maxPerSecond, p99PerSecond, emptySeconds, seconds, maxPerMinute: Math.max(...minute), minPerMinute: Math.min(...minute), lastFirstRunInMs: firstRunWithin },
    };
    const out = (l: string) => process.stdout.write(`${l}\n`);
    out(`| watches | interval | schedulers / delayed jobs | time to add | Redis memory (delta, per watch) | next runs per second: mean / p99 / max | per minute: min / max |`);
    out(`|---:|---|---|---|---|---|---|`);
    out(`| ${count} | ${everyText} | ${schedulers.length} / ${delayed} | ${addSeconds.toFixed(1)} s (${result.addsPerSecond}/s) | ${(result.redisUsedMemoryBytes.delta / 1048576).toFixed(1)} MiB, ${result.redisUsedMemoryBytes.perWatch} B | ${result.spread.meanPerSecond} / ${p99PerSecond} / ${maxPerSecond} | ${result.spread.minPerMinute} / ${result.spread.maxPerMinute} |`);
    out(JSON.stringify(result));
    await d.closeWatchQueues();
    await s.close();
  } finally {
    await admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    admin.disconnect();
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 100),
  (err: unknown) => {
    process.stderr.write(`bench watch-schedule: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
