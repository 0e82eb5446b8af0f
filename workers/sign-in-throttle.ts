import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../schemas/config.js';

/**
 * Sign-in back-off, per user name and per client address, in Redis so that every `serve` process
 * counts the same failures. From the `freeAttempts`-th failure on, each failure locks its keys for a
 * delay that doubles (`baseDelayMs` … `maxDelayMs`); while a key is locked no sign-in is even
 * checked, so a correct token guessed during the delay is refused like any other. A success forgets
 * the user's failures, never the address's (one valid account must not reset an address that is
 * trying other names). Time is Redis's own clock, the same for every process.
 */
export type SignInLimits = Config['api']['signIn'];

export interface ThrottleKeys {
  user: string;
  address: string;
}

// KEYS: the keys to check. Returns the longest remaining lock in ms (0 when none).
const CHECK_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for _, k in ipairs(KEYS) do
  local untilMs = tonumber(redis.call('HGET', k, 'lockedUntil') or '0')
  if untilMs - now > wait then wait = untilMs - now end
end
return wait
`;

// KEYS: the keys that failed. ARGV: freeAttempts, baseDelayMs, maxDelayMs, forgetAfterMs.
// Returns the longest lock now in force in ms (0 when none).
const FAIL_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free, base, max, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = 0
for _, k in ipairs(KEYS) do
  local n = redis.call('HINCRBY', k, 'failures', 1)
  local keep = forget
  if n >= free then
    local delay = max
    local steps = n - free
    if steps < 40 then delay = math.min(max, base * 2 ^ steps) end
    redis.call('HSET', k, 'lockedUntil', now + delay)
    if delay > wait then wait = delay end
    if delay > keep then keep = delay end
  end
  redis.call('PEXPIRE', k, keep)
end
return wait
`;

export class SignInThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: SignInLimits,
  ) {}

  /** Redis keys of a sign-in attempt; the address is hashed so keys never hold raw client addresses. */
  keys(userName: string, address: string): ThrottleKeys {
    const p = `${this.prefix}:api:sign-in`;
    return { user: `${p}:user:${userName}`, address: `${p}:addr:${createHash('sha256').update(address).digest('hex').slice(0, 32)}` };
  }

  /** Milliseconds until a sign-in may be tried with these keys (0: now). */
  async waitMs(k: ThrottleKeys): Promise<number> {
    return Number(await this.redis.eval(CHECK_LUA, 2, k.user, k.address));
  }

  /** Count a failed sign-in on both keys; returns the lock it started, in ms (0: none yet). */
  async failed(k: ThrottleKeys): Promise<number> {
    const l = this.limits;
    return Number(await this.redis.eval(FAIL_LUA, 2, k.user, k.address, l.freeAttempts, l.baseDelayMs, l.maxDelayMs, l.forgetAfterMs));
  }

  /** A successful sign-in forgets the user's failures (not the address's). */
  async succeeded(k: ThrottleKeys): Promise<void> {
    await this.redis.del(k.user);
  }
}
