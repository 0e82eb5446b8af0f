import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AccountVault } from '../../../collectors/accounts.js';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import type { Config } from '../../../schemas/config.js';
import { CaptureManifest } from '../../../schemas/manifest.js';
import { PostDocument } from '../../../schemas/post.js';
import { storeKeys } from '../../../evidence/store.js';
import { waitForFinal, type CaptureStatus } from '../../../workers/job-state.js';
import { openServices, startWorkers, type RunningWorkers, type Services } from '../../../workers/runtime.js';
import { submitCaptures } from '../../../workers/submit.js';
import { gunzipSync } from 'node:zlib';
import { python } from '../../support/python.js';
import { checkWarc } from '../../../evidence/warc-check.js';
import { MASTODON_FIXTURE_SESSION, startMastodonFixture } from '../../fixtures/mastodon/server.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';

/**
 * Collection accounts and `--with-profile` through the real pipeline (Redis, Chromium, the local
 * store): the Mastodon fixture's followers-only status 1101 answers only a browser that carries the
 * account's session cookie; the post's author profile is captured as a linked capture.
 */
describe('collection accounts and --with-profile (Mastodon fixture, real Redis and Chromium)', () => {
  let site: FixtureSite;
  let s: Services;
  let workers: RunningWorkers;
  let config: Config;
  let stateDir: string;
  const caseId = `C-ACCT-${randomUUID().slice(0, 8)}`;

  const waitFinal = (captureId: string): Promise<CaptureStatus> => waitForFinal(s, captureId, { timeoutMs: 120_000 });
  async function submit(url: string, options: Record<string, unknown>) {
    const [o] = await submitCaptures([{ url, caseId, requestedBy: 'analyst-01', options: { allowPrivateNetwork: true, ...options } }], s);
    if (!o?.ok) throw new Error(`submission rejected: ${JSON.stringify(o)}`);
    return o;
  }
  async function manifestOf(captureId: string): Promise<CaptureManifest> {
    return CaptureManifest.parse(JSON.parse((await s.store.getBytes(storeKeys.manifest(caseId, captureId))).toString('utf8')));
  }
  async function postOf(m: CaptureManifest): Promise<PostDocument> {
    const a = m.artifacts.find((x) => x.role === 'post')!;
    return PostDocument.parse(JSON.parse((await s.store.getBytes(a.storeKey)).toString('utf8')));
  }

  beforeAll(async () => {
    site = await startMastodonFixture();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-acct-'));
    config = configFrom({
      stateDir,
      redis: { url: inject('redisUrl'), prefix: `t${randomUUID().slice(0, 8)}` },
      accounts: { key: randomBytes(32).toString('base64') },
      collectors: { mastodon: { hosts: [site.host] } },
      capture: { concurrency: 2, attempts: 1, navigationTimeoutMs: 10_000, settleTimeoutMs: 6_000, networkQuietMs: 300, timeoutMs: 45_000 },
      log: { level: 'warn' },
    });
    const state = {
      cookies: [{ name: '_session_id', value: MASTODON_FIXTURE_SESSION, domain: '127.0.0.1', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' }],
      origins: [],
    };
    writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify(state));
    await AccountVault.fromConfig(config).import('mastodon', 'research-1', state, '@layla_research');
    s = await openServices(config, createLogger('warn'));
    workers = await startWorkers(s);
  });

  afterAll(async () => {
    await workers?.close();
    await s?.close();
    await site?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('without an account, the followers-only status is a login wall', async () => {
    const o = await submit(`${site.url}/@layla/1101`, {});
    const st = await waitFinal(o.captureId);
    expect(st.state, JSON.stringify(st.failure)).toMatch(/sealed|unsealed/);
    const m = await manifestOf(o.captureId);
    expect(m.status).toBe('failed');
    expect(m.failure?.code).toBe('NOT_VISIBLE');
    expect((await postOf(m)).visibility.state).toBe('login-wall');
    expect(m.environment.account).toBeUndefined();
  });

  it('with --account, the browser carries the session: the post is visible; manifest and custody name the account, never its cookie', async () => {
    const o = await submit(`${site.url}/@layla/1101`, { account: 'research-1', force: true });
    const st = await waitFinal(o.captureId);
    expect(st.state, JSON.stringify(st.failure)).toMatch(/sealed|unsealed/);
    const bytes = await s.store.getBytes(storeKeys.manifest(caseId, o.captureId));
    const m = CaptureManifest.parse(JSON.parse(bytes.toString('utf8')));
    expect(m.status, JSON.stringify(m.failure)).toBe('captured');
    const doc = await postOf(m);
    expect(doc.visibility.state).toBe('visible');
    expect(doc.post?.id).toBe('1101');
    expect(doc.post?.text?.content).toContain('للمتابعين فقط');
    expect(m.environment.account).toEqual({ label: 'research-1', platform: 'mastodon', handle: 'layla_research' });
    expect(m.request.options.account).toBe('research-1');
    expect(bytes.toString('utf8')).not.toContain(MASTODON_FIXTURE_SESSION);
    const env = m.artifacts.find((a) => a.role === 'environment')!;
    expect((await s.store.getBytes(env.storeKey)).toString('utf8')).not.toContain(MASTODON_FIXTURE_SESSION);
    const log = await s.custody.readLog(caseId);
    const started = log.find((e) => e.event.action === 'capture-started' && e.event.subject.captureId === o.captureId)!;
    expect(started.event.details).toMatchObject({ account: { label: 'research-1', platform: 'mastodon', handle: 'layla_research' } });
    for (const e of log) expect(e.bytes.toString('utf8')).not.toContain(MASTODON_FIXTURE_SESSION);
    // The WARC travels in packages: the session cookie the browser sent is withheld (length and
    // SHA-256 kept), and warcio still reads the file.
    const warc = m.artifacts.find((a) => a.role === 'warc')!;
    const warcText = gunzipSync(await s.store.getBytes(warc.storeKey)).toString('latin1');
    expect(warcText).not.toContain(MASTODON_FIXTURE_SESSION);
    const digest = createHash('sha256').update(`_session_id=${MASTODON_FIXTURE_SESSION}`).digest('hex');
    expect(warcText).toMatch(new RegExp(`Cookie: withheld \\(collection account credential, \\d+ bytes, sha256:${digest}\\)`, 'i'));
    expect(warcText).toContain('exhibit-withheld-request-headers');
    const warcFile = path.join(stateDir, 'withheld.warc.gz');
    writeFileSync(warcFile, await s.store.getBytes(warc.storeKey));
    await python('import sys; from warcio.cli import main; sys.exit(main(["check", sys.argv[1]]))', [warcFile]);
    expect((await checkWarc(warcFile)).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('an unknown account fails the capture permanently with INVALID_INPUT naming it', async () => {
    const o = await submit(`${site.url}/@layla/1100`, { account: 'ghost', force: true });
    const st = await waitFinal(o.captureId);
    expect(st.state).toBe('failed');
    expect(st.failure?.code ?? JSON.stringify(st)).toMatch(/INVALID_INPUT/);
    expect(JSON.stringify(st)).toContain('ghost');
    const log = await s.custody.readLog(caseId);
    expect(log.some((e) => e.event.action === 'capture-failed' && e.event.subject.captureId === o.captureId)).toBe(true);
  });

  it('--with-profile captures the author profile into the same case, linked by profileOf', async () => {
    const o = await submit(`${site.url}/@layla/1100`, { withProfile: true });
    const st = await waitFinal(o.captureId);
    expect(st.state, JSON.stringify(st.failure)).toMatch(/sealed|unsealed/);
    const post = await postOf(await manifestOf(o.captureId));
    const profileUrl = post.post!.author!.profileUrl!;
    expect(profileUrl).toBe(`${site.url}/@layla`);
    // The same URL into the same case is one capture: resubmitting finds the linked one.
    const again = await submit(profileUrl, {});
    expect(again.duplicate).toBe(true);
    const pst = await waitFinal(again.captureId);
    expect(pst.state, JSON.stringify(pst.failure)).toMatch(/sealed|unsealed/);
    const pm = await manifestOf(again.captureId);
    expect(pm.request.options.profileOf).toBe(o.captureId);
    expect(pm.request.options.withProfile).toBeUndefined();
    expect(pm.status).toBe('captured');
    expect(pm.page.title).toContain('Layla');
    expect(pm.caseId).toBe(caseId);
  });
});
