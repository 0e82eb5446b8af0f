import { describe, expect, it } from 'vitest';
import type { SealResult } from '../../../schemas/jobs.js';
import { captureStatus, waitForFinal } from '../../../workers/job-state.js';
import type { Services } from '../../../workers/services.js';

const CAPTURE_ID = '01890a5d-ac96-774b-bcce-b302099a8057';
const RESULT: SealResult = {
  captureId: CAPTURE_ID,
  caseId: 'C-1',
  status: 'captured',
  manifestDigest: `sha256:${'a'.repeat(64)}`,
  manifestKey: 'cases/C-1/captures/x/manifest.json',
  artifactCount: 3,
  seal: 'sealed',
  sealFailure: null,
};

interface FakeJob {
  id: string;
  data: unknown;
  returnvalue: unknown;
  progress: unknown;
  attemptsMade: number;
  failedReason?: string;
  getState(): Promise<string>;
}

/** A job snapshot taken before the job finished, whose state (read later) is already final. */
function job(id: string, state: string, fields: Partial<FakeJob> = {}): FakeJob {
  return { id, data: { request: { url: 'https://example.org/p/1' } }, returnvalue: null, progress: 0, attemptsMade: 1, getState: () => Promise.resolve(state), ...fields };
}

/** Services whose queues hand out the given job snapshots, one per getJob call, in order. */
function fakeServices(capture: FakeJob[], seal: FakeJob[]): Services {
  const source = (jobs: FakeJob[]) => ({ getJob: () => Promise.resolve(jobs.length > 1 ? jobs.shift() : jobs[0]) });
  return {
    config: { redis: { prefix: 'exhibit' } },
    redis: { hget: () => Promise.resolve('capture-job-1') },
    queues: { capture: source(capture), seal: source(seal) },
  } as unknown as Services;
}

describe('captureStatus when a job finishes between reading it and reading its state', () => {
  it('a seal job read before completion but completed by the state read is sealed, not a ZodError', async () => {
    const s = fakeServices([job('capture-job-1', 'completed')], [job('seal-1', 'completed', { returnvalue: undefined }), job('seal-1', 'completed', { returnvalue: RESULT, attemptsMade: 1 })]);
    const st = await captureStatus(s, CAPTURE_ID);
    expect(st.state).toBe('sealed');
    expect(st.result).toEqual(RESULT);
  });

  it('a page-failed seal result takes its failure from the capture job even when the first snapshot had none', async () => {
    const failure = { code: 'HTTP_ERROR', kind: 'permanent', message: 'HTTP 404' };
    const s = fakeServices(
      [job('capture-job-1', 'completed', { returnvalue: undefined }), job('capture-job-1', 'completed', { returnvalue: { failure } })],
      [job('seal-1', 'completed', { returnvalue: undefined }), job('seal-1', 'completed', { returnvalue: { ...RESULT, status: 'failed' } })],
    );
    const st = await captureStatus(s, CAPTURE_ID);
    expect(st.state).toBe('sealed');
    expect(st.failure).toEqual(failure);
  });

  it('a failed job read before it failed reports the failure reason of the re-read job', async () => {
    const s = fakeServices([job('capture-job-1', 'failed'), job('capture-job-1', 'failed', { failedReason: 'NOT_VISIBLE: login wall' })], []);
    const st = await captureStatus(s, CAPTURE_ID);
    expect(st.state).toBe('failed');
    expect(st.failure).toMatchObject({ code: 'NOT_VISIBLE', message: 'login wall' });
  });

  it('a completed seal job whose return value is still missing after the re-read is sealing, and waitForFinal waits for it', async () => {
    const s = fakeServices(
      [job('capture-job-1', 'completed')],
      [job('seal-1', 'completed', { returnvalue: undefined }), job('seal-1', 'completed', { returnvalue: undefined }), job('seal-1', 'completed', { returnvalue: undefined }), job('seal-1', 'completed', { returnvalue: RESULT })],
    );
    expect((await captureStatus(s, CAPTURE_ID)).state).toBe('sealing');
    const st = await waitForFinal(s, CAPTURE_ID, { pollMs: 1, timeoutMs: 10_000 });
    expect(st.state).toBe('sealed');
  });
});
