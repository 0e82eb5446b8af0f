import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKeys } from '../../evidence/store.js';
import { waitForFinal } from '../../workers/job-state.js';
import type { Services } from '../../workers/runtime.js';
import { submitCaptures } from '../../workers/submit.js';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A worker killed mid-capture (SIGKILL: no clean-up, no lock release) must not strand its job until
 * a minutes-long lock expires: another worker takes it over within seconds, and the capture ends
 * once (one manifest, one set of custody events), however many times its stages ran.
 */
describe('a killed worker’s job is taken over', () => {
  let env: PipelineEnv;
  let s: Services;
  let configFile: string;
  let page: http.Server;
  let pageUrl = '';
  let hits = 0;
  let firstHit: () => void = () => undefined;
  const firstHitSeen = new Promise<void>((r) => (firstHit = r));
  const held: http.ServerResponse[] = [];
  const children: ChildProcess[] = [];

  const startWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/cli.ts', 'worker'], { cwd: ROOT, env: { ...process.env, EXHIBIT_CONFIG: configFile }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d) => (log = (log + String(d)).slice(-4000)));
    children.push(child);
    return { child, log: () => log };
  };
  const workerCount = async () => (await s.queues.capture.getWorkers()).length;

  beforeAll(async () => {
    // The page: the first request is held open (the capture is "slow" and the worker dies while
    // waiting); later requests are answered at once.
    page = http.createServer((req, res) => {
      if (req.url !== '/page') {
        res.writeHead(404).end();
        return;
      }
      hits++;
      if (hits === 1) {
        held.push(res);
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<!doctype html><title>slow</title>');
        firstHit();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><head><title>Taken over</title></head><body><p>The page, second time.</p></body></html>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/page`;
    env = await startPipelineEnv({
      name: 'takeover',
      workers: false,
      logLevel: 'silent',
      config: {
        capture: { concurrency: 1, attempts: 2, navigationTimeoutMs: 60_000, settleTimeoutMs: 5_000, timeoutMs: 90_000, allowPrivateNetwork: true },
        // Short enough for a test; the defaults are a few times longer.
        queue: { lockDurationMs: 3_000, stalledIntervalMs: 1_000, maxStalledCount: 2 },
        log: { level: 'warn' },
      },
    });
    ({ s, configFile } = env);
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const r of held) r.destroy();
    await new Promise<void>((r) => page?.close(() => r()));
    page?.closeAllConnections();
    await env?.close();
  });

  it('takes over the capture of a SIGKILLed worker within seconds, and seals it once', async () => {
    const first = startWorker();
    for (let i = 0; (await workerCount()) < 1; i++) {
      if (i > 600 || first.child.exitCode !== null) throw new Error(`first worker did not start: ${first.log()}`);
      await sleep(100);
    }
    const [outcome] = await submitCaptures([{ url: pageUrl, caseId: 'C-TAKEOVER-1', requestedBy: 'analyst-01', options: { allowPrivateNetwork: true } }], s);
    if (!outcome?.ok) throw new Error(`submission refused: ${JSON.stringify(outcome)}`);
    const { captureId, jobId } = outcome;
    await Promise.race([firstHitSeen, sleep(60_000).then(() => Promise.reject(new Error(`the first worker never fetched the page: ${first.log()}`)))]);
    expect(await (await s.queues.capture.getJob(jobId))!.getState()).toBe('active');

    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    const second = startWorker();
    // Bounded wait, not a speed assertion: the old 120 s lock would still hold the job here.
    const final = await waitForFinal(s, captureId, { timeoutMs: 45_000 }).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nsecond worker: ${second.log()}`);
    });
    expect(final.state, JSON.stringify(final.failure)).toBe('sealed');
    expect(hits).toBeGreaterThanOrEqual(2);

    const job = (await s.queues.capture.getJob(jobId))!;
    expect(await job.getState()).toBe('completed');
    // It stalled once (the kill) and was not retried as a failure.
    expect(job.attemptsMade).toBe(1);

    // Ended once: one manifest in the store, one outcome and one signature on the custody log,
    // each artifact sealed once, and the start recorded once (the re-run has the same key).
    const events = (await s.custody.readLog('C-TAKEOVER-1')).map((e) => e.event).filter((e) => e.subject.captureId === captureId);
    const count = (action: string) => events.filter((e) => e.action === action).length;
    expect(count('capture-started')).toBe(1);
    expect(count('capture-finished')).toBe(1);
    expect(count('capture-failed')).toBe(0);
    expect(count('manifest-signed')).toBe(1);
    const sealedNames = events.filter((e) => e.action === 'artifact-sealed').map((e) => String((e.details as { name: string }).name));
    expect(sealedNames.length).toBeGreaterThan(0);
    expect(new Set(sealedNames).size).toBe(sealedNames.length);
    const manifests = (await s.store.list('cases/C-TAKEOVER-1/')).filter((k) => k === storeKeys.manifest('C-TAKEOVER-1', captureId));
    expect(manifests).toHaveLength(1);

    const stopped = new Promise((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    await stopped;
  });
});
