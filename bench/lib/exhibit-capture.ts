/**
 * Exhibit's side of the capture benchmarks, run inside a child process: the real services and
 * workers (openServices + startWorkers, as `exhibit capture --wait` uses them), captures submitted
 * with submitCaptures and awaited until their seal job has finished (signed and timestamped).
 */
import type { QueueEvents } from 'bullmq';
import { configFrom } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import type { Config } from '../../schemas/config.js';
import { captureStatus, isFinal, type CaptureStatus } from '../../workers/job-state.js';
import { openQueueEvents, sealJobId } from '../../workers/queues.js';
import { openServices, startWorkers, type RunningWorkers, type Services } from '../../workers/runtime.js';
import { submitCaptures } from '../../workers/submit.js';

/** How one capture went, with the time spent in each part (from BullMQ's job timestamps). */
export interface CaptureTiming {
  captureId: string;
  /** Submit call → seal job finished, as seen by this process. */
  totalMs: number;
  state: CaptureStatus['state'];
  pageStatus: string | null;
  failure: string | null;
  /** Capture job created → picked up. */
  queuedMs: number | null;
  /** Capture job run time (browser, recording, WARC, media). */
  captureMs: number | null;
  /** Capture job finished → seal job picked up. */
  handoverMs: number | null;
  /** Seal job run time (hash, store, enrich, manifest, custody, sign, timestamp). */
  sealMs: number | null;
}

export interface ExhibitHarness {
  s: Services;
  config: Config;
  workers: RunningWorkers;
  /** Submit captures of `url` (force: a new capture each time) and resolve when every one is final. */
  captureMany(url: string, caseId: string, n: number, onDone?: (done: number) => void): Promise<{ elapsedMs: number; timings: CaptureTiming[] }>;
  close(): Promise<void>;
}

/** Resolves per capture id when its seal job completes or it reaches a final failure. */
class FinalWaiter {
  private readonly waiting = new Map<string, (st: CaptureStatus) => void>();
  private readonly early = new Set<string>();
  private poll: NodeJS.Timeout;

  constructor(
    private readonly s: Services,
    private readonly sealEvents: QueueEvents,
    private readonly captureEvents: QueueEvents,
  ) {
    const fromSealJob = (jobId: string) => (jobId.startsWith('seal-') ? jobId.slice(5) : null);
    this.sealEvents.on('completed', ({ jobId }) => {
      const id = fromSealJob(jobId);
      if (id) this.check(id);
    });
    this.sealEvents.on('failed', ({ jobId }) => {
      const id = fromSealJob(jobId);
      if (id) this.check(id);
    });
    // A capture job that fails for good never gets a seal job; check every pending capture then.
    this.captureEvents.on('failed', () => {
      for (const id of this.waiting.keys()) this.check(id);
    });
    // Belt and braces against a missed event: look at stragglers every 2 s.
    this.poll = setInterval(() => {
      for (const id of this.waiting.keys()) this.check(id);
    }, 2_000);
  }

  private check(captureId: string): void {
    captureStatus(this.s, captureId).then(
      (st) => {
        if (!isFinal(st.state)) return;
        const resolve = this.waiting.get(captureId);
        if (resolve) {
          this.waiting.delete(captureId);
          resolve(st);
        } else this.early.add(captureId);
      },
      () => undefined,
    );
  }

  wait(captureId: string): Promise<CaptureStatus> {
    return new Promise((resolve) => {
      this.waiting.set(captureId, resolve);
      if (this.early.delete(captureId)) this.check(captureId);
    });
  }

  close(): void {
    clearInterval(this.poll);
  }
}

async function timingOf(s: Services, captureId: string, jobId: string, totalMs: number, st: CaptureStatus): Promise<CaptureTiming> {
  const [cj, sj] = await Promise.all([s.queues.capture.getJob(jobId), s.queues.seal.getJob(sealJobId(captureId))]);
  const diff = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a - b : null);
  return {
    captureId,
    totalMs,
    state: st.state,
    pageStatus: st.result?.status ?? null,
    failure: st.failure ? `${st.failure.code}: ${st.failure.message}` : null,
    queuedMs: diff(cj?.processedOn, cj?.timestamp),
    captureMs: diff(cj?.finishedOn, cj?.processedOn),
    handoverMs: diff(sj?.processedOn, cj?.finishedOn),
    sealMs: diff(sj?.finishedOn, sj?.processedOn),
  };
}

/** Open services and start the capture and seal workers with the given config (defaults otherwise). */
export async function startExhibit(configTree: Record<string, unknown>): Promise<ExhibitHarness> {
  const config = configFrom(configTree);
  const logger = createLogger(config.log.level);
  const s = await openServices(config, logger);
  const workers = await startWorkers(s);
  const sealEvents = openQueueEvents(s.redisTarget, config, 'seal');
  const captureEvents = openQueueEvents(s.redisTarget, config, 'capture');
  await Promise.all([sealEvents.waitUntilReady(), captureEvents.waitUntilReady()]);
  const waiter = new FinalWaiter(s, sealEvents, captureEvents);
  return {
    s,
    config,
    workers,
    async captureMany(url, caseId, n, onDone) {
      const t0 = performance.now();
      const requests = Array.from({ length: n }, () => ({ url, caseId, requestedBy: 'bench-analyst', options: { allowPrivateNetwork: true, force: true } }));
      const outcomes = await submitCaptures(requests, s);
      let done = 0;
      const timings = await Promise.all(
        outcomes.map(async (o) => {
          if (!o.ok) throw new Error(`submission rejected: ${o.failure.code}: ${o.failure.message}`);
          const st = await waiter.wait(o.captureId);
          const totalMs = performance.now() - t0;
          done += 1;
          onDone?.(done);
          return { o, st, totalMs };
        }),
      );
      const elapsedMs = performance.now() - t0;
      return { elapsedMs, timings: await Promise.all(timings.map(({ o, st, totalMs }) => timingOf(s, (o as { captureId: string }).captureId, (o as { jobId: string }).jobId, totalMs, st))) };
    },
    async close() {
      waiter.close();
      await workers.close();
      await Promise.all([sealEvents.close(), captureEvents.close()]);
      await s.close();
    },
  };
}

/** A capture counts only when it is sealed (signed and timestamped) and its page was captured. */
export const isGood = (t: CaptureTiming) => t.state === 'sealed' && t.pageStatus === 'captured';
