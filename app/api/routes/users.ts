import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { CreateUserRequest, IssuedToken, LoginRequest, PublicUser, SessionInfo, UpdateUserRequest, UserList, UserName, type UserRecord } from '../../../schemas/api.js';
import { SignInThrottle } from '../../../workers/sign-in-throttle.js';
import { SESSION_COOKIE, currentUser } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { HttpError, unauthenticated } from '../errors.js';
import type { RouteTable } from '../route-table.js';

const rateLimited = (waitMs: number) => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new HttpError(429, 'RATE_LIMITED', `too many failed sign-ins: try again in ${seconds} s`, { 'Retry-After': String(seconds) });
};

/** The peer address of the connection (no proxy header is trusted); `unknown` in-process (app.request). */
function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const info = (user: UserRecord, via: 'session' | 'token', csrfToken: string | null): SessionInfo => ({ user: { name: user.name, role: user.role, cases: user.cases }, csrfToken, via });
const nameParam = (raw: string) => {
  const r = UserName.safeParse(raw);
  if (!r.success) throw new HttpError(404, 'NOT_FOUND', 'no such user');
  return r.data;
};

/** Sign-in for the web app, and user management for admins. */
export function userRoutes(t: RouteTable, d: ApiDeps): void {
  const throttle = new SignInThrottle(d.services.redis, d.services.config.redis.prefix, d.options.signIn);
  t.def(
    { method: 'post', path: '/api/session', summary: 'Sign in with a user name and API token; sets the session cookie', tag: 'session', access: 'public', body: LoginRequest, response: SessionInfo, errors: [429] },
    async (c, { body }) => {
      // Counted before the token is checked; while the user name or the address is locked the token
      // is not even checked, so a right guess is refused too.
      const attempt = await throttle.attempt(throttle.keys(body.name, clientAddress(c)));
      if (attempt.refused) throw rateLimited(attempt.waitMs);
      const user = await d.users.authenticateToken(body.token);
      // One answer for a wrong name and a wrong token.
      if (!user || user.name !== body.name) {
        d.logger.warn({ context: 'api', user: body.name, address: clientAddress(c), lockMs: attempt.lockMs }, 'sign-in refused');
        throw unauthenticated('unknown user or wrong token');
      }
      await throttle.succeeded(attempt.ticket);
      const { sessionId, csrfToken } = await d.users.createSession(user.name, d.options.sessionTtlSeconds, body.token);
      setCookie(c, SESSION_COOKIE, sessionId, { httpOnly: true, sameSite: 'Strict', path: '/', secure: d.options.secureCookies, maxAge: d.options.sessionTtlSeconds });
      d.logger.info({ context: 'api', user: user.name }, 'signed in');
      return info(user, 'session', csrfToken);
    },
  );
  t.def({ method: 'get', path: '/api/session', summary: 'Who is signed in (and the CSRF token of the session)', tag: 'session', access: 'signed-in', response: SessionInfo }, async (c) =>
    info(currentUser(c), c.get('via') ?? 'token', c.get('csrfToken')),
  );
  t.def({ method: 'delete', path: '/api/session', summary: 'Sign out', tag: 'session', access: 'signed-in', response: z.object({ ok: z.boolean() }) }, async (c) => {
    const sid = getCookie(c, SESSION_COOKIE);
    if (sid) await d.users.deleteSession(sid);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  t.def({ method: 'get', path: '/api/users', summary: 'List users', tag: 'users', access: 'manage-users', response: UserList }, async () => ({
    users: (await d.users.list()).map(({ schemaVersion: _v, ...u }) => u),
  }));
  t.def({ method: 'post', path: '/api/users', summary: 'Create a user', tag: 'users', access: 'manage-users', body: CreateUserRequest, response: PublicUser, status: 201 }, async (c, { body }) => {
    const { schemaVersion: _v, ...u } = await d.users.add(body.name, body.role, body.cases, currentUser(c).name);
    d.logger.info({ context: 'api', admin: currentUser(c).name, user: u.name, role: u.role }, 'user created');
    return { ...u, tokens: 0 };
  });
  t.def(
    { method: 'patch', path: '/api/users/:name', summary: 'Change role, case memberships or disabled flag', tag: 'users', access: 'manage-users', body: UpdateUserRequest, response: PublicUser, errors: [404] },
    async (c, { body }) => {
      const name = nameParam(c.req.param('name') ?? '');
      const { schemaVersion: _v, ...u } = await d.users.update(name, body);
      d.logger.info({ context: 'api', admin: currentUser(c).name, user: name, change: body }, 'user changed');
      const tokens = (await d.users.list()).find((x) => x.name === name)?.tokens ?? 0;
      return { ...u, tokens };
    },
  );
  t.def({ method: 'post', path: '/api/users/:name/tokens', summary: 'Issue an API token (shown once)', tag: 'users', access: 'manage-users', response: IssuedToken, status: 201, errors: [404] }, async (c) => {
    const name = nameParam(c.req.param('name') ?? '');
    const { token, tokenId } = await d.users.issueToken(name);
    d.logger.info({ context: 'api', admin: currentUser(c).name, user: name, tokenId }, 'token issued');
    return { name, token, tokenId };
  });
  t.def({ method: 'delete', path: '/api/users/:name/tokens', summary: "Revoke all of a user's API tokens", tag: 'users', access: 'manage-users', response: z.object({ revoked: z.number().int() }), errors: [404] }, async (c) => {
    const name = nameParam(c.req.param('name') ?? '');
    if (!(await d.users.get(name))) throw new HttpError(404, 'NOT_FOUND', `no user ${name}`);
    return { revoked: await d.users.revokeTokens(name) };
  });
}
