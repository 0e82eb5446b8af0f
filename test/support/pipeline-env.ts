/**
 * Test environment for integration tests of the whole pipeline in this process: a temp state dir,
 * a config on the global setup's Redis (random prefix) with the local store or a fresh MinIO bucket
 * (Object Lock), a local OpenSSL TSA, the services and the capture/seal/watch workers; `close()`
 * takes it all down in reverse. Tests that need a CLI or worker process use `configFile`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { configFrom } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import type { Config } from '../../schemas/config.js';
import { CaptureManifest } from '../../schemas/manifest.js';
import { PostDocument } from '../../schemas/post.js';
import { storeKeys } from '../../evidence/store.js';
import { waitForFinal, type CaptureStatus } from '../../workers/job-state.js';
import { openServices, startWorkers, type RunningWorkers, type Services } from '../../workers/runtime.js';
import { submitCaptures, type CaptureRequestCommon } from '../../workers/submit.js';
import { startLocalTsa, type LocalTsa } from './tsa.js';

type Tree = Record<string, unknown>;

export interface PipelineEnvOptions {
  /** Names the temp state dir (`exhibit-<name>-`) and the MinIO bucket. */
  name: string;
  /** `s3`: a fresh bucket on the global setup's MinIO; `fs` (default): the local store in the state dir. */
  store?: 'fs' | 's3';
  /** Start a local OpenSSL TSA and trust it (default true). */
  tsa?: boolean;
  /** The workers to run in this process (default: capture, seal and watch); false for none. */
  workers?: false | Parameters<typeof startWorkers>[1];
  /** The rest of the config tree (capture, collectors, watch, accounts, api, queue …), by the TSA when there is one. */
  config?: Tree | ((tsa: LocalTsa | null) => Tree);
  /** Runs once the config is known, before the services open (e.g. import a collection account). */
  beforeOpen?: (config: Config, stateDir: string) => Promise<void>;
  /** Log level of the services and workers in this process, and of the config unless `config.log` says otherwise (default warn). */
  logLevel?: 'warn' | 'silent';
}

export interface PipelineEnv<T extends LocalTsa | null = LocalTsa | null> {
  stateDir: string;
  config: Config;
  /** The tree the config was made from, written to `configFile` (for a CLI or worker process). */
  configFile: string;
  tsa: T;
  s: Services;
  workers: RunningWorkers | null;
  waitFinal(captureId: string, opts?: { timeoutMs?: number; pollMs?: number }): Promise<CaptureStatus>;
  /** Submit one capture; throws when it is refused. */
  submitOne(url: string, request: CaptureRequestCommon): Promise<Extract<Awaited<ReturnType<typeof submitCaptures>>[number], { ok: true }>>;
  manifestOf(caseId: string, captureId: string): Promise<CaptureManifest>;
  /** The sealed post.json of a capture. */
  postOf(manifest: CaptureManifest): Promise<PostDocument>;
  close(): Promise<void>;
}

export async function startPipelineEnv(opts: PipelineEnvOptions & { tsa: false }): Promise<PipelineEnv<null>>;
export async function startPipelineEnv(opts: PipelineEnvOptions): Promise<PipelineEnv<LocalTsa>>;
export async function startPipelineEnv(opts: PipelineEnvOptions): Promise<PipelineEnv> {
  const tsa = opts.tsa === false ? null : await startLocalTsa();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `exhibit-${opts.name}-`));
  let s: Services | null = null;
  let workers: RunningWorkers | null = null;
  const close = async () => {
    await workers?.close();
    await s?.close();
    await tsa?.close();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const minio = inject('minio');
    const level = opts.logLevel ?? 'warn';
    const tree: Tree = {
      stateDir,
      redis: { url: inject('redisUrl'), prefix: `t${randomUUID().slice(0, 8)}` },
      store:
        opts.store === 's3'
          ? { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: `${opts.name}-${randomUUID().slice(0, 12)}`, retentionDays: 1 } }
          : { kind: 'fs' },
      ...(tsa ? { tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] } } : {}),
      log: { level },
      ...(typeof opts.config === 'function' ? opts.config(tsa) : opts.config),
    };
    const config = configFrom(tree);
    const configFile = path.join(stateDir, 'exhibit.test.yaml');
    writeFileSync(configFile, JSON.stringify(tree));
    await opts.beforeOpen?.(config, stateDir);
    const services = (s = await openServices(config, createLogger(level)));
    if (opts.workers !== false) workers = await startWorkers(services, opts.workers);
    return {
      stateDir,
      config,
      configFile,
      tsa,
      s: services,
      workers,
      waitFinal: (captureId, o = {}) => waitForFinal(services, captureId, o),
      submitOne: async (url, request) => {
        const [o] = await submitCaptures([{ ...request, url }], services);
        if (!o?.ok) throw new Error(`submission rejected: ${JSON.stringify(o)}`);
        return o;
      },
      manifestOf: async (caseId, captureId) => CaptureManifest.parse(JSON.parse((await services.store.getBytes(storeKeys.manifest(caseId, captureId))).toString('utf8'))),
      postOf: async (manifest) => {
        const a = manifest.artifacts.find((x) => x.role === 'post');
        if (!a) throw new Error(`capture ${manifest.captureId} has no post.json`);
        return PostDocument.parse(JSON.parse((await services.store.getBytes(a.storeKey)).toString('utf8')));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
