import type { Config } from '../../schemas/config.js';
import { createApi, listen } from '../api/server.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { commandLogger, err, withServices } from './common.js';

export interface ServeCliOptions {
  host: string;
  port: number;
  maxUploadBytes?: number;
  secureCookies: boolean;
}

/**
 * `exhibit serve`: the HTTP API and web app until SIGINT/SIGTERM. It enqueues and reads; captures
 * are made by `exhibit worker` processes (or `--with-workers` is not offered on purpose: one job each).
 */
export async function serveCommand(config: Config, opts: ServeCliOptions): Promise<ExitCode> {
  const logger = commandLogger(config, false);
  return withServices(
    config,
    async (s) => {
      const api = createApi(s, { secureCookies: opts.secureCookies, ...(opts.maxUploadBytes ? { maxUploadBytes: opts.maxUploadBytes } : {}) });
      const server = await listen(api, opts.host, opts.port);
      logger.info({ context: 'api', url: server.url, redis: s.redisTarget.describe, store: s.store.location }, 'serving');
      err(`exhibit: serving the API and web app at ${server.url}/ (API description at ${server.url}/openapi.json)`);
      const workers = await s.queues.capture.getWorkers();
      if (workers.length === 0) err('exhibit: no worker is running yet: submitted captures stay queued until `./exhibit worker` runs');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      logger.info({ context: 'api' }, 'stopping');
      await server.close();
      await api.close();
      return EXIT.OK;
    },
    logger,
  );
}
