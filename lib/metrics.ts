import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of this process: one registry, every metric declared here (names are
 * documented in the README, Operating). Workers and the server expose it on `/metrics`. Labels are
 * closed vocabularies (queue, stage, error code, collector id, TSA URL, store op), never capture
 * ids, URLs of targets or case ids, so series stay few.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'exhibit_process_' });

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

/** What the queue gauges read at scrape time: set by whoever holds the queues (workers/metrics.ts). */
export interface QueueProbe {
  depths(): Promise<Array<{ queue: string; state: string; jobs: number; oldestWaitingSeconds: number | null }>>;
}
let queueProbe: QueueProbe | null = null;
let browsersInUse: (() => number) | null = null;

export function setQueueProbe(probe: QueueProbe | null): void {
  queueProbe = probe;
}
export function setBrowserProbe(probe: (() => number) | null): void {
  browsersInUse = probe;
}

// Both queue gauges are collected in one scrape (prom-client collects metrics concurrently): they
// share one read of the queues, the one in flight.
let inFlight: ReturnType<QueueProbe['depths']> | null = null;
function readDepths(): ReturnType<QueueProbe['depths']> {
  if (!queueProbe) return Promise.resolve([]);
  if (!inFlight) {
    inFlight = queueProbe.depths().catch(() => []);
    void inFlight.finally(() => (inFlight = null));
  }
  return inFlight;
}

export const metrics = {
  queueJobs: new Gauge({
    name: 'exhibit_queue_jobs',
    help: 'Jobs in each queue by state (waiting, active, delayed, prioritized, waiting-children, failed, completed).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const depths = await readDepths();
      this.reset();
      for (const d of depths) this.set({ queue: d.queue, state: d.state }, d.jobs);
    },
  }),
  queueOldestWaiting: new Gauge({
    name: 'exhibit_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in each queue, in seconds (0 when none waits).',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const depths = await readDepths();
      this.reset();
      for (const d of depths) if (d.oldestWaitingSeconds !== null) this.set({ queue: d.queue }, d.oldestWaitingSeconds);
    },
  }),
  jobDuration: new Histogram({
    name: 'exhibit_job_duration_seconds',
    help: 'Time a job of each stage ran (processing start to finish), by outcome (completed, failed).',
    labelNames: ['stage', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  captures: new Counter({
    name: 'exhibit_captures_total',
    help: 'Captures that ended: sealed, unsealed (stored and signed, no timestamp) or failed (the job gave up), by error code (OK when none) and collector.',
    labelNames: ['outcome', 'code', 'platform'] as const,
    registers: [registry],
  }),
  tsaRequest: new Histogram({
    name: 'exhibit_tsa_request_seconds',
    help: 'RFC 3161 requests to each TSA, by outcome (ok, failed).',
    labelNames: ['tsa', 'outcome'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  }),
  tsaFailures: new Counter({
    name: 'exhibit_tsa_failures_total',
    help: 'Failed RFC 3161 requests per TSA, by error code.',
    labelNames: ['tsa', 'code'] as const,
    registers: [registry],
  }),
  storeRequest: new Histogram({
    name: 'exhibit_store_request_seconds',
    help: 'Evidence store operations (put-file, put-bytes, put-record, get, get-bytes, stat, list), by store kind and outcome.',
    labelNames: ['store', 'op', 'outcome'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  }),
  storeErrors: new Counter({
    name: 'exhibit_store_errors_total',
    help: 'Evidence store operations that failed, by error code (NOT_FOUND answers are not errors).',
    labelNames: ['store', 'op', 'code'] as const,
    registers: [registry],
  }),
  browsersInUse: new Gauge({
    name: 'exhibit_browser_contexts_in_use',
    help: 'Browser contexts (captures) open in this process now.',
    registers: [registry],
    collect() {
      this.set(browsersInUse ? browsersInUse() : 0);
    },
  }),
  custodyAppends: new Counter({
    name: 'exhibit_custody_appends_total',
    help: 'Custody events appended (not counting idempotent repeats), by action.',
    labelNames: ['action'] as const,
    registers: [registry],
  }),
};

/** Seconds since `startNs` (process.hrtime.bigint()). */
export const secondsSince = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e9;
