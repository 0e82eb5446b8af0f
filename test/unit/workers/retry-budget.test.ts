import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { PermanentError, TransientError } from '../../../lib/errors.js';
import { parseFailedReason } from '../../../workers/job-state.js';
import { attemptError, retryDecision, retryDelayMs, retryWaitTotalMs } from '../../../workers/queues.js';

const config = configFrom({ queue: { retryBudgetMs: 60_000, retryBackoffMs: 1_000, retryMaxBackoffMs: 8_000 } });

/** The parts of a BullMQ job retryDecision reads and writes. */
function fakeJob(attemptsMade: number, data: Record<string, unknown> = {}): Job & { data: Record<string, unknown> } {
  const job = {
    attemptsMade,
    data,
    async updateData(d: Record<string, unknown>) {
      job.data = d;
    },
  };
  return job as unknown as Job & { data: Record<string, unknown> };
}

const outage = new TransientError('STORE_ERROR', 'the evidence store http://127.0.0.1:9000 did not answer').toFailure();
const pageFlake = new TransientError('CONNECTION_FAILED', 'refused').toFailure();

describe('retry budget', () => {
  it('backs off doubling from retryBackoffMs, capped at retryMaxBackoffMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(config, n))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect(retryWaitTotalMs(config, 4)).toBe(15_000);
  });

  it('retries a store outage by time, not by attempts: while the waits fit the budget', async () => {
    // 1+2+4+8 = 15 s, then 8 s each: waits through attempt 9 total 55 s; the 10th would reach 63 s.
    expect((await retryDecision(fakeJob(8), outage, 3, config)).retry).toBe(true);
    expect((await retryDecision(fakeJob(9), outage, 3, config)).retry).toBe(false);
  });

  it('does not count outage attempts against the attempts of other transient failures', async () => {
    const job = fakeJob(0);
    for (let i = 0; i < 5; i++) {
      expect((await retryDecision(job, outage, 2, config)).retry).toBe(true);
      (job as { attemptsMade: number }).attemptsMade++;
    }
    expect(job.data.outageRetries).toBe(5);
    expect((await retryDecision(job, pageFlake, 2, config)).retry).toBe(true);
    (job as { attemptsMade: number }).attemptsMade++;
    expect((await retryDecision(job, pageFlake, 2, config)).retry).toBe(false);
  });

  it('never retries permanent or integrity failures', async () => {
    expect((await retryDecision(fakeJob(0), new PermanentError('INVALID_URL', 'x').toFailure(), 3, config)).retry).toBe(false);
  });

  it('the thrown message carries the code, which job-state reads back with its kind', () => {
    const retried = attemptError(new TransientError('STORE_ERROR', 'store down'), true);
    expect(retried).not.toBeInstanceOf(UnrecoverableError);
    expect(parseFailedReason(retried.message)).toEqual({ code: 'STORE_ERROR', kind: 'transient', message: 'store down' });
    const final = attemptError(new PermanentError('NOT_FOUND', 'gone'), false);
    expect(final).toBeInstanceOf(UnrecoverableError);
    expect(parseFailedReason(final.message)).toEqual({ code: 'NOT_FOUND', kind: 'permanent', message: 'gone' });
    expect(parseFailedReason(attemptError(new Error('boom'), true).message)).toMatchObject({ code: 'INTERNAL' });
  });
});
