import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountVault, parseAccountsKey } from '../../../collectors/accounts.js';

import { configFrom } from '../../../lib/config.js';
import { buildEnvironment } from '../../../collectors/browser/environment.js';
import { CaptureEnvironment } from '../../../schemas/capture.js';

const COOKIE = 'c0ffee-secret-session-value-9a8b7c';
const LOCAL = 'local-storage-token-5d4e3f';
const STATE = {
  cookies: [{ name: '_session_id', value: COOKIE, domain: 'social.example', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' as const }],
  origins: [{ origin: 'https://social.example', localStorage: [{ name: 'token', value: LOCAL }] }],
};

let dir: string;
let key: Buffer;
let vault: AccountVault;
const file = () => path.join(dir, 'mastodon', 'research-1.json');

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-accounts-'));
  key = randomBytes(32);
  vault = new AccountVault({ dir, key, clock: { now: () => new Date('2026-11-25T10:00:00.000Z') } });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('collection account vault (AES-256-GCM at rest)', () => {
  it('round-trips a storage state and lists only public facts', async () => {
    const info = await vault.import('mastodon', 'research-1', STATE, '@layla_research');
    expect(info).toEqual({ label: 'research-1', platform: 'mastodon', handle: 'layla_research', importedAt: '2026-11-25T10:00:00.000Z' });
    const loaded = await vault.load('mastodon', 'research-1');
    expect(loaded.storageState).toEqual(STATE);
    expect(loaded.info).toEqual(info);
    const list = await vault.list();
    expect(list).toEqual([info]);
    expect(JSON.stringify(list)).not.toContain(COOKIE);
    expect(JSON.stringify(list)).not.toContain(LOCAL);
  });

  it('never writes the cookie or localStorage in clear, uses a fresh 96-bit IV per file, and writes mode 0600', async () => {
    await vault.import('mastodon', 'research-1', STATE);
    const first = JSON.parse(readFileSync(file(), 'utf8')) as { iv: string; ciphertext: string; cipher: string };
    const raw = readFileSync(file(), 'utf8');
    expect(raw).not.toContain(COOKIE);
    expect(raw).not.toContain(LOCAL);
    expect(first.cipher).toBe('aes-256-gcm');
    expect(Buffer.from(first.iv, 'base64')).toHaveLength(12);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file())).mode & 0o077).toBe(0);
    await vault.import('mastodon', 'research-1', STATE);
    const second = JSON.parse(readFileSync(file(), 'utf8')) as { iv: string; ciphertext: string };
    expect(second.iv).not.toBe(first.iv);
    expect(second.ciphertext).not.toBe(first.ciphertext);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
  });

  it('refuses a tampered ciphertext, auth tag or public field (AES-GCM authentication)', async () => {
    await vault.import('mastodon', 'research-1', STATE, 'layla_research');
    const original = readFileSync(file(), 'utf8');
    const doc = JSON.parse(original) as Record<string, string>;
    const ct = Buffer.from(doc.ciphertext!, 'base64');
    ct[3]! ^= 0x01;
    const tampered: Array<Record<string, string>> = [
      { ...doc, ciphertext: ct.toString('base64') },
      { ...doc, tag: Buffer.alloc(16).toString('base64') },
      { ...doc, tag: Buffer.from(doc.tag!, 'base64').subarray(0, 4).toString('base64') },
      { ...doc, handle: 'someone_else' },
      { ...doc, importedAt: '2020-01-01T00:00:00.000Z' },
    ];
    for (const t of tampered) {
      writeFileSync(file(), JSON.stringify(t));
      await expect(vault.load('mastodon', 'research-1')).rejects.toMatchObject({ name: 'IntegrityError', message: expect.stringMatching(/failed AES-GCM authentication/) });
    }
    writeFileSync(file(), original);
    await expect(vault.load('mastodon', 'research-1')).resolves.toMatchObject({ storageState: STATE });
  });

  it('refuses to decrypt with the wrong key', async () => {
    await vault.import('mastodon', 'research-1', STATE);
    const other = new AccountVault({ dir, key: randomBytes(32) });
    await expect(other.load('mastodon', 'research-1')).rejects.toMatchObject({ name: 'IntegrityError', message: expect.stringMatching(/accounts key is wrong or the file was altered/) });
  });

  it('without a key: import refuses with INVALID_CONFIG naming EXHIBIT_ACCOUNTS_KEY (no default key); listing still works', async () => {
    const noKey = new AccountVault({ dir, key: null });
    await expect(noKey.import('mastodon', 'research-1', STATE)).rejects.toMatchObject({ name: 'ConfigError', code: 'INVALID_CONFIG', message: expect.stringContaining('EXHIBIT_ACCOUNTS_KEY') });
    await vault.import('mastodon', 'research-1', STATE);
    await expect(noKey.load('mastodon', 'research-1')).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('EXHIBIT_ACCOUNTS_KEY') });
    expect((await noKey.list()).map((a) => a.label)).toEqual(['research-1']);
  });

  it('names a missing account (INVALID_INPUT), and the platform that does have that label', async () => {
    await vault.import('x', 'research-1', STATE);
    await expect(vault.load('mastodon', 'research-1')).rejects.toMatchObject({ name: 'PermanentError', code: 'INVALID_INPUT', message: expect.stringMatching(/no collection account "research-1" for mastodon \(there is one for x\)/) });
    await expect(vault.load('mastodon', 'nobody')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('"nobody"') });
  });

  it('refuses labels that are not plain names, and files that are not storage states', async () => {
    for (const bad of ['../escape', 'a/b', '', '.hidden']) await expect(vault.import('mastodon', bad, STATE)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(vault.import('mastodon', 'ok', { cookies: 'nope' })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/not a Playwright storage state/) });
    await expect(vault.import('mastodon', 'ok', [])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('removes an account', async () => {
    await vault.import('mastodon', 'research-1', STATE);
    expect(await vault.remove('mastodon', 'research-1')).toBe(true);
    expect(await vault.remove('mastodon', 'research-1')).toBe(false);
    expect(await vault.list()).toEqual([]);
  });

  it('takes its key from config: 32 bytes base64, else INVALID_CONFIG without echoing the value', () => {
    const good = randomBytes(32).toString('base64');
    expect(parseAccountsKey(good)).toHaveLength(32);
    expect(() => parseAccountsKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    const bad = 'c2hvcnQta2V5LXZhbHVl';
    expect(() => configFrom({ accounts: { key: bad } })).toThrow(/accounts\.key: must be 32 bytes/);
    try {
      configFrom({ accounts: { key: bad } });
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
    const c = configFrom({ stateDir: dir, accounts: { key: good } });
    expect(c.accounts.dir).toBe(path.join(dir, 'accounts'));
    expect(AccountVault.fromConfig(c)).toBeInstanceOf(AccountVault);
  });

  it('the environment record carries label, platform and handle of the account, never its cookies', async () => {
    await vault.import('mastodon', 'research-1', STATE, 'layla_research');
    const { info } = await vault.load('mastodon', 'research-1');
    const env = buildEnvironment({
      software: { exhibitVersion: '0.1.0', gitCommit: null },
      collector: { id: 'mastodon', version: '1.0.0' },
      browserVersion: '1',
      userAgent: 'ua',
      viewport: { width: 1, height: 1 },
      locale: 'en-GB',
      timezone: 'UTC',
      operator: 'analyst-01',
      startedAt: '2026-11-25T10:00:00.000Z',
      finishedAt: '2026-11-25T10:00:01.000Z',
      upstreamProxy: null,
      egress: { ip: null, source: null, error: null },
      captureMethod: 'm',
      account: { label: info.label, platform: info.platform, handle: info.handle },
    });
    expect(CaptureEnvironment.parse(env).account).toEqual({ label: 'research-1', platform: 'mastodon', handle: 'layla_research' });
    expect(JSON.stringify(env)).not.toContain(COOKIE);
  });
});
