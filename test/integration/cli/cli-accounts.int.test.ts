import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exhibit as runExhibit } from '../../support/cli.js';

const COOKIE = 'cli-secret-cookie-4b5c6d';

/** The CLI with no accounts key from the caller's environment unless the test gives one. */
const exhibit = (args: string[], env: Record<string, string>) => runExhibit(args, { EXHIBIT_ACCOUNTS_KEY: '', ...env });

/** `exhibit accounts` through the real front door (no Redis needed). */
describe('exhibit accounts import | list | remove', () => {
  let dir: string;
  let state: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-cli-acct-'));
    state = path.join(dir, 'state.json');
    writeFileSync(state, JSON.stringify({ cookies: [{ name: 'sid', value: COOKIE, domain: 'x.com', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' }], origins: [] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to import without EXHIBIT_ACCOUNTS_KEY (exit 3, naming the variable)', async () => {
    const r = await exhibit(['--state-dir', dir, 'accounts', 'import', 'x', 'research-1', '--storage-state', state], {});
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('EXHIBIT_ACCOUNTS_KEY');
  });

  it('imports (encrypted, 0600), lists without cookies, removes', async () => {
    const env = { EXHIBIT_ACCOUNTS_KEY: randomBytes(32).toString('base64') };
    const imp = await exhibit(['--state-dir', dir, 'accounts', 'import', 'x', 'research-1', '--storage-state', state, '--handle', '@research_one'], env);
    expect(imp.code, imp.stderr).toBe(0);
    const files = readdirSync(path.join(dir, 'accounts', 'x'));
    expect(files).toEqual(['research-1.json']);
    const file = path.join(dir, 'accounts', 'x', 'research-1.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(COOKIE);
    // Listing needs no key; a collector flag on the way is accepted by the global parser.
    const list = await exhibit(['--state-dir', dir, 'accounts', 'list', '--json', '--collectors.x.hosts', '["x.example"]'], {});
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ label: 'research-1', platform: 'x', handle: 'research_one', importedAt: expect.stringMatching(/Z$/) }]);
    const human = await exhibit(['--state-dir', dir, 'accounts', 'list'], {});
    expect(human.stdout).toMatch(/x\s+research-1\s+@research_one\s+imported \d{4}-/);
    expect(human.stdout + list.stdout + imp.stdout + imp.stderr).not.toContain(COOKIE);
    expect((await exhibit(['--state-dir', dir, 'accounts', 'import', 'x', '../evil', '--storage-state', state], env)).code).toBe(4);
    expect((await exhibit(['--state-dir', dir, 'accounts', 'remove', 'x', 'research-1'], {})).code).toBe(0);
    expect((await exhibit(['--state-dir', dir, 'accounts', 'remove', 'x', 'research-1'], {})).code).toBe(6);
    expect((await exhibit(['--state-dir', dir, '--collector-option', 'broken', 'accounts', 'list'], {})).code).toBe(3);
  });
});
