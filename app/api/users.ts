import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isoUtc, type Clock } from '../../lib/clock.js';
import { PermanentError } from '../../lib/errors.js';
import { UserRecord, type Role } from '../../schemas/api.js';

/**
 * Users of the HTTP API, their case memberships, API tokens and web sessions, in Redis.
 *
 * Tokens are 32 random bytes (base64url, prefixed `exh_`); only their SHA-256 is stored, mapped to
 * the user name, so a Redis dump does not let anyone act as a user. Sessions work the same way: the
 * cookie holds a random id, Redis holds its SHA-256 with the user name, the session's CSRF token and
 * the hash of the token it was signed in with, and expires it. A session lives no longer than that
 * token: it is checked on every request, and revoking a user's tokens or disabling the user also
 * deletes every session of theirs.
 */
export interface UserStoreDeps {
  redis: Redis;
  clock: Clock;
  /** Redis key prefix (config `redis.prefix`). */
  prefix: string;
}

export interface Session {
  user: UserRecord;
  csrfToken: string;
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const randomToken = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** Constant-time string comparison (for CSRF tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class UserStore {
  private readonly deps: UserStoreDeps;
  constructor(deps: UserStoreDeps) {
    this.deps = deps;
  }

  private get keys() {
    const p = `${this.deps.prefix}:api`;
    return {
      users: `${p}:users`,
      tokens: `${p}:tokens`,
      userTokens: (name: string) => `${p}:user-tokens:${name}`,
      session: (hash: string) => `${p}:session:${hash}`,
      userSessions: (name: string) => `${p}:user-sessions:${name}`,
    };
  }

  async get(name: string): Promise<UserRecord | null> {
    const raw = await this.deps.redis.hget(this.keys.users, name);
    return raw ? UserRecord.parse(JSON.parse(raw)) : null;
  }

  async list(): Promise<Array<UserRecord & { tokens: number }>> {
    const all = await this.deps.redis.hgetall(this.keys.users);
    const users = Object.values(all).map((raw) => UserRecord.parse(JSON.parse(raw)));
    users.sort((a, b) => a.name.localeCompare(b.name));
    return Promise.all(users.map(async (u) => ({ ...u, tokens: await this.deps.redis.scard(this.keys.userTokens(u.name)) })));
  }

  /** Create a user; refuses an existing name (INVALID_INPUT). */
  async add(name: string, role: Role, cases: string[], createdBy: string): Promise<UserRecord> {
    const user = UserRecord.parse({ schemaVersion: 'exhibit.user/1', name, role, cases: [...new Set(cases)].sort(), createdAt: isoUtc(this.deps.clock.now()), createdBy, disabled: false });
    const created = await this.deps.redis.hsetnx(this.keys.users, name, JSON.stringify(user));
    if (created === 0) throw new PermanentError('INVALID_INPUT', `user ${name} already exists`);
    return user;
  }

  /** Change role, memberships or disabled flag. NOT_FOUND when the user does not exist. */
  async update(name: string, change: { role?: Role; addCases?: string[]; removeCases?: string[]; disabled?: boolean }): Promise<UserRecord> {
    // WATCH/MULTI on a connection of its own (WATCH state is per connection, and the shared one
    // serves other requests meanwhile), so two admins editing one user do not lose a change.
    const conn = this.deps.redis.duplicate();
    conn.on('error', () => undefined);
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        await conn.watch(this.keys.users);
        const raw = await conn.hget(this.keys.users, name);
        if (!raw) {
          await conn.unwatch();
          throw new PermanentError('NOT_FOUND', `no user ${name}`);
        }
        const current = UserRecord.parse(JSON.parse(raw));
        const cases = new Set(current.cases);
        for (const c of change.addCases ?? []) cases.add(c);
        for (const c of change.removeCases ?? []) cases.delete(c);
        const next = UserRecord.parse({ ...current, role: change.role ?? current.role, cases: [...cases].sort(), disabled: change.disabled ?? current.disabled });
        const res = await conn.multi().hset(this.keys.users, name, JSON.stringify(next)).exec();
        if (res) {
          if (next.disabled && !current.disabled) await this.endSessions(name);
          return next;
        }
      }
    } finally {
      conn.disconnect();
    }
    throw new PermanentError('INTERNAL', `user ${name} is being changed concurrently; try again`);
  }

  /** A new API token for the user (shown once; stored as its SHA-256). */
  async issueToken(name: string): Promise<{ token: string; tokenId: string }> {
    if (!(await this.get(name))) throw new PermanentError('NOT_FOUND', `no user ${name}`);
    const token = randomToken('exh_');
    const hash = sha256Hex(token);
    const record = JSON.stringify({ name, createdAt: isoUtc(this.deps.clock.now()) });
    await this.deps.redis.multi().hset(this.keys.tokens, hash, record).sadd(this.keys.userTokens(name), hash).exec();
    return { token, tokenId: `sha256:${hash.slice(0, 16)}` };
  }

  /** Revoke every token of the user, and end every session signed in with one; returns how many tokens there were. */
  async revokeTokens(name: string): Promise<number> {
    const hashes = await this.deps.redis.smembers(this.keys.userTokens(name));
    if (hashes.length) await this.deps.redis.multi().hdel(this.keys.tokens, ...hashes).del(this.keys.userTokens(name)).exec();
    await this.endSessions(name);
    return hashes.length;
  }

  /** Delete every web session of the user. */
  async endSessions(name: string): Promise<number> {
    const key = this.keys.userSessions(name);
    const hashes = await this.deps.redis.smembers(key);
    if (hashes.length) await this.deps.redis.multi().del(...hashes.map((h) => this.keys.session(h))).srem(key, ...hashes).exec();
    return hashes.length;
  }

  /** The user a token belongs to, or null (unknown token, deleted or disabled user). */
  async authenticateToken(token: string): Promise<UserRecord | null> {
    if (!token.startsWith('exh_') || token.length > 200) return null;
    const raw = await this.deps.redis.hget(this.keys.tokens, sha256Hex(token));
    if (!raw) return null;
    const { name } = JSON.parse(raw) as { name: string };
    const user = await this.get(name);
    return user && !user.disabled ? user : null;
  }

  /** Start a web session for a user signed in with `token`; returns the cookie value and the session's CSRF token. */
  async createSession(name: string, ttlSeconds: number, token: string): Promise<{ sessionId: string; csrfToken: string }> {
    const sessionId = randomToken('');
    const csrfToken = randomToken('');
    const hash = sha256Hex(sessionId);
    const key = this.keys.userSessions(name);
    await this.deps.redis
      .multi()
      .set(this.keys.session(hash), JSON.stringify({ name, csrfToken, tokenHash: sha256Hex(token) }), 'EX', ttlSeconds)
      .sadd(key, hash)
      // The index outlives its newest session; entries of expired sessions are dropped with it.
      .expire(key, ttlSeconds, 'GT')
      .expire(key, ttlSeconds, 'NX')
      .exec();
    return { sessionId, csrfToken };
  }

  /** The session's user, or null: unknown or expired session, its token revoked, user deleted or disabled. */
  async session(sessionId: string): Promise<Session | null> {
    if (!sessionId || sessionId.length > 200) return null;
    const raw = await this.deps.redis.get(this.keys.session(sha256Hex(sessionId)));
    if (!raw) return null;
    const { name, csrfToken, tokenHash } = JSON.parse(raw) as { name: string; csrfToken: string; tokenHash?: string };
    // Checked on every request, so a revocation racing a sign-in still ends the session.
    const tokenRaw = tokenHash ? await this.deps.redis.hget(this.keys.tokens, tokenHash) : null;
    if (!tokenRaw || (JSON.parse(tokenRaw) as { name: string }).name !== name) return null;
    const user = await this.get(name);
    return user && !user.disabled ? { user, csrfToken } : null;
  }

  async deleteSession(sessionId: string): Promise<void> {
    const hash = sha256Hex(sessionId);
    const raw = await this.deps.redis.get(this.keys.session(hash));
    const name = raw ? (JSON.parse(raw) as { name: string }).name : null;
    const tx = this.deps.redis.multi().del(this.keys.session(hash));
    if (name) tx.srem(this.keys.userSessions(name), hash);
    await tx.exec();
  }
}
