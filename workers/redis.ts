import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../schemas/config.js';
import { ExhibitError, TransientError } from '../lib/errors.js';

/** Connection options BullMQ needs (blocking commands must not time out or give up). */
const BULLMQ_OPTS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false };

export interface RedisTarget {
  /** ioredis options for new connections (BullMQ opens several). */
  options: RedisOptions;
  /** Printable location, without credentials. */
  describe: string;
  embedded: boolean;
}

function embeddedPaths(config: Config) {
  const dir = path.join(config.stateDir, 'redis');
  return { dir, socket: path.join(dir, 'redis.sock'), pidfile: path.join(dir, 'redis.pid') };
}

async function pingSocket(socket: string): Promise<boolean> {
  if (!existsSync(socket)) return false;
  const r = new Redis({ path: socket, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Where Redis is. With `redis.url` set, that server; otherwise the embedded default: a private
 * redis-server with AOF persistence under `stateDir/redis`, listening on a unix socket only,
 * started once and left running (so queued jobs survive between commands; `exhibit down` stops it).
 */
export async function resolveRedis(config: Config): Promise<RedisTarget> {
  if (config.redis.url) {
    const u = new URL(config.redis.url);
    return {
      options: { ...BULLMQ_OPTS, host: u.hostname, port: Number(u.port || 6379), password: u.password ? decodeURIComponent(u.password) : undefined, username: u.username || undefined, db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0, tls: u.protocol === 'rediss:' ? {} : undefined },
      describe: `${u.protocol}//${u.hostname}:${u.port || 6379}`,
      embedded: false,
    };
  }
  const { dir, socket, pidfile } = embeddedPaths(config);
  if (!(await pingSocket(socket))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await new Promise<void>((resolve, reject) => {
      const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'yes', '--pidfile', pidfile, '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' });
      child.once('error', (cause) => reject(new TransientError('INTERNAL', `cannot start redis-server (is the Debian package redis-server installed?): ${cause.message}`, { cause })));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new TransientError('INTERNAL', `redis-server exited with code ${code}; see ${path.join(dir, 'redis.log')}`))));
    });
    const deadline = Date.now() + 10_000;
    while (!(await pingSocket(socket))) {
      if (Date.now() > deadline) throw new TransientError('INTERNAL', `embedded redis-server did not answer on ${socket}; see ${path.join(dir, 'redis.log')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { options: { ...BULLMQ_OPTS, path: socket }, describe: `embedded redis (${socket})`, embedded: true };
}

/** Stop the embedded Redis (SHUTDOWN flushes the AOF). No-op when none is running. */
export async function stopEmbeddedRedis(config: Config): Promise<boolean> {
  const { socket } = embeddedPaths(config);
  if (!(await pingSocket(socket))) return false;
  const r = new Redis({ path: socket, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  await r.call('SHUTDOWN').catch(() => undefined);
  r.disconnect();
  return true;
}

/**
 * A connection for plain commands (custody appends, indexes): each command has a timeout and is not
 * queued forever while Redis is down, so a caller fails as UNAVAILABLE instead of hanging.
 */
export function connect(target: RedisTarget, commandTimeoutMs?: number): Redis {
  return new Redis({ ...target.options, ...(commandTimeoutMs ? { commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 2 } : {}) });
}

/** An ioredis failure (timeout, connection lost, retries used up) as UNAVAILABLE naming the server. */
export function redisUnavailable(err: unknown, target: RedisTarget): unknown {
  if (err instanceof ExhibitError || !(err instanceof Error)) return err;
  // Only ioredis's own messages: a file or network error of anything else must keep its meaning.
  const redisLike = err.name === 'MaxRetriesPerRequestError' || /^(Command timed out|Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false)$/.test(err.message);
  return redisLike ? new TransientError('UNAVAILABLE', `Redis at ${target.describe} did not answer: ${err.message} (redis.commandTimeoutMs)`, { cause: err }) : err;
}
