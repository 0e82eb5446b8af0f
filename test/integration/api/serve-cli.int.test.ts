import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exhibit, ROOT } from '../../support/cli.js';

/** The README's way in: create the first admin and a token from the shell, start `serve`, use the token. */
describe('exhibit users + serve (embedded default)', () => {
  let stateDir: string;
  let env: Record<string, string>;
  let server: ChildProcess | null = null;

  beforeAll(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-serve-'));
    env = { EXHIBIT_STATE_DIR: stateDir, EXHIBIT_LOG_LEVEL: 'warn' };
  });
  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await exhibit(['down'], env);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('creates the first admin, refuses a bad role and a duplicate, and issues a token once', async () => {
    const add = await exhibit(['users', 'add', 'chief', '--role', 'admin'], env);
    expect(add.code, add.stderr).toBe(0);
    const dup = await exhibit(['users', 'add', 'chief', '--role', 'admin'], env);
    expect(dup.code).toBe(4);
    expect(dup.stderr).toContain('already exists');
    expect((await exhibit(['users', 'token', 'nobody'], env)).code).toBe(6);
    expect((await exhibit(['users', 'add', 'x', '--role', 'emperor'], env)).code).toBe(2);
    expect((await exhibit(['users', 'add', 'layla', '--role', 'analyst', '--case', 'C-2026-001'], env)).code).toBe(0);
    const list = await exhibit(['users', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'layla', role: 'analyst', cases: ['C-2026-001'] })]));
  });

  it('serve answers with the token from `users token`, and stops on SIGTERM', async () => {
    const tok = await exhibit(['users', 'token', 'chief'], env);
    expect(tok.code, tok.stderr).toBe(0);
    const token = tok.stdout.trim();
    expect(token).toMatch(/^exh_[A-Za-z0-9_-]{43}$/);
    server = spawn(path.join(ROOT, 'exhibit'), ['serve', '--port', '0'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 60_000;
    let url = '';
    while (!url) {
      url = /serving the API and web app at (http:\/\/127\.0\.0\.1:\d+)\//.exec(log)?.[1] ?? '';
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`serve did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The replay origin: another port, serving ReplayWeb.page's viewer from the installed package.
    const replay = /serving the replay origin at (http:\/\/127\.0\.0\.1:\d+) /.exec(log)?.[1] ?? '';
    expect(replay).not.toBe('');
    expect(new URL(replay).port).not.toBe(new URL(url).port);
    const ui = await fetch(`${replay}/rwp/ui.js`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/^text\/javascript/);
    const me = await fetch(`${url}/api/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ user: { name: 'chief', role: 'admin' }, via: 'token' });
    expect((await fetch(`${url}/api/session`, { headers: { authorization: 'Bearer exh_wrong' } })).status).toBe(401);
    const users = (await (await fetch(`${url}/api/users`, { headers: { authorization: `Bearer ${token}` } })).json()) as { users: Array<{ name: string }> };
    expect(users.users.map((u) => u.name).sort()).toEqual(['chief', 'layla']);
    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
