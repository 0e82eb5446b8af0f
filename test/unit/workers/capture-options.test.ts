import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountVault } from '../../../collectors/accounts.js';
import { configFrom } from '../../../lib/config.js';
import type { SealPayload } from '../../../schemas/jobs.js';
import { accountUseFor, collectorFor, profileRequest, profileUrlOf } from '../../../workers/capture.js';

const STATE = { cookies: [{ name: 's', value: 'secret-cookie', domain: 'social.example', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Lax' as const }], origins: [] };
const CAPTURE_ID = '01900000-0000-7000-8000-0000000000a1';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-capopts-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function payload(options: Record<string, unknown>, post: unknown, status: 'captured' | 'failed' = 'captured'): SealPayload {
  writeFileSync(path.join(dir, 'post.json'), JSON.stringify(post));
  return {
    captureId: CAPTURE_ID,
    submittedAt: '2026-11-25T10:00:00.000Z',
    request: { url: 'https://social.example/@layla/1', caseId: 'C-1', requestedBy: 'analyst-01', legalBasis: 'W 1/2026', options },
    spoolDir: dir,
    output: { status, failure: null, files: [{ path: 'post.json', role: 'post', mediaType: 'application/json', sourceUrl: null, flags: [] }] },
  } as unknown as SealPayload;
}

describe('capture request options in the capture stage', () => {
  it('resolves --account against the chosen collector\'s platform, recording label, platform and handle only', async () => {
    const config = configFrom({ stateDir: dir, collectors: { mastodon: { hosts: ['social.example'] } } });
    const accounts = new AccountVault({ dir: path.join(dir, 'accounts'), key: randomBytes(32) });
    await accounts.import('mastodon', 'research-1', STATE, '@layla_r');
    await accounts.import('x', 'x-only', STATE);
    const req = (account?: string) => ({ url: 'https://social.example/@layla/1', caseId: 'C-1', requestedBy: 'a', options: account ? { account } : {} });
    const { collector } = collectorFor(req(), { config });
    expect(collector.id).toBe('mastodon');
    expect(await accountUseFor(req(), collector, { config, accounts })).toBeNull();
    const use = await accountUseFor(req('research-1'), collector, { config, accounts });
    expect(use).toEqual({ label: 'research-1', platform: 'mastodon', handle: 'layla_r' });
    expect(JSON.stringify(use)).not.toContain('secret-cookie');
    await expect(accountUseFor(req('x-only'), collector, { config, accounts })).rejects.toMatchObject({ name: 'PermanentError', code: 'INVALID_INPUT', message: expect.stringContaining('"x-only" for mastodon (there is one for x)') });
    await expect(accountUseFor(req('ghost'), collector, { config, accounts })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('"ghost"') });
  });

  it('--with-profile: a linked request for the author profile, same case and operator, carrying profileOf (logged out, not forced)', async () => {
    const p = payload({ withProfile: true, allowPrivateNetwork: true, force: true, account: 'research-1' }, { post: { author: { profileUrl: 'https://social.example/@layla' } } });
    const url = await profileUrlOf(p);
    expect(url).toBe('https://social.example/@layla');
    expect(profileRequest(p, url)).toEqual({
      url: 'https://social.example/@layla',
      caseId: 'C-1',
      requestedBy: 'analyst-01',
      legalBasis: 'W 1/2026',
      options: { allowPrivateNetwork: true, profileOf: CAPTURE_ID },
    });
  });

  it('--with-profile: nothing when not asked, no profile URL, a failed capture, or already a profile capture', async () => {
    const withUrl = { post: { author: { profileUrl: 'https://social.example/@layla' } } };
    expect(profileRequest(payload({}, withUrl), 'https://social.example/@layla')).toBeNull();
    expect(await profileUrlOf(payload({ withProfile: true }, { post: { author: null } }))).toBeNull();
    expect(await profileUrlOf(payload({ withProfile: true }, { post: { author: { profileUrl: 'javascript:alert(1)' } } }))).toBeNull();
    expect(await profileUrlOf(payload({ withProfile: true }, withUrl, 'failed'))).toBeNull();
    expect(profileRequest(payload({ withProfile: true, profileOf: CAPTURE_ID }, withUrl), 'https://social.example/@layla')).toBeNull();
  });
});
