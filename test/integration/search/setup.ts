/**
 * Shared set-up for search, tags and notes tests: the API over real Redis and MinIO (from the
 * global setup) and the local OpenSSL TSA, with sealed fixture captures made directly in the store
 * (signed, timestamped, custody events appended) — no browser needed to make them. Users are added
 * with API tokens.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import type { Role } from '../../../schemas/api.js';
import type { Config } from '../../../schemas/config.js';
import { openServices, type Services } from '../../../workers/runtime.js';
import { createApi, type Api } from '../../../app/api/server.js';
import { makeSealedCapture, type SealedCapture } from '../../support/sealed-capture.js';
import { captureArtifacts, syntheticCapture, type SyntheticPostSpec } from '../../support/synthetic-posts.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

export interface SearchEnv {
  s: Services;
  api: Api;
  tsa: LocalTsa;
  config: Config;
  stateDir: string;
  tokens: Record<string, string>;
  /** Seal a platform capture with this post (and replies) into a case. */
  sealPost(caseId: string, platform: string, post: SyntheticPostSpec, opts?: { replies?: SyntheticPostSpec[] }): Promise<SealedCapture>;
  /** Seal a plain web capture (no post.json) with this URL. */
  sealPage(caseId: string, url: string): Promise<SealedCapture>;
  /** An in-process API request as a user (bearer token). */
  call(user: string, method: string, url: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export async function startSearchEnv(users: Array<{ name: string; role: Role; cases: string[] }>): Promise<SearchEnv> {
  const tsa = await startLocalTsa();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-search-'));
  const minio = inject('minio');
  const config = configFrom({
    stateDir,
    redis: { url: inject('redisUrl'), prefix: `t${randomUUID().slice(0, 8)}` },
    store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: `search-${randomUUID().slice(0, 12)}`, retentionDays: 1 } },
    tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
    log: { level: 'warn' },
  });
  const s = await openServices(config, createLogger('warn'));
  const api = createApi(s, { queueDashboard: false });
  const tokens: Record<string, string> = {};
  for (const u of users) {
    await api.deps.users.add(u.name, u.role, u.cases, 'test');
    tokens[u.name] = (await api.deps.users.issueToken(u.name)).token;
  }
  const attest = { keys: s.keys, tsas: [{ url: tsa.url }], timestamp: { trustAnchors: [tsa.caCertPem], attempts: 2, backoffMs: 50, timeoutMs: 10_000 } };
  return {
    s, api, tsa, config, stateDir, tokens,
    sealPost: (caseId, platform, post, opts = {}) => makeSealedCapture({ caseId, store: s.store, clock: s.clock, custody: s.custody, attest, url: `https://${platform}.example/${post.id}`, extra: captureArtifacts(syntheticCapture(platform, post, opts)) }),
    sealPage: (caseId, url) => makeSealedCapture({ caseId, store: s.store, clock: s.clock, custody: s.custody, attest, url }),
    call: (user, method, url, body) =>
      Promise.resolve(
        api.app.request(url, {
          method,
          headers: { Authorization: `Bearer ${tokens[user]}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        }),
      ),
    close: async () => {
      await api.close();
      await s.close();
      await tsa.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
