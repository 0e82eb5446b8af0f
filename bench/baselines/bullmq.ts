/** The queueing baseline: BullMQ `addBulk` of no-op jobs, nothing of Exhibit around it. */
import { Queue } from 'bullmq';
import type { ChildIO } from '../lib/child-io.js';

export async function bareAddBulk(p: { redisUrl: string; prefix: string; n: number }, io: ChildIO): Promise<{ elapsedMs: number; waiting: number }> {
  const u = new URL(p.redisUrl);
  const queue = new Queue('noop', { connection: { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null }, prefix: p.prefix });
  try {
    await queue.waitUntilReady();
    const jobs = Array.from({ length: p.n }, (_, i) => ({ name: 'noop', data: { i } }));
    io.mark('start');
    const t0 = performance.now();
    await queue.addBulk(jobs);
    const elapsedMs = performance.now() - t0;
    io.mark('end');
    return { elapsedMs, waiting: await queue.getWaitingCount() };
  } finally {
    await queue.close();
  }
}
