import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../schemas/config.js';

/**
 * Sign-in back-off, per user name and per client address, in Redis so that every `serve` process
 * counts the same failures. From the `freeAttempts`-th failure on, each failure locks its keys for a
 * delay that doubles (`baseDelayMs` … `maxDelayMs`); while a key is locked no sign-in is even
 * checked, so a correct token guessed during the delay is refused like any other. A success forgets
 * the user's failures, never the address's other failures (one valid account must not reset an address that is
 * trying other names). Time is Redis's own clock, the same for every process.
 */
export type SignInLimits = Config['api']['signIn'];

export interface ThrottleKeys {
  user: string;
  address: string;
}

// An attempt is counted before its token is checked, atomically with the lock check, so a burst of
// parallel guesses gets no more than the free attempts through (counting after the check would let
// every request that started before the first failure was recorded be checked).
// KEYS: user, address. ARGV: freeAttempts, baseDelayMs, maxDelayMs, forgetAfterMs.
// Returns {wait ms (refused when > 0; nothing counted), lock ms this attempt started, the address's
// lockedUntil before and after} (the last two let a success undo its own count).
const ATTEMPT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for _, k in ipairs(KEYS) do
  local untilMs = tonumber(redis.call('HGET', k, 'lockedUntil') or '0')
  if untilMs - now > wait then wait = untilMs - now end
end
if wait > 0 then return {tostring(wait), '0', '', ''} end
local free, base, max, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lock = 0
local addrBefore = redis.call('HGET', KEYS[2], 'lockedUntil') or ''
local addrAfter = addrBefore
for i, k in ipairs(KEYS) do
  local n = redis.call('HINCRBY', k, 'failures', 1)
  local keep = forget
  if n >= free then
    local delay = max
    local steps = n - free
    if steps < 40 then delay = math.min(max, base * 2 ^ steps) end
    local untilMs = string.format('%d', now + delay)
    redis.call('HSET', k, 'lockedUntil', untilMs)
    if i == 2 then addrAfter = untilMs end
    if delay > lock then lock = delay end
    if delay > keep then keep = delay end
  end
  redis.call('PEXPIRE', k, keep)
end
return {'0', tostring(lock), addrBefore, addrAfter}
`;

// The attempt succeeded. KEYS: user, address. ARGV: the address's lockedUntil before and after the attempt.
// Forgets the user's failures; takes the success off the address's count and, unless a failure
// meanwhile locked it again, puts back the address lock as it was before.
const SUCCESS_LUA = `
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'failures', -1)
  local current = redis.call('HGET', KEYS[2], 'lockedUntil') or ''
  if current == ARGV[2] and ARGV[1] ~= ARGV[2] then
    if ARGV[1] == '' then redis.call('HDEL', KEYS[2], 'lockedUntil') else redis.call('HSET', KEYS[2], 'lockedUntil', ARGV[1]) end
  end
end
return 1
`;

/** What a success needs to undo its own count on the address. */
export interface AttemptTicket {
  keys: ThrottleKeys;
  addressLockBefore: string;
  addressLockAfter: string;
}

export type Attempt = { refused: true; waitMs: number } | { refused: false; lockMs: number; ticket: AttemptTicket };

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

  /**
   * Count a sign-in attempt as a failure until it proves otherwise (see {@link succeeded}); refused,
   * counting nothing, while either key is locked. `lockMs`: the lock this attempt started.
   */
  async attempt(k: ThrottleKeys): Promise<Attempt> {
    const l = this.limits;
    const [wait, lock, before, after] = (await this.redis.eval(ATTEMPT_LUA, 2, k.user, k.address, l.freeAttempts, l.baseDelayMs, l.maxDelayMs, l.forgetAfterMs)) as [string, string, string, string];
    if (Number(wait) > 0) return { refused: true, waitMs: Number(wait) };
    return { refused: false, lockMs: Number(lock), ticket: { keys: k, addressLockBefore: before, addressLockAfter: after } };
  }

  /** The attempt's token was right: forget the user's failures (never the address's other failures). */
  async succeeded(t: AttemptTicket): Promise<void> {
    await this.redis.eval(SUCCESS_LUA, 2, t.keys.user, t.keys.address, t.addressLockBefore, t.addressLockAfter);
  }

  /** Milliseconds until a sign-in may be tried with these keys (0: now). For status and tests. */
  async waitMs(k: ThrottleKeys): Promise<number> {
    return Number(await this.redis.eval(CHECK_LUA, 2, k.user, k.address));
  }
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
