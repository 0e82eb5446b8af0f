import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { isoUtc, systemClock, type Clock } from '../lib/clock.js';
import { ConfigError, IntegrityError, PermanentError } from '../lib/errors.js';
import { AccountName, type AccountUse } from '../schemas/capture.js';
import type { Config } from '../schemas/config.js';

/**
 * Collection accounts: a Playwright browser storage state (cookies + localStorage, as
 * `context.storageState()` writes it) per platform account, encrypted at rest with AES-256-GCM.
 * One file per account, `<dir>/<platform>/<label>.json`, mode 0600: public facts (label, platform,
 * handle, import time) in clear, bound to the ciphertext as additional authenticated data, so
 * editing either fails authentication. Not evidence: the evidence says only which account was used.
 */

/** What Playwright's `storageState` holds; validated on import so a wrong file is refused early. */
export const StorageState = z.object({
  cookies: z.array(
    z
      .object({
        name: z.string(),
        value: z.string(),
        domain: z.string(),
        path: z.string(),
        expires: z.number(),
        httpOnly: z.boolean(),
        secure: z.boolean(),
        sameSite: z.enum(['Strict', 'Lax', 'None']),
      })
      .passthrough(),
  ),
  origins: z.array(z.object({ origin: z.string(), localStorage: z.array(z.object({ name: z.string(), value: z.string() })) }).passthrough()),
});
export type StorageState = z.infer<typeof StorageState>;

/** An account as listed: never cookies. */
export interface AccountInfo extends AccountUse {
  importedAt: string;
}

/** An account ready for a browser context. */
export interface LoadedAccount {
  info: AccountInfo;
  storageState: StorageState;
}

const AccountFile = z.object({
  schemaVersion: z.literal('exhibit.account/1'),
  label: AccountName,
  platform: AccountName,
  handle: z.string().nullable(),
  importedAt: z.string(),
  cipher: z.literal('aes-256-gcm'),
  iv: z.string(),
  tag: z.string(),
  ciphertext: z.string(),
});
type AccountFile = z.infer<typeof AccountFile>;

const KEY_VAR = 'EXHIBIT_ACCOUNTS_KEY';

/** Decode a base64 AES-256 key. @throws ConfigError unless it is exactly 32 bytes. */
export function parseAccountsKey(b64: string): Buffer {
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new ConfigError(`accounts.key (${KEY_VAR}) must be 32 bytes, base64-encoded (e.g. \`openssl rand -base64 32\`)`);
  return key;
}

/** The public facts bound to the ciphertext (AES-GCM additional authenticated data). */
function aad(f: Pick<AccountFile, 'label' | 'platform' | 'handle' | 'importedAt'>): Buffer {
  return Buffer.from(JSON.stringify(['exhibit.account/1', f.platform, f.label, f.handle, f.importedAt]), 'utf8');
}

function checkName(what: string, v: string): string {
  const r = AccountName.safeParse(v);
  if (!r.success) throw new PermanentError('INVALID_INPUT', `account ${what} ${JSON.stringify(v)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return v;
}

export interface AccountVaultOptions {
  /** Directory of the account files. */
  dir: string;
  /** 32-byte AES key, or null when none is configured (listing and removing still work). */
  key: Buffer | null;
  clock?: Clock;
}

export class AccountVault {
  private readonly dir: string;
  private readonly key: Buffer | null;
  private readonly clock: Clock;

  constructor(opts: AccountVaultOptions) {
    if (opts.key !== null && opts.key.length !== 32) throw new ConfigError(`accounts.key (${KEY_VAR}) must be 32 bytes`);
    this.dir = opts.dir;
    this.key = opts.key;
    this.clock = opts.clock ?? systemClock;
  }

  /** The vault configured by `accounts.dir` and `accounts.key`. */
  static fromConfig(config: Pick<Config, 'accounts'>, clock?: Clock): AccountVault {
    return new AccountVault({ dir: config.accounts.dir, key: config.accounts.key ? parseAccountsKey(config.accounts.key) : null, ...(clock ? { clock } : {}) });
  }

  private requireKey(what: string): Buffer {
    if (!this.key) throw new ConfigError(`cannot ${what}: no accounts key is configured; set ${KEY_VAR} (accounts.key) to 32 random bytes, base64-encoded (e.g. \`openssl rand -base64 32\`)`);
    return this.key;
  }

  private file(platform: string, label: string): string {
    return path.join(this.dir, checkName('platform', platform), `${checkName('label', label)}.json`);
  }

  /** Encrypt and store a storage state for `platform`/`label`, replacing an earlier import. */
  async import(platform: string, label: string, storageState: unknown, handle: string | null = null): Promise<AccountInfo> {
    const key = this.requireKey('import a collection account');
    const file = this.file(platform, label);
    const parsed = StorageState.safeParse(storageState);
    if (!parsed.success) throw new PermanentError('INVALID_INPUT', `not a Playwright storage state (cookies + origins): ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const info: AccountInfo = { label, platform, handle: handle ? handle.replace(/^@/, '') : null, importedAt: isoUtc(this.clock.now()) };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad(info));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(parsed.data), 'utf8'), cipher.final()]);
    const doc: AccountFile = { schemaVersion: 'exhibit.account/1', ...info, cipher: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') };
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    return info;
  }

  private async readDoc(platform: string, label: string): Promise<AccountFile | null> {
    let text: string;
    try {
      text = await readFile(this.file(platform, label), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return AccountFile.parse(JSON.parse(text));
    } catch (cause) {
      throw new IntegrityError('INVALID_INPUT', `collection account ${platform}/${label} is not a readable account file: ${(cause as Error).message.split('\n')[0]}`, { cause });
    }
  }

  /** Every account, by platform then label: public facts only (no key needed). */
  async list(): Promise<AccountInfo[]> {
    const out: AccountInfo[] = [];
    const platforms = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    for (const p of platforms.filter((d) => d.isDirectory() && AccountName.safeParse(d.name).success).sort((a, b) => a.name.localeCompare(b.name))) {
      const files = (await readdir(path.join(this.dir, p.name))).filter((f) => f.endsWith('.json')).sort();
      for (const f of files) {
        const label = f.slice(0, -'.json'.length);
        if (!AccountName.safeParse(label).success) continue;
        const doc = await this.readDoc(p.name, label);
        if (doc) out.push({ label: doc.label, platform: doc.platform, handle: doc.handle, importedAt: doc.importedAt });
      }
    }
    return out;
  }

  /** Public facts of one account, or null. */
  async info(platform: string, label: string): Promise<AccountInfo | null> {
    const doc = await this.readDoc(platform, label);
    return doc ? { label: doc.label, platform: doc.platform, handle: doc.handle, importedAt: doc.importedAt } : null;
  }

  /** Delete an account's file. @returns whether it existed. */
  async remove(platform: string, label: string): Promise<boolean> {
    const file = this.file(platform, label);
    const existed = (await this.readDoc(platform, label).catch(() => 'unreadable')) !== null;
    await rm(file, { force: true });
    return existed;
  }

  /**
   * Decrypt an account for a browser context.
   * @throws PermanentError INVALID_INPUT when there is no such account; ConfigError without a key;
   *   IntegrityError when authentication fails (wrong key, or the file was altered).
   */
  async load(platform: string, label: string): Promise<LoadedAccount> {
    const doc = await this.readDoc(platform, label);
    if (!doc) {
      const others = (await this.list()).filter((a) => a.label === label).map((a) => a.platform);
      throw new PermanentError('INVALID_INPUT', `no collection account "${label}" for ${platform}${others.length ? ` (there is one for ${others.join(', ')})` : ''}; import one with \`exhibit accounts import ${platform} ${label} --storage-state <file>\``);
    }
    const key = this.requireKey(`use collection account ${platform}/${label}`);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(doc.iv, 'base64'), { authTagLength: 16 });
      decipher.setAAD(aad(doc));
      decipher.setAuthTag(Buffer.from(doc.tag, 'base64'));
      plain = Buffer.concat([decipher.update(Buffer.from(doc.ciphertext, 'base64')), decipher.final()]);
    } catch (cause) {
      throw new IntegrityError('INVALID_INPUT', `collection account ${platform}/${label} failed AES-GCM authentication: the accounts key is wrong or the file was altered`, { cause });
    }
    return { info: { label: doc.label, platform: doc.platform, handle: doc.handle, importedAt: doc.importedAt }, storageState: StorageState.parse(JSON.parse(plain.toString('utf8'))) };
  }
}
