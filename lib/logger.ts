import { destination, pino, stdTimeFunctions, symbols, type DestinationStream, type Logger } from 'pino';

/** Fixed vocabulary for the `context` field of log lines. */
export const LOG_CONTEXTS = ['cli', 'worker', 'collector', 'browser', 'proxy', 'seal', 'store', 'custody', 'timestamp', 'package', 'verify', 'redis', 'api', 'bench', 'test'] as const;
export type LogContext = (typeof LOG_CONTEXTS)[number];
export type { Logger };

/** `json`: pino JSON lines; `human`: one short line per message; `auto`: human on a terminal, else JSON. */
export const LOG_FORMATS = ['auto', 'json', 'human'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  format?: LogFormat;
  /** Where lines go (default stderr, so stdout stays for command output). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN = new Set(['level', 'time', 'pid', 'msg', 'context', 'hostname']);

function humanValue(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (v && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') return JSON.stringify((v as { message: string }).message);
  return JSON.stringify(v);
}

/** One pino JSON line as a line a person reads: `06:37:36 warn custody: message key=value …`. */
export function humanLogLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 19) : '';
  const level = LEVEL_NAMES[Number(o.level)] ?? String(o.level);
  const fields = Object.entries(o)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${humanValue(v)}`);
  return `${time} ${level}${o.context ? ` ${String(o.context)}` : ''}: ${String(o.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}

/**
 * A child's bindings are appended to its parent's, so `context` bound twice (a `worker` logger
 * handed to a collector that binds `collector`) came out as two `context` keys on one JSON line.
 * Re-serialise the bindings with each key once, the child's value winning.
 */
function dedupeBindings(child: Logger): void {
  const chindings = (child as unknown as Record<symbol, string>)[symbols.chindingsSym];
  if (!chindings) return;
  const merged = JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>;
  const body = JSON.stringify(merged).slice(1, -1);
  (child as unknown as Record<symbol, string>)[symbols.chindingsSym] = body ? `,${body}` : '';
}

/**
 * A call that names a key its logger already binds (`log.warn({ context: 'redis' }, …)` on a
 * `worker` logger) is logged through a child binding the call's value, so the key appears once.
 */
function logOnce(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void, level: number): void {
  const first = args[0] as unknown;
  if (first && typeof first === 'object' && !(first instanceof Error)) {
    const bound = this.bindings();
    const clash = Object.keys(first).filter((k) => k in bound);
    if (clash.length) {
      const rest: Record<string, unknown> = { ...(first as Record<string, unknown>) };
      const over: Record<string, unknown> = {};
      for (const k of clash) {
        over[k] = rest[k];
        delete rest[k];
      }
      const name = LEVEL_NAMES[level] as 'info';
      (this.child(over)[name] as (...a: unknown[]) => void)(rest, ...args.slice(1));
      return;
    }
  }
  method.apply(this, args);
}

/** Whether logs on `stream` are human lines: asked for, or `auto` on a terminal. */
export function humanLogs(format: LogFormat = 'auto', stream: { isTTY?: boolean } = process.stderr): boolean {
  return format === 'human' || (format === 'auto' && stream.isTTY === true);
}

/**
 * Root logger on stderr. JSON lines when asked (`format: 'json'`) or when the stream is not a
 * terminal; on a terminal (`auto`) each message is one short human line, never raw JSON.
 * Children carry `context` and, where known, `captureId`, `jobId` and `stage`.
 */
export function createLogger(level: string = 'info', opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const human = humanLogs(opts.format, stream);
  const dest: DestinationStream = human
    ? { write: (line: string) => void stream.write(humanLogLine(line)) }
    : opts.stream
      ? { write: (line: string) => void stream.write(line) }
      : destination(2);
  return pino({ level, base: { pid: process.pid }, timestamp: stdTimeFunctions.isoTime, onChild: dedupeBindings, hooks: { logMethod: logOnce } }, dest);
}

export function childLogger(root: Logger, context: LogContext, fields: Record<string, unknown> = {}): Logger {
  return root.child({ context, ...fields });
}
