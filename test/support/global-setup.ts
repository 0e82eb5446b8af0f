import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startMinio, startRedis, type RunningService } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    minio: { endPoint: string; port: number; accessKey: string; secretKey: string };
  }
}

/**
 * Starts the real services the integration tests need: redis-server and MinIO on loopback ports.
 * Chromium and the OpenSSL TSA are started by the tests that use them.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: RunningService[] = [];
  const minioBin = process.env.EXHIBIT_MINIO_BIN;
  if (!minioBin || !existsSync(minioBin)) {
    throw new Error(`MinIO binary not found (EXHIBIT_MINIO_BIN=${minioBin ?? 'unset'}); run the tests with ./exhibit test, which builds it`);
  }
  const redis = await startRedis();
  started.push(redis);
  const minio = await startMinio(minioBin);
  started.push(minio);
  project.provide('redisUrl', redis.url);
  project.provide('minio', { endPoint: '127.0.0.1', port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey });
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
}
