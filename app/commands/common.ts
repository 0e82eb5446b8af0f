import { createLogger, type Logger } from '../../lib/logger.js';
import type { Config } from '../../schemas/config.js';
import { redisUnavailable } from '../../workers/redis.js';
import { openServices, type Services } from '../../workers/runtime.js';

/**
 * Logger for interactive commands: JSON lines on stderr, quieter than a worker's by default
 * (`info` becomes `warn`) so progress bars stay readable; `--log-level` still wins when lower.
 */
export function commandLogger(config: Config, interactive = true): Logger {
  const level = interactive && config.log.level === 'info' ? 'warn' : config.log.level;
  return createLogger(level);
}

/** Open services for one command and always close them. */
export async function withServices<T>(config: Config, fn: (s: Services) => Promise<T>, logger: Logger = commandLogger(config)): Promise<T> {
  const s = await openServices(config, logger);
  try {
    return await fn(s);
  } catch (err) {
    throw redisUnavailable(err, s.redisTarget);
  } finally {
    await s.close();
  }
}

export const out = (line = '') => process.stdout.write(`${line}\n`);
export const err = (line = '') => process.stderr.write(`${line}\n`);
