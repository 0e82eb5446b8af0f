import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountVault } from '../../../collectors/accounts.js';
import { CaptureManifest } from '../../../schemas/manifest.js';
import { PostDocument } from '../../../schemas/post.js';
import { storeKeys } from '../../../evidence/store.js';
import type { CaptureStatus } from '../../../workers/job-state.js';
import type { Services } from '../../../workers/runtime.js';
import { gunzipSync } from 'node:zlib';
import { python } from '../../support/python.js';
import { checkWarc } from '../../../evidence/warc-check.js';
import { MASTODON_FIXTURE_SESSION, startMastodonFixture } from '../../fixtures/mastodon/server.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { startPipelineEnv, type PipelineEnv } from '../../support/pipeline-env.js';

/**
 * Collection accounts and `--with-profile` through the real pipeline (Redis, Chromium, the local
 * store): the Mastodon fixture's followers-only status 1101 answers only a browser that carries the
 * account's session cookie; the post's author profile is captured as a linked capture.
 */
describe('collection accounts and --with-profile (Mastodon fixture, real Redis and Chromium)', () => {
  let site: FixtureSite;
  let env: PipelineEnv;
  let s: Services;
  let stateDir: string;
  const caseId = `C-ACCT-${randomUUID().slice(0, 8)}`;

  const waitFinal = (captureId: string): Promise<CaptureStatus> => env.waitFinal(captureId, { timeoutMs: 120_000 });
  const submit = (url: string, options: Record<string, unknown>) => env.submitOne(url, { caseId, requestedBy: 'analyst-01', options: { allowPrivateNetwork: true, ...options } });
  const manifestOf = (captureId: string): Promise<CaptureManifest> => env.manifestOf(caseId, captureId);
  const postOf = (m: CaptureManifest): Promise<PostDocument> => env.postOf(m);

  beforeAll(async () => {
    site = await startMastodonFixture();
    env = await startPipelineEnv({
      name: 'acct',
      tsa: false,
      config: {
        accounts: { key: randomBytes(32).toString('base64') },
        collectors: { mastodon: { hosts: [site.host] } },
        capture: { concurrency: 2, attempts: 1, navigationTimeoutMs: 10_000, settleTimeoutMs: 6_000, networkQuietMs: 300, timeoutMs: 45_000 },
      },
      beforeOpen: async (cfg, dir) => {
        const state = {
          cookies: [{ name: '_session_id', value: MASTODON_FIXTURE_SESSION, domain: '127.0.0.1', path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Lax' }],
          origins: [],
        };
        writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
        await AccountVault.fromConfig(cfg).import('mastodon', 'research-1', state, '@layla_research');
      },
    });
    ({ s, stateDir } = env);
  });

  afterAll(async () => {
    await env?.close();
    await site?.close();
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
