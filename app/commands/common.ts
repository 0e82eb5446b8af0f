import os from 'node:os';
import { createLogger, type Logger } from '../../lib/logger.js';
import type { CliOperator } from '../../schemas/common.js';
import type { Config } from '../../schemas/config.js';
import { redisUnavailable } from '../../workers/redis.js';
import { openServices, type Services } from '../../workers/runtime.js';

/**
 * Logger for commands: on stderr, human lines on a terminal and JSON lines otherwise (or as
 * `--log-format` says); quieter than a worker's by default for interactive commands (`info`
 * becomes `warn`) so progress bars stay readable; `--log-level` still wins when lower.
 */
export function commandLogger(config: Config, interactive = true): Logger {
  const level = interactive && config.log.level === 'info' ? 'warn' : config.log.level;
  return createLogger(level, { format: config.log.format });
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

/** The operator of this command: the name given (`--operator`) and the OS user and host running it. */
export function cliOperator(name: string): CliOperator {
  let osUser: string;
  try {
    osUser = os.userInfo().username || 'unknown';
  } catch {
    osUser = `uid:${process.getuid?.() ?? 'unknown'}`;
  }
  return { kind: 'cli', name, osUser, host: os.hostname() || 'unknown' };
}
