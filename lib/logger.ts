import { destination, pino, stdTimeFunctions, type Logger } from 'pino';

/** Fixed vocabulary for the `context` field of log lines. */
export const LOG_CONTEXTS = ['cli', 'worker', 'collector', 'browser', 'proxy', 'seal', 'store', 'custody', 'timestamp', 'package', 'verify', 'redis', 'api', 'bench', 'test'] as const;
export type LogContext = (typeof LOG_CONTEXTS)[number];
export type { Logger };

/**
 * Root logger: pino JSON lines on stderr, so stdout stays for command output.
 * Children carry `context` and, where known, `captureId`, `jobId` and `stage`.
 */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: stdTimeFunctions.isoTime }, destination(2));
}

export function childLogger(root: Logger, context: LogContext, fields: Record<string, unknown> = {}): Logger {
  return root.child({ context, ...fields });
}
