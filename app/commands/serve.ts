import type { Config } from '../../schemas/config.js';
import { createReplayApp, listenReplay } from '../api/replay-server.js';
import { createApi, listen } from '../api/server.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { childLogger, createLogger, humanLogs } from '../../lib/logger.js';
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
      // Captured pages are replayed on a second origin (its own port, or host name behind a proxy).
      const replay = await listenReplay(createReplayApp(s, childLogger(s.logger, 'api')), config.replay.host ?? opts.host, config.replay.port ?? (opts.port === 0 ? 0 : opts.port + 1));
      const api = createApi(s, { secureCookies: opts.secureCookies, replay: { port: replay.port }, ...(opts.maxUploadBytes ? { maxUploadBytes: opts.maxUploadBytes } : {}) });
      const server = await listen(api, opts.host, opts.port);
      // Said once, whatever the log level: a human line, or a JSON record when logs are JSON (a log
      // collector reads every line of stderr as JSON).
      const say = (level: 'info' | 'warn', fields: Record<string, unknown>, msg: string) =>
        humanLogs(config.log.format) ? err(`exhibit: ${msg}`) : createLogger('info', { format: 'json' })[level]({ context: 'api', ...fields }, msg);
      say('info', { replay: replay.url, publicOrigin: config.replay.publicOrigin ?? null }, `serving the replay origin at ${config.replay.publicOrigin ?? replay.url} (captured pages run there, never in the web app's origin)`);
      say('info', { url: server.url, openapi: `${server.url}/openapi.json`, redis: s.redisTarget.describe, store: s.store.location }, `serving the API and web app at ${server.url}/ (API description at ${server.url}/openapi.json)`);
      const workers = await s.queues.capture.getWorkers();
      if (workers.length === 0) say('warn', {}, 'no worker is running yet: submitted captures stay queued until `./exhibit worker` runs');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      logger.info({ context: 'api' }, 'stopping');
      await server.close();
      await replay.close();
      await api.close();
      return EXIT.OK;
    },
    logger,
  );
}
