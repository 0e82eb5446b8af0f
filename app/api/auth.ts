import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Role, UserRecord } from '../../schemas/api.js';
import { sameSecret, type UserStore } from './users.js';
import type { ApiEnv } from './context.js';
import { caseNotFound, forbidden, HttpError, unauthenticated } from './errors.js';

export const SESSION_COOKIE = 'exhibit_session';
export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * What each role may do. Admins manage users and see the queues; they read no evidence.
 * Case-scoped permissions also need membership of the case.
 */
export const PERMISSIONS = {
  submit: ['analyst'],
  /** Add, pause, resume, run and remove watches of the case. */
  watch: ['analyst'],
  /** Tags and notes on captures (custody events; the evidence is not changed). */
  annotate: ['analyst'],
  'read-evidence': ['analyst', 'prosecutor'],
  'read-custody': ['analyst', 'prosecutor', 'auditor'],
  'list-cases': ['analyst', 'prosecutor', 'auditor'],
  package: ['prosecutor'],
  /**
   * Build a package for a partner agency and list the shares of a case. Its own permission (not
   * `package`): a disclosure abroad is a decision of its own, so a deployment can give court
   * packages to a role that may not share. Prosecutors by default; auditors see every share and
   * import on the custody log (`shared`, `received` events) through `read-custody`.
   */
  share: ['prosecutor'],
  /** Take a package received from a partner into a case. */
  import: ['prosecutor'],
  verify: ['prosecutor', 'auditor'],
  'manage-users': ['admin'],
  queues: ['admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

export const may = (user: UserRecord, p: Permission) => (PERMISSIONS[p] as readonly Role[]).includes(user.role);

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Who is asking: `Authorization: Bearer <token>` or the session cookie. State-changing requests
 * made with the cookie must carry the session's CSRF token in `X-CSRF-Token`; the bull-board
 * dashboard (which cannot send it) is held to a same-origin check instead. Token requests need no
 * CSRF token: a browser never attaches a bearer token by itself.
 */
export function authenticate(users: UserStore): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    c.set('user', null);
    c.set('via', null);
    c.set('csrfToken', null);
    const auth = c.req.header('authorization');
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const user = m ? await users.authenticateToken(m[1]!) : null;
      if (!user) throw unauthenticated('invalid or revoked API token');
      c.set('user', user);
      c.set('via', 'token');
      return next();
    }
    const sid = getCookie(c, SESSION_COOKIE);
    // The session is only for the web app's own pages. A request another origin makes (a replayed
    // page on the replay origin shares this host name, so the browser still attaches the cookie
    // there) is served as anonymous: it can neither read evidence nor put a read on the log.
    if (sid && crossOrigin(c)) return next();
    if (sid) {
      const session = await users.session(sid);
      if (session) {
        c.set('user', session.user);
        c.set('via', 'session');
        c.set('csrfToken', session.csrfToken);
        if (UNSAFE.has(c.req.method)) checkCsrf(c, session.csrfToken);
      }
    }
    return next();
  };
}

/** Fetch metadata says another origin made the request (`same-site` included: another port is another origin). */
function crossOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  return site === 'same-site' || site === 'cross-site';
}

function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  const host = c.req.header('host');
  if (!origin || !host) return c.req.header('sec-fetch-site') === 'same-origin';
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function checkCsrf(c: Context, expected: string): void {
  if (c.req.path.startsWith('/admin/queues/')) {
    if (!sameOrigin(c)) throw new HttpError(403, 'CSRF', 'cross-origin request refused');
    return;
  }
  const sent = c.req.header(CSRF_HEADER);
  if (!sent || !sameSecret(sent, expected)) throw new HttpError(403, 'CSRF', `missing or wrong ${CSRF_HEADER} header`);
}

/** The signed-in user, or 401. */
export function currentUser(c: Context<ApiEnv>): UserRecord {
  const user = c.get('user');
  if (!user) throw unauthenticated();
  return user;
}

/** The user, who must hold the permission (403 otherwise, whatever the case). */
export function requirePermission(c: Context<ApiEnv>, p: Permission): UserRecord {
  const user = currentUser(c);
  if (!may(user, p)) throw forbidden(`role ${user.role} may not ${p.replace('-', ' ')}`);
  return user;
}

/**
 * The user, who must hold the permission and be a member of the case. A case that does not exist
 * and a case the user is not a member of both answer 404, so membership leaks nothing.
 */
export function requireCase(c: Context<ApiEnv>, p: Permission, caseId: string): UserRecord {
  const user = requirePermission(c, p);
  if (!user.cases.includes(caseId)) throw caseNotFound(caseId);
  return user;
}
