import type { Config } from '../../schemas/config.js';
import { stopEmbeddedRedis } from '../../workers/redis.js';
import { startWorkers } from '../../workers/runtime.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { commandLogger, out, withServices } from './common.js';

/** Run workers until SIGINT/SIGTERM; running jobs finish first (BullMQ close waits for them). */
export async function workerCommand(config: Config, only?: string): Promise<ExitCode> {
  const logger = commandLogger(config, false);
  return withServices(
    config,
    async (s) => {
      const running = await startWorkers(s, { capture: only !== 'seal', seal: only !== 'capture' });
      logger.info({ context: 'worker', redis: s.redisTarget.describe, store: s.store.location, capture: only !== 'seal', seal: only !== 'capture', captureConcurrency: config.capture.concurrency, sealConcurrency: config.seal.concurrency }, 'workers started');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      logger.info({ context: 'worker' }, 'stopping: finishing running jobs');
      await running.close();
      return EXIT.OK;
    },
    logger,
  );
}

export async function downCommand(config: Config): Promise<ExitCode> {
  out((await stopEmbeddedRedis(config)) ? 'embedded Redis stopped' : 'no embedded Redis running for this state directory');
  return EXIT.OK;
}
