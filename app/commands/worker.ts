import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from '../../schemas/config.js';
import type { Services } from '../../workers/runtime.js';
import { stopEmbeddedRedis } from '../../workers/redis.js';
import { startWorkers } from '../../workers/runtime.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { mountOpsRoutes } from '../api/ops-routes.js';
import { commandLogger, out, withServices } from './common.js';

/** Run workers until SIGINT/SIGTERM; running jobs finish first (BullMQ close waits for them). */
export async function workerCommand(config: Config, only?: string): Promise<ExitCode> {
  const logger = commandLogger(config, false);
  return withServices(
    config,
    async (s) => {
      const running = await startWorkers(s, { capture: only !== 'seal', seal: only !== 'capture' });
      const ops = config.worker.metricsPort !== null ? await listenOps(s, config.worker.metricsHost, config.worker.metricsPort) : null;
      if (ops) logger.info({ context: 'worker', url: ops.url }, 'metrics, health and readiness endpoints listening');
      logger.info({ context: 'worker', redis: s.redisTarget.describe, store: s.store.location, capture: only !== 'seal', seal: only !== 'capture', captureConcurrency: config.capture.concurrency, sealConcurrency: config.seal.concurrency }, 'workers started');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      logger.info({ context: 'worker' }, 'stopping: finishing running jobs');
      await running.close();
      await ops?.close();
      return EXIT.OK;
    },
    logger,
  );
}

export async function downCommand(config: Config): Promise<ExitCode> {
  out((await stopEmbeddedRedis(config)) ? 'embedded Redis stopped' : 'no embedded Redis running for this state directory');
  return EXIT.OK;
}

/** `/metrics`, `/healthz` and `/readyz` of a worker process, on their own port. */
function listenOps(s: Services, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  mountOpsRoutes(app, s);
  app.notFound((c) => c.json({ code: 'NOT_FOUND', message: 'only /metrics, /healthz and /readyz here' }, 404));
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      const h = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({ url: `http://${h}:${info.port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
    server.once('error', reject);
  });
}
