import { Role } from '../../schemas/api.js';
import type { Config } from '../../schemas/config.js';
import { CaseId } from '../../schemas/common.js';
import { UserName } from '../../schemas/api.js';
import { PermanentError } from '../../lib/errors.js';
import { UserStore } from '../api/users.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { connect, resolveRedis } from '../../workers/redis.js';
import { systemClock } from '../../lib/clock.js';
import { err, out } from './common.js';
import os from 'node:os';

const parse = <T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } } }, v: unknown, what: string): T => {
  const r = schema.safeParse(v);
  if (!r.success) throw new PermanentError('INVALID_INPUT', `${what}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
};

/** `exhibit users add|token|list|cases`: manage API users from the server's shell (how the first admin is made). */
export async function usersCommand(config: Config, action: 'add' | 'token' | 'list' | 'cases', args: { name?: string; role?: string; cases?: string[]; remove?: string[]; json: boolean }): Promise<ExitCode> {
  // Only Redis is needed: no store, no queues (a fast failure must not race their connecting).
  const redis = connect(await resolveRedis(config));
  redis.on('error', () => undefined);
  try {
    const users = new UserStore({ redis, clock: systemClock, prefix: config.redis.prefix });
    if (action === 'list') {
      const all = await users.list();
      if (args.json) out(JSON.stringify(all.map(({ schemaVersion: _v, ...u }) => u), null, 2));
      else for (const u of all) out(`${u.name}  ${u.role}${u.disabled ? ' (disabled)' : ''}  cases: ${u.cases.join(', ') || '—'}  tokens: ${u.tokens}`);
      return EXIT.OK;
    }
    const name = parse(UserName, args.name, 'user name');
    if (action === 'add') {
      const role = parse(Role, args.role, '--role');
      const cases = (args.cases ?? []).map((c) => parse(CaseId, c, '--case'));
      const u = await users.add(name, role, cases, `cli:${os.userInfo().username}`);
      if (args.json) out(JSON.stringify(u));
      else out(`user ${u.name} (${u.role}) created${u.cases.length ? `, member of ${u.cases.join(', ')}` : ''}; issue a token with: exhibit users token ${u.name}`);
      return EXIT.OK;
    }
    if (action === 'cases') {
      const u = await users.update(name, { addCases: (args.cases ?? []).map((c) => parse(CaseId, c, '--case')), removeCases: (args.remove ?? []).map((c) => parse(CaseId, c, '--remove')) });
      out(args.json ? JSON.stringify(u) : `${u.name}: ${u.cases.join(', ') || 'no cases'}`);
      return EXIT.OK;
    }
    const { token, tokenId } = await users.issueToken(name);
    if (args.json) out(JSON.stringify({ name, token, tokenId }));
    else {
      out(token);
      err(`API token ${tokenId} for ${name}: shown once, stored only as its SHA-256. Send it as "Authorization: Bearer <token>", or sign in to the web app with it.`);
    }
    return EXIT.OK;
  } finally {
    redis.disconnect();
  }
}
