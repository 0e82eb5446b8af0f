import type { Job, Worker } from 'bullmq';
import { ERROR_CODES } from '../schemas/errors.js';
import { SealResult } from '../schemas/jobs.js';
import { metrics, setQueueProbe } from '../lib/metrics.js';
import { SEAL_QUEUE } from './queues.js';
import type { Queues } from './queues.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

/** Let the queue gauges read these queues at scrape time (job counts, age of the oldest waiting job). */
export function exposeQueueMetrics(queues: Queues, now: () => number = Date.now): void {
  setQueueProbe({
    depths: async () => {
      const out = [];
      for (const q of [queues.capture, queues.seal]) {
        const counts = await q.getJobCounts(...STATES);
        // Oldest first (asc): the job that has waited longest.
        const [oldest] = await q.getJobs(['waiting', 'prioritized'], 0, 0, true);
        const age = oldest ? Math.max(0, (now() - oldest.timestamp) / 1000) : 0;
        for (const state of STATES) out.push({ queue: q.name, state, jobs: counts[state] ?? 0, oldestWaitingSeconds: state === 'waiting' ? age : null });
      }
      return out;
    },
  });
}

/** The code at the front of a job's failure (`CODE: message`, see workers/queues.ts attemptError). */
function codeOf(err: Error): string {
  const m = /^([A-Z_]+):/.exec(err.message);
  return m && (ERROR_CODES as readonly string[]).includes(m[1]!) ? m[1]! : 'INTERNAL';
}

/** The collector that captured a job's page, when its payload says (seal jobs); else `unknown`. */
function platformOf(job: Job): string {
  const id = (job.data as { output?: { environment?: { collector?: { id?: unknown } } } } | undefined)?.output?.environment?.collector?.id;
  return typeof id === 'string' ? id : 'unknown';
}

/**
 * Job durations of a worker, and how captures ended: a seal job's result (sealed or unsealed), or a
 * capture or seal job that gave up for good (failed).
 */
export function observeWorker(worker: Worker): void {
  const stage = worker.name;
  const duration = (job: Job) => (job.processedOn ? Math.max(0, ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000) : null);
  worker.on('completed', (job: Job, result: unknown) => {
    const s = duration(job);
    if (s !== null) metrics.jobDuration.observe({ stage, outcome: 'completed' }, s);
    if (stage !== SEAL_QUEUE) return;
    const r = SealResult.safeParse(result);
    if (!r.success) return;
    // A page that failed (DNS, HTTP error…) is still sealed with what was observed: its code says so.
    const pageCode = (job.data as { output?: { failure?: { code?: string } | null } }).output?.failure?.code;
    const code = r.data.seal === 'unsealed' ? (r.data.sealFailure?.code ?? 'INTERNAL') : r.data.status === 'failed' ? (pageCode ?? 'INTERNAL') : 'OK';
    metrics.captures.inc({ outcome: r.data.seal, code, platform: platformOf(job) });
  });
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    const s = duration(job);
    if (s !== null) metrics.jobDuration.observe({ stage, outcome: 'failed' }, s);
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) metrics.captures.inc({ outcome: 'failed', code: codeOf(err), platform: platformOf(job) });
  });
}
