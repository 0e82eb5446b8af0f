import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import { newId } from '../../../lib/clock.js';
import { sealJobId } from '../../../workers/queues.js';
import { openServices, startWorkers, type RunningWorkers, type Services } from '../../../workers/runtime.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A capture or seal job whose data is not its payload (a bug, a hand-edited job, data from another
 * version): one permanent failure, on the custody log when the job names its case, never retried.
 */
describe('malformed capture and seal jobs (real Redis, local store, capture and seal workers)', () => {
  let s: Services;
  let workers: RunningWorkers;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-seal-payload-'));
    // Short waits between attempts: a retried job shows its second attempt quickly.
    const config = configFrom({ stateDir, redis: { url: inject('redisUrl'), prefix: `t${randomUUID().slice(0, 8)}` }, store: { kind: 'fs' }, queue: { retryBackoffMs: 10, retryMaxBackoffMs: 20 }, log: { level: 'silent' } });
    s = await openServices(config, createLogger('silent'));
    workers = await startWorkers(s, { capture: true, seal: true, watch: false });
  });

  afterAll(async () => {
    await workers?.close();
    await s?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** The job once it failed for good, or once a second attempt started (a retry). */
  async function settled(jobId: string, queue: 'capture' | 'seal' = 'seal'): Promise<{ state: string; attemptsMade: number; failedReason: string }> {
    for (;;) {
      const job = await s.queues[queue].getJob(jobId);
      const state = job ? await job.getState() : 'missing';
      if (job && (state === 'failed' || job.attemptsMade >= 2)) {
        // Read the job again: the copy above may predate the failure its state now reports.
        const done = (await s.queues[queue].getJob(jobId)) ?? job;
        return { state, attemptsMade: done.attemptsMade, failedReason: done.failedReason ?? '' };
      }
      await sleep(50);
    }
  }

  it('a seal job naming its case: one permanent INVALID_INPUT failure, custody-logged as not retried', async () => {
    const caseId = `C-SP-${randomUUID().slice(0, 8)}`;
    const captureId = newId();
    // A request and ids as the capture stage writes them, but no spool directory and no collector output.
    const data = { captureId, submittedAt: '2026-03-01T10:00:00.000Z', request: { url: 'https://example.org/post/1', caseId, requestedBy: 'analyst-01', options: {} } };
    await s.queues.seal.add('seal', data, { jobId: sealJobId(captureId) });
    const job = await settled(sealJobId(captureId));
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(job.failedReason).toMatch(/^INVALID_INPUT: seal payload is invalid: .*spoolDir/);
    expect(job.failedReason).toMatch(/output/);
    const events = (await s.custody.readLog(caseId)).map((e) => e.event);
    expect(events.map((e) => e.action)).toEqual(['seal-failed']);
    expect(events[0]).toMatchObject({
      actor: { type: 'service', id: 'exhibit-sealer', role: 'sealer', authorisedBy: 'analyst-01' },
      subject: { captureId },
      details: { attempt: 1, willRetry: false, failure: { code: 'INVALID_INPUT', kind: 'permanent' } },
    });
  });

  it('a seal job naming no valid case: the same one permanent failure, kept in the job (there is no case log to write to)', async () => {
    const jobId = `seal-${randomUUID()}`;
    await s.queues.seal.add('seal', { captureId: 'not-a-uuid', request: { caseId: '../etc' } }, { jobId });
    const job = await settled(jobId);
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(job.failedReason).toMatch(/^INVALID_INPUT: seal payload is invalid: /);
  });

  it('a capture job naming its case: one permanent INVALID_INPUT failure, custody-logged as not retried', async () => {
    const caseId = `C-SP-${randomUUID().slice(0, 8)}`;
    const captureId = newId();
    const jobId = `capture-${randomUUID()}`;
    // No submission time, and a URL that is no capture target.
    await s.queues.capture.add('capture', { captureId, request: { url: 'javascript:alert(1)', caseId, requestedBy: 'analyst-01', options: {} } }, { jobId });
    const job = await settled(jobId, 'capture');
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(job.failedReason).toMatch(/^INVALID_INPUT: capture payload is invalid: .*submittedAt/);
    expect(job.failedReason).toMatch(/request\.url: unsupported scheme/);
    const events = (await s.custody.readLog(caseId)).map((e) => e.event);
    expect(events.map((e) => e.action)).toEqual(['capture-failed']);
    expect(events[0]).toMatchObject({
      actor: { type: 'service', id: 'exhibit-worker', role: 'collector', authorisedBy: 'analyst-01' },
      subject: { captureId },
      details: { attempt: 1, willRetry: false, failure: { code: 'INVALID_INPUT', kind: 'permanent' } },
    });
    expect(events[0]!.details).not.toHaveProperty('url');
  });
});
