import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustodyEvent } from '../../../schemas/custody.js';
import { CaptureList, CaptureDetail, PackageJob, SessionInfo, SubmitResponse, VerifyResponse } from '../../../schemas/api.js';
import { createApi } from '../../../app/api/server.js';
import { readSse, startHarness, type Harness } from './harness.js';

const run = promisify(execFile);

const CASE = 'C-API-001';
const OTHER = 'C-API-002';
const MISSING = 'C-API-NOPE';

describe('HTTP API (real Redis, MinIO, Chromium, OpenSSL TSA)', () => {
  let h: Harness;
  let captureId = '';
  let otherCaptureId = '';
  let manifestArtifacts: Array<{ name: string; role: string; mediaType: string; sha256: string; derivedFrom: unknown }> = [];
  let packageZip: Buffer;
  let packageJob: PackageJob;
  let tmp: string;

  type Opts = { as?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> };
  const call = async (method: string, url: string, o: Opts = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.as) headers.authorization = `Bearer ${h.tokens[o.as] ?? o.as}`;
    let body: BodyInit | undefined = o.raw;
    if (o.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(o.body);
    }
    return h.api.app.request(url, { method, headers, body });
  };
  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
  const custody = async (caseId = CASE): Promise<CustodyEvent[]> => (await h.s.custody.readLog(caseId)).map((e) => e.event);
  /** Events by users after position `from` (workers may be sealing other captures of the case meanwhile). */
  const userEventsSince = async (from: number) => (await custody()).slice(from).filter((e) => e.actor.type === 'user');
  const expectError = async (res: Response, status: number, code: string) => {
    expect(res.status, await res.clone().text()).toBe(status);
    expect(await res.json()).toMatchObject({ code, message: expect.any(String) });
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'exhibit-api-test-'));
    h = await startHarness([
      { name: 'admin-1', role: 'admin', cases: [] },
      { name: 'analyst-1', role: 'analyst', cases: [CASE] },
      { name: 'analyst-2', role: 'analyst', cases: [OTHER] },
      { name: 'prosecutor-1', role: 'prosecutor', cases: [CASE] },
      { name: 'prosecutor-2', role: 'prosecutor', cases: [OTHER] },
      { name: 'auditor-1', role: 'auditor', cases: [CASE] },
    ]);
  });
  afterAll(async () => {
    await h?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('authentication', () => {
    it('answers 401 without credentials', async () => expectError(await call('GET', '/api/cases'), 401, 'UNAUTHENTICATED'));
    it('answers 401 for an unknown token', async () => expectError(await call('GET', '/api/cases', { as: 'exh_not-a-real-token-at-all' }), 401, 'UNAUTHENTICATED'));
    it('answers 401 for a malformed Authorization header', async () => expectError(await call('GET', '/api/cases', { headers: { authorization: 'Basic abc' } }), 401, 'UNAUTHENTICATED'));
    it('stores tokens only as hashes', async () => {
      const dump = JSON.stringify(await h.s.redis.hgetall(`${h.config.redis.prefix}:api:tokens`));
      for (const t of Object.values(h.tokens)) {
        expect(dump).not.toContain(t);
        expect(dump).toContain(createHash('sha256').update(t).digest('hex'));
      }
    });
    it('a revoked token stops working', async () => {
      await h.api.deps.users.add('temp-1', 'analyst', [CASE], 'test');
      const { token } = await h.api.deps.users.issueToken('temp-1');
      expect((await call('GET', '/api/cases', { as: token })).status).toBe(200);
      const r = await call('DELETE', '/api/users/temp-1/tokens', { as: 'admin-1' });
      expect(await json(r)).toEqual({ revoked: 1 });
      await expectError(await call('GET', '/api/cases', { as: token }), 401, 'UNAUTHENTICATED');
    });
    it('a disabled user is refused', async () => {
      await h.api.deps.users.add('temp-2', 'analyst', [CASE], 'test');
      const { token } = await h.api.deps.users.issueToken('temp-2');
      expect((await call('PATCH', '/api/users/temp-2', { as: 'admin-1', body: { disabled: true } })).status).toBe(200);
      await expectError(await call('GET', '/api/cases', { as: token }), 401, 'UNAUTHENTICATED');
    });
    it('health and the OpenAPI document are public', async () => {
      expect(await json(await call('GET', '/api/health'))).toMatchObject({ ok: true, redis: 'ok', store: 's3' });
      const doc = await json(await call('GET', '/openapi.json'));
      expect(doc.openapi).toBe('3.1.0');
      const paths = doc.paths as Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
      for (const r of h.api.routes.routes) {
        const p = r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
        expect(paths[p]?.[r.method], `${r.method} ${p}`).toBeDefined();
      }
      // Bodies come from the zod schemas.
      const submit = paths['/api/cases/{caseId}/captures']!.post!;
      expect(JSON.stringify(submit.requestBody)).toContain('"urls"');
      expect(JSON.stringify(submit.responses['202'])).toContain('"accepted"');
    });
  });

  describe('web sessions', () => {
    const login = async (name: string, token: string) => call('POST', '/api/session', { body: { name, token } });
    it('refuses a wrong token and a token of another user alike', async () => {
      await expectError(await login('analyst-1', 'exh_wrong-wrong-wrong-wrong'), 401, 'UNAUTHENTICATED');
      await expectError(await login('analyst-1', h.tokens['analyst-2']!), 401, 'UNAUTHENTICATED');
    });
    it('sets an httpOnly SameSite=Strict cookie; state-changing requests need the CSRF token', async () => {
      const r = await login('analyst-1', h.tokens['analyst-1']!);
      expect(r.status).toBe(200);
      const cookie = r.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/^exhibit_session=[^;]+;/);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      const info = SessionInfo.parse(await r.json());
      expect(info.user).toMatchObject({ name: 'analyst-1', role: 'analyst' });
      const sid = cookie.split(';')[0]!;
      const me = SessionInfo.parse(await json(await call('GET', '/api/session', { headers: { cookie: sid } })));
      expect(me).toMatchObject({ via: 'session', csrfToken: info.csrfToken });
      // Without, and with a wrong, CSRF token: refused before anything is done.
      await expectError(await call('POST', `/api/cases/${CASE}/captures`, { headers: { cookie: sid }, body: { urls: ['https://example.invalid/'] } }), 403, 'CSRF');
      await expectError(await call('POST', `/api/cases/${CASE}/captures`, { headers: { cookie: sid, 'x-csrf-token': 'nope' }, body: { urls: ['https://example.invalid/'] } }), 403, 'CSRF');
      // With it, the request goes through (this URL is refused for its own reason: a bad scheme).
      const ok = await call('POST', `/api/cases/${CASE}/captures`, { headers: { cookie: sid, 'x-csrf-token': info.csrfToken! }, body: { urls: ['file:///etc/passwd'] } });
      expect(ok.status).toBe(202);
      expect(SubmitResponse.parse(await ok.json()).rejected[0]?.failure.code).toBe('UNSUPPORTED_SCHEME');
      // Sign out ends the session.
      expect((await call('DELETE', '/api/session', { headers: { cookie: sid, 'x-csrf-token': info.csrfToken! } })).status).toBe(200);
      await expectError(await call('GET', '/api/session', { headers: { cookie: sid } }), 401, 'UNAUTHENTICATED');
    });
  });

  describe('submit and progress', () => {
    it('an analyst submits URLs into a case; bad ones are rejected by name; progress streams as server-sent events until sealed', async () => {
      const r = await call('POST', `/api/cases/${CASE}/captures`, { as: 'analyst-1', body: { urls: [`${h.site.url}/post/1`, 'javascript:alert(1)', 'not a url'], legalBasis: 'Test warrant 7/2026' } });
      expect(r.status).toBe(202);
      const body = SubmitResponse.parse(await r.json());
      expect(body.accepted).toHaveLength(1);
      expect(body.rejected.map((x) => x.failure.code)).toEqual(['UNSUPPORTED_SCHEME', 'INVALID_URL']);
      captureId = body.accepted[0]!.captureId;
      const events = await readSse(await call('GET', `/api/cases/${CASE}/events?ids=${captureId}`, { as: 'analyst-1' }));
      const states = events.filter((e) => e.event === 'status').map((e) => (e.data as { captures: Array<{ state: string }> }).captures[0]!.state);
      expect(states.length).toBeGreaterThan(1);
      expect(states.at(-1)).toBe('sealed');
      expect(events.at(-1)?.event).toBe('done');
      // The submission names the user in the custody log.
      const submitted = (await custody()).find((e) => e.action === 'request-submitted' && JSON.stringify(e.details).includes(captureId));
      expect(submitted?.actor.id).toBe('analyst-1');
      // A signed-in web user, recorded as such (not as a command-line operator).
      expect(submitted?.actor).toMatchObject({ type: 'user', role: 'analyst' });
      expect(submitted?.actor.osUser).toBeUndefined();
    });
    it('polling answers the same state', async () => {
      const r = await json(await call('GET', `/api/cases/${CASE}/status?ids=${captureId}`, { as: 'prosecutor-1' }));
      expect((r.captures as Array<{ state: string; result: { status: string } }>)[0]).toMatchObject({ state: 'sealed', result: { status: 'captured' } });
    });
    it('a capture of another case reads as unknown through this case', async () => {
      const r = await call('POST', `/api/cases/${OTHER}/captures`, { as: 'analyst-2', body: { urls: [`${h.site.url}/redirect`] } });
      otherCaptureId = SubmitResponse.parse(await r.json()).accepted[0]!.captureId;
      const st = await json(await call('GET', `/api/cases/${CASE}/status?ids=${otherCaptureId}`, { as: 'analyst-1' }));
      expect((st.captures as Array<{ state: string; url: unknown }>)[0]).toMatchObject({ state: 'unknown', url: null });
      await h.waitFinal(otherCaptureId);
    });
    it('refuses a body that is not JSON (415) and an empty URL list (400)', async () => {
      await expectError(await call('POST', `/api/cases/${CASE}/captures`, { as: 'analyst-1', raw: 'urls=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      await expectError(await call('POST', `/api/cases/${CASE}/captures`, { as: 'analyst-1', body: { urls: [] } }), 400, 'INVALID_INPUT');
      await expectError(await call('POST', `/api/cases/${CASE}/captures`, { as: 'analyst-1', raw: '{', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_INPUT');
    });
    it('a client cannot ask for private-network captures (the option is not part of the API)', async () => {
      const r = await call('POST', `/api/cases/${CASE}/captures`, { as: 'analyst-1', body: { urls: ['https://example.invalid/'], allowPrivateNetwork: true } });
      // Unknown keys are dropped by the schema; the request is taken with the server's policy.
      expect(r.status).toBe(202);
      const id = SubmitResponse.parse(await r.json()).accepted[0]!.captureId;
      const job = await h.s.queues.capture.getJob((await h.s.redis.hget(`${h.config.redis.prefix}:capture-index`, id))!);
      expect((job!.data as { request: { options: Record<string, unknown> } }).request.options).not.toHaveProperty('allowPrivateNetwork');
    });
    it('forbidden: a prosecutor submits', async () => expectError(await call('POST', `/api/cases/${CASE}/captures`, { as: 'prosecutor-1', body: { urls: ['https://example.invalid/'] } }), 403, 'FORBIDDEN'));
    it('forbidden: an auditor submits', async () => expectError(await call('POST', `/api/cases/${CASE}/captures`, { as: 'auditor-1', body: { urls: ['https://example.invalid/'] } }), 403, 'FORBIDDEN'));
    it('forbidden: an admin submits', async () => expectError(await call('POST', `/api/cases/${CASE}/captures`, { as: 'admin-1', body: { urls: ['https://example.invalid/'] } }), 403, 'FORBIDDEN'));
    it('a non-member and a missing case answer the same 404', async () => {
      const a = await call('POST', `/api/cases/${CASE}/captures`, { as: 'analyst-2', body: { urls: ['https://example.invalid/'] } });
      const b = await call('POST', `/api/cases/${MISSING}/captures`, { as: 'analyst-2', body: { urls: ['https://example.invalid/'] } });
      expect([a.status, b.status]).toEqual([404, 404]);
      const [ja, jb] = [await json(a), await json(b)];
      expect(ja.code).toBe(jb.code);
      expect(String(ja.message).replace(CASE, 'X')).toBe(String(jb.message).replace(MISSING, 'X'));
    });
    it('forbidden: a non-member follows progress of the case', async () => expectError(await call('GET', `/api/cases/${CASE}/events?ids=${captureId}`, { as: 'analyst-2' }), 404, 'NOT_FOUND'));
  });

  describe('cases and captures', () => {
    it('lists the cases a user is a member of', async () => {
      expect(await json(await call('GET', '/api/cases', { as: 'prosecutor-1' }))).toEqual({ cases: [{ caseId: CASE, sealedCaptures: 1 }] });
      expect(await json(await call('GET', '/api/cases', { as: 'analyst-2' }))).toEqual({ cases: [{ caseId: OTHER, sealedCaptures: 1 }] });
    });
    it('forbidden: an admin lists cases', async () => expectError(await call('GET', '/api/cases', { as: 'admin-1' }), 403, 'FORBIDDEN'));
    it('lists the captures of a case with thumbnail, platform, author and state, and records the read', async () => {
      const before = (await custody()).length;
      const list = CaptureList.parse(await json(await call('GET', `/api/cases/${CASE}/captures`, { as: 'analyst-1' })));
      const row = list.captures.find((x) => x.captureId === captureId)!;
      expect(row).toMatchObject({ state: 'sealed', pageStatus: 'captured', requestedBy: 'analyst-1', thumbnail: expect.stringMatching(/^derived\/screenshot\.png\..*webp$/) });
      expect(row.platform).toBeTruthy();
      expect(row.title).toContain('Layla Haddad');
      const ev = await userEventsSince(before);
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ action: 'viewed', actor: { type: 'user', id: 'analyst-1', role: 'analyst' }, details: { view: 'capture-list' } });
    });
    it('shows one capture: manifest, signature and timestamp, recorded as viewed by the user', async () => {
      const before = (await custody()).length;
      const d = CaptureDetail.parse(await json(await call('GET', `/api/cases/${CASE}/captures/${captureId}`, { as: 'prosecutor-1' })));
      expect(d.state).toBe('sealed');
      expect(d.signature?.signedDigest).toBe(d.manifestDigest);
      expect(d.timestamps).toHaveLength(1);
      manifestArtifacts = d.manifest.artifacts;
      const ev = await userEventsSince(before);
      expect(ev).toEqual([expect.objectContaining({ action: 'viewed', actor: { type: 'user', id: 'prosecutor-1', role: 'prosecutor' }, subject: { captureId, digests: [d.manifestDigest] } })]);
    });
    it('serves the page text with its language and direction (Arabic right-to-left)', async () => {
      const t = (await json(await call('GET', `/api/cases/${CASE}/captures/${captureId}/text`, { as: 'analyst-1' }))) as { blocks: Array<{ text: string; lang: string; dir: string }> };
      const ar = t.blocks.find((b) => /[\u0600-\u06FF]/.test(b.text));
      expect(ar).toMatchObject({ lang: 'ar', dir: 'rtl' });
    });
    it('serves extracted metadata with GPS as decimal degrees', async () => {
      const m = (await json(await call('GET', `/api/cases/${CASE}/captures/${captureId}/metadata`, { as: 'analyst-1' }))) as { items: Array<{ source: string; gps: { latitude: number; longitude: number } | null }> };
      const withGps = m.items.filter((i) => i.gps);
      expect(withGps.length).toBeGreaterThanOrEqual(1);
      expect(withGps.some((i) => Math.abs(i.gps!.latitude - 33.5138) < 1e-3 && Math.abs(i.gps!.longitude - 36.2765) < 1e-3)).toBe(true);
    });
    it('serves post.json when the collector wrote one, else 404', async () => {
      const r = await call('GET', `/api/cases/${CASE}/captures/${captureId}/post`, { as: 'analyst-1' });
      if (manifestArtifacts.some((a) => a.role === 'post')) {
        expect(r.status).toBe(200);
        expect((await json(r)).schemaVersion).toBe('exhibit.post/1');
      } else await expectError(r, 404, 'NOT_FOUND');
    });
    it('downloads the screenshot inline as image/png, byte-identical, recorded as viewed', async () => {
      const shot = manifestArtifacts.find((a) => a.role === 'screenshot' && !a.derivedFrom)!;
      const before = (await custody()).length;
      const r = await call('GET', `/api/cases/${CASE}/captures/${captureId}/artifacts/${shot.name}`, { as: 'analyst-1' });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-disposition')).toMatch(/^inline;/);
      const bytes = Buffer.from(await r.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(shot.sha256);
      const ev = await userEventsSince(before);
      expect(ev).toEqual([expect.objectContaining({ action: 'viewed', actor: expect.objectContaining({ id: 'analyst-1' }), subject: { captureId, digests: [shot.sha256] } })]);
    });
    it('serves captured HTML and MHTML only as sandboxed attachments, recorded as downloaded', async () => {
      for (const role of ['dom', 'mhtml', 'warc']) {
        const a = manifestArtifacts.find((x) => x.role === role)!;
        const before = (await custody()).length;
        const r = await call('GET', `/api/cases/${CASE}/captures/${captureId}/artifacts/${a.name}`, { as: 'prosecutor-1' });
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe(a.mediaType);
        expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="/);
        expect(r.headers.get('content-security-policy')).toContain('sandbox');
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
        const bytes = Buffer.from(await r.arrayBuffer());
        expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(a.sha256);
        expect(await userEventsSince(before)).toEqual([expect.objectContaining({ action: 'downloaded', actor: expect.objectContaining({ id: 'prosecutor-1', type: 'user' }) })]);
      }
    });
    it('answers 404 for an artifact name the manifest does not list (and for a path trick)', async () => {
      await expectError(await call('GET', `/api/cases/${CASE}/captures/${captureId}/artifacts/nope.png`, { as: 'analyst-1' }), 404, 'NOT_FOUND');
      await expectError(await call('GET', `/api/cases/${CASE}/captures/${captureId}/artifacts/..%2F..%2Fmanifest.json`, { as: 'analyst-1' }), 404, 'NOT_FOUND');
    });
    it('a capture of another case is not found through this case', async () => {
      await expectError(await call('GET', `/api/cases/${CASE}/captures/${otherCaptureId}`, { as: 'analyst-1' }), 404, 'NOT_FOUND');
      await expectError(await call('GET', `/api/cases/${CASE}/captures/${otherCaptureId}/custody`, { as: 'analyst-1' }), 404, 'NOT_FOUND');
    });
    it("shows a capture's custody timeline to an auditor", async () => {
      const t = (await json(await call('GET', `/api/cases/${CASE}/captures/${captureId}/custody`, { as: 'auditor-1' }))) as { events: CustodyEvent[] };
      const actions = t.events.map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['request-submitted', 'capture-started', 'artifact-sealed', 'manifest-signed', 'timestamped', 'viewed']));
      const full = (await json(await call('GET', `/api/cases/${CASE}/custody`, { as: 'auditor-1' }))) as { events: CustodyEvent[] };
      full.events.forEach((e, i) => expect(e.seq).toBe(i + 1));
    });
    it('forbidden: an auditor reads a manifest', async () => expectError(await call('GET', `/api/cases/${CASE}/captures/${captureId}`, { as: 'auditor-1' }), 403, 'FORBIDDEN'));
    it('forbidden: an auditor downloads an artifact', async () => expectError(await call('GET', `/api/cases/${CASE}/captures/${captureId}/artifacts/screenshot.png`, { as: 'auditor-1' }), 403, 'FORBIDDEN'));
    it('forbidden: an auditor lists captures', async () => expectError(await call('GET', `/api/cases/${CASE}/captures`, { as: 'auditor-1' }), 403, 'FORBIDDEN'));
    it('forbidden: an admin reads a manifest', async () => expectError(await call('GET', `/api/cases/${CASE}/captures/${captureId}`, { as: 'admin-1' }), 403, 'FORBIDDEN'));
    it('forbidden: an admin reads the custody log', async () => expectError(await call('GET', `/api/cases/${CASE}/custody`, { as: 'admin-1' }), 403, 'FORBIDDEN'));
    it('forbidden: a prosecutor of another case reads captures, a manifest, an artifact, the custody log (404, as for a missing case)', async () => {
      for (const p of [`/api/cases/${CASE}/captures`, `/api/cases/${CASE}/captures/${captureId}`, `/api/cases/${CASE}/captures/${captureId}/artifacts/screenshot.png`, `/api/cases/${CASE}/custody`, `/api/cases/${CASE}/captures/${captureId}/text`]) {
        await expectError(await call('GET', p, { as: 'prosecutor-2' }), 404, 'NOT_FOUND');
        await expectError(await call('GET', p.replace(CASE, MISSING), { as: 'prosecutor-2' }), 404, 'NOT_FOUND');
      }
    });
    it('refused reads leave no custody event', async () => {
      const before = (await custody()).length;
      await call('GET', `/api/cases/${CASE}/captures/${captureId}`, { as: 'prosecutor-2' });
      await call('GET', `/api/cases/${CASE}/captures/${captureId}`, { as: 'auditor-1' });
      await call('GET', `/api/cases/${CASE}/captures/${captureId}`);
      expect(await userEventsSince(before)).toEqual([]);
    });
  });

  describe('packages and verification', () => {
    it('a prosecutor builds a package with progress and downloads it; both are custody events naming the user', async () => {
      const r = await call('POST', `/api/cases/${CASE}/packages`, { as: 'prosecutor-1', body: { captureIds: [captureId] } });
      expect(r.status).toBe(202);
      const job = PackageJob.parse(await r.json());
      expect(job.state).toBe('building');
      const events = await readSse(await call('GET', `/api/cases/${CASE}/packages/${job.packageId}/events`, { as: 'prosecutor-1' }));
      const last = PackageJob.parse(events.at(-1)!.data);
      expect(last.state, JSON.stringify(last.failure)).toBe('ready');
      packageJob = last;
      const polled = PackageJob.parse(await json(await call('GET', `/api/cases/${CASE}/packages/${job.packageId}`, { as: 'prosecutor-1' })));
      expect(polled).toEqual(last);
      const dl = await call('GET', `/api/cases/${CASE}/packages/${job.packageId}/download`, { as: 'prosecutor-1' });
      expect(dl.status).toBe(200);
      expect(dl.headers.get('content-type')).toBe('application/zip');
      expect(dl.headers.get('content-disposition')).toMatch(/^attachment;/);
      packageZip = Buffer.from(await dl.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(packageZip).digest('hex')}`).toBe(last.sha256);
      const log = await custody();
      // Packaging is recorded inside the package (by package id), and the written zip by its digest.
      expect(log.find((e) => e.action === 'packaged' && e.details.packageId === job.packageId)?.actor).toEqual({ type: 'user', id: 'prosecutor-1', role: 'prosecutor' });
      expect(log.find((e) => e.action === 'exported' && e.subject.digests?.includes(last.sha256!))).toMatchObject({ actor: { id: 'prosecutor-1' }, details: { packageId: job.packageId, sealed: true } });
      expect(log.filter((e) => e.actor.type === 'user').at(-1)).toMatchObject({ action: 'downloaded', actor: { id: 'prosecutor-1' }, subject: { digests: [last.sha256] } });
    });
    it('the downloaded package verifies with sha256sum (a tool we did not write)', async () => {
      const zip = path.join(tmp, 'p.zip');
      writeFileSync(zip, packageZip);
      await run('unzip', ['-q', zip, '-d', path.join(tmp, 'p')]);
      const bag = path.join(tmp, 'p', packageJob.fileName.replace(/\.zip$/, ''));
      const { stdout } = await run('sha256sum', ['-c', 'manifest-sha256.txt'], { cwd: bag });
      expect(stdout).not.toMatch(/FAILED/);
    });
    it('verifies an uploaded package and records the verification on the case log', async () => {
      const r = await call('POST', '/api/verify', { as: 'prosecutor-1', raw: new Uint8Array(packageZip), headers: { 'content-type': 'application/zip', 'x-filename': 'evidence.zip' } });
      expect(r.status).toBe(200);
      const v = VerifyResponse.parse(await r.json());
      expect(v.report.ok, JSON.stringify(v.report.failures)).toBe(true);
      // The server's own key store and configured TSA CA are what it pins.
      expect(v.report.verdict).toBe('verified');
      expect(v.report.trust.signingKeys.every((k) => k.source === 'local-key-store')).toBe(true);
      expect(v.report.caseId).toBe(CASE);
      expect(v.report.source).toBe('evidence.zip');
      expect(v.custodySeq).toBeGreaterThan(0);
      const ev = (await custody()).find((e) => e.seq === v.custodySeq);
      expect(ev).toMatchObject({ action: 'verified', actor: { id: 'prosecutor-1' }, subject: { digests: [v.uploadSha256] }, details: { ok: true } });
    });
    it('a tampered package does not verify, naming the item', async () => {
      // Flip one byte inside the stored (uncompressed) screenshot: zip CRC and digests both break.
      const bad = Buffer.from(packageZip);
      const at = bad.indexOf(Buffer.from('IHDR'));
      bad[at + 40] = bad[at + 40]! ^ 0xff;
      const v = VerifyResponse.parse(await json(await call('POST', '/api/verify', { as: 'auditor-1', raw: new Uint8Array(bad), headers: { 'content-type': 'application/zip' } })));
      expect(v.report.ok).toBe(false);
      expect(v.report.failures.length).toBeGreaterThan(0);
    });
    it('refuses an upload over the limit (413) and a wrong content type (415)', async () => {
      const small = createApi(h.s, { maxUploadBytes: 1000, queueDashboard: false });
      const big = new Uint8Array(5000);
      const r = await small.app.request('/api/verify', { method: 'POST', headers: { authorization: `Bearer ${h.tokens['prosecutor-1']}`, 'content-type': 'application/zip' }, body: big });
      await expectError(r, 413, 'PAYLOAD_TOO_LARGE');
      // Without Content-Length (chunked), the limit holds while streaming.
      const stream = new ReadableStream({ start(c) { c.enqueue(big); c.close(); } });
      const r2 = await small.app.request('/api/verify', { method: 'POST', headers: { authorization: `Bearer ${h.tokens['prosecutor-1']}`, 'content-type': 'application/zip' }, body: stream, duplex: 'half' } as RequestInit);
      await expectError(r2, 413, 'PAYLOAD_TOO_LARGE');
      await small.close();
      await expectError(await call('POST', '/api/verify', { as: 'prosecutor-1', raw: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
    it('forbidden: an analyst builds a package', async () => expectError(await call('POST', `/api/cases/${CASE}/packages`, { as: 'analyst-1', body: {} }), 403, 'FORBIDDEN'));
    it('forbidden: an auditor builds a package', async () => expectError(await call('POST', `/api/cases/${CASE}/packages`, { as: 'auditor-1', body: {} }), 403, 'FORBIDDEN'));
    it('forbidden: an admin builds a package', async () => expectError(await call('POST', `/api/cases/${CASE}/packages`, { as: 'admin-1', body: {} }), 403, 'FORBIDDEN'));
    it('forbidden: a prosecutor of another case builds, polls or downloads its package (404)', async () => {
      await expectError(await call('POST', `/api/cases/${CASE}/packages`, { as: 'prosecutor-2', body: {} }), 404, 'NOT_FOUND');
      await expectError(await call('GET', `/api/cases/${CASE}/packages/${packageJob.packageId}`, { as: 'prosecutor-2' }), 404, 'NOT_FOUND');
      await expectError(await call('GET', `/api/cases/${CASE}/packages/${packageJob.packageId}/download`, { as: 'prosecutor-2' }), 404, 'NOT_FOUND');
      // …nor through their own case.
      await expectError(await call('GET', `/api/cases/${OTHER}/packages/${packageJob.packageId}/download`, { as: 'prosecutor-2' }), 404, 'NOT_FOUND');
    });
    it('forbidden: an analyst downloads a package', async () => expectError(await call('GET', `/api/cases/${CASE}/packages/${packageJob.packageId}/download`, { as: 'analyst-1' }), 403, 'FORBIDDEN'));
    it('forbidden: an analyst verifies a package', async () => expectError(await call('POST', '/api/verify', { as: 'analyst-1', raw: new Uint8Array(packageZip), headers: { 'content-type': 'application/zip' } }), 403, 'FORBIDDEN'));
    it('refuses to package captures that are not sealed in the case', async () => {
      await expectError(await call('POST', `/api/cases/${CASE}/packages`, { as: 'prosecutor-1', body: { captureIds: [otherCaptureId] } }), 404, 'NOT_FOUND');
      await expectError(await call('POST', `/api/cases/${CASE}/packages`, { as: 'prosecutor-1', body: { captureIds: ['not-a-uuid'] } }), 400, 'INVALID_INPUT');
    });
  });

  describe('users and the queue dashboard', () => {
    it('an admin creates a user, gives them a case and a token that works', async () => {
      const r = await call('POST', '/api/users', { as: 'admin-1', body: { name: 'analyst-9', role: 'analyst', cases: [OTHER] } });
      expect(r.status).toBe(201);
      expect(await r.json()).toMatchObject({ name: 'analyst-9', role: 'analyst', cases: [OTHER], createdBy: 'admin-1', tokens: 0 });
      const t = await json(await call('POST', '/api/users/analyst-9/tokens', { as: 'admin-1' }));
      expect(t.token).toMatch(/^exh_/);
      expect(await json(await call('GET', '/api/cases', { as: String(t.token) }))).toEqual({ cases: [{ caseId: OTHER, sealedCaptures: expect.any(Number) }] });
      const p = await json(await call('PATCH', '/api/users/analyst-9', { as: 'admin-1', body: { addCases: [CASE], removeCases: [OTHER] } }));
      expect(p.cases).toEqual([CASE]);
      const list = (await json(await call('GET', '/api/users', { as: 'admin-1' }))) as { users: Array<{ name: string; tokens: number }> };
      expect(list.users.find((u) => u.name === 'analyst-9')?.tokens).toBe(1);
      await expectError(await call('POST', '/api/users', { as: 'admin-1', body: { name: 'analyst-9', role: 'analyst' } }), 400, 'INVALID_INPUT');
      await expectError(await call('PATCH', '/api/users/nobody', { as: 'admin-1', body: { disabled: true } }), 404, 'NOT_FOUND');
    });
    it('forbidden: an analyst lists users', async () => expectError(await call('GET', '/api/users', { as: 'analyst-1' }), 403, 'FORBIDDEN'));
    it('forbidden: a prosecutor creates a user', async () => expectError(await call('POST', '/api/users', { as: 'prosecutor-1', body: { name: 'x', role: 'admin' } }), 403, 'FORBIDDEN'));
    it('forbidden: an auditor issues a token', async () => expectError(await call('POST', '/api/users/analyst-1/tokens', { as: 'auditor-1' }), 403, 'FORBIDDEN'));
    it('forbidden: an analyst changes their own role', async () => expectError(await call('PATCH', '/api/users/analyst-1', { as: 'analyst-1', body: { role: 'admin' } }), 403, 'FORBIDDEN'));
    it('the queue dashboard is for admins: its page and its API', async () => {
      const page = await call('GET', '/admin/queues', { as: 'admin-1' });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      const q = await call('GET', '/admin/queues/api/queues?activeQueue=capture&page=1', { as: 'admin-1' });
      expect(q.status).toBe(200);
      const names = ((await q.json()) as { queues: Array<{ name: string }> }).queues.map((x) => x.name);
      expect(names).toEqual(expect.arrayContaining(['capture', 'seal']));
    });
    it('forbidden: an analyst opens the queue dashboard', async () => {
      await expectError(await call('GET', '/admin/queues', { as: 'analyst-1' }), 403, 'FORBIDDEN');
      await expectError(await call('GET', '/admin/queues/api/queues', { as: 'analyst-1' }), 403, 'FORBIDDEN');
    });
    it('the queue dashboard needs a sign-in', async () => expectError(await call('GET', '/admin/queues/api/queues'), 401, 'UNAUTHENTICATED'));
  });

  describe('web app shell', () => {
    it('serves the app with a strict CSP and no inline script', async () => {
      const r = await call('GET', '/ui/');
      expect(r.status).toBe(200);
      const csp = r.headers.get('content-security-policy') ?? '';
      for (const d of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) expect(csp).toContain(d);
      expect(csp).not.toContain('unsafe-inline');
      const html = await r.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      expect(r.headers.get('x-frame-options')).toBe('DENY');
    });
  });
});
