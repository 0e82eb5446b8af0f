import type { Config } from '../../../schemas/config.js';
import type { Role } from '../../../schemas/api.js';
import type { CaptureStatus } from '../../../workers/job-state.js';
import type { RunningWorkers, Services } from '../../../workers/runtime.js';
import { createApi, type Api } from '../../../app/api/server.js';
import type { ApiOptions } from '../../../app/api/context.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { startPipelineEnv } from '../../support/pipeline-env.js';
import type { LocalTsa } from '../../support/tsa.js';

/**
 * The API on real parts: the pipeline environment (test/support/pipeline-env.ts: OpenSSL TSA,
 * Redis and a MinIO bucket, Chromium through the capture workers) and the sample site. Private targets are allowed
 * by the server's config (the sample site is on loopback), never by the client.
 */
export interface Harness {
  site: SampleSite;
  tsa: LocalTsa;
  s: Services;
  workers: RunningWorkers | null;
  api: Api;
  config: Config;
  stateDir: string;
  tokens: Record<string, string>;
  close(): Promise<void>;
  waitFinal(captureId: string, timeoutMs?: number): Promise<CaptureStatus>;
}

export interface HarnessUser {
  name: string;
  role: Role;
  cases: string[];
}

/** `collectors`: per-collector options (e.g. a platform fixture's host), as in the config file. */
export async function startHarness(users: HarnessUser[], apiOptions: ApiOptions = {}, extra: { collectors?: Record<string, Record<string, unknown>> } = {}): Promise<Harness> {
  const site = await startSampleSite();
  const env = await startPipelineEnv({
    name: 'api',
    store: 's3',
    config: { capture: { concurrency: 2, attempts: 2, navigationTimeoutMs: 8_000, settleTimeoutMs: 8_000, timeoutMs: 40_000, allowPrivateNetwork: true }, ...(extra.collectors ? { collectors: extra.collectors } : {}) },
  });
  const { s, tsa, config, stateDir } = env;
  const api = createApi(s, { progressIntervalMs: 200, ...apiOptions });
  const tokens: Record<string, string> = {};
  for (const u of users) {
    await api.deps.users.add(u.name, u.role, u.cases, 'test');
    tokens[u.name] = (await api.deps.users.issueToken(u.name)).token;
  }
  return {
    site,
    tsa,
    s,
    workers: env.workers,
    api,
    config,
    stateDir,
    tokens,
    waitFinal: (captureId, timeoutMs) => env.waitFinal(captureId, { timeoutMs }),
    close: async () => {
      await api.close();
      await env.close();
      await site.close();
    },
  };
}

/** Read a server-sent event stream to its end: `[{event, data}]`. */
export async function readSse(res: Response, limitMs = 150_000): Promise<Array<{ event: string; data: unknown }>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (Date.now() > deadline) {
      await reader.cancel();
      throw new Error(`event stream did not end within ${limitMs} ms: ${text.slice(-500)}`);
    }
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}
