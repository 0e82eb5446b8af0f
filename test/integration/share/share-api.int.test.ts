/**
 * Sharing through the API on real parts (Redis, MinIO, the OpenSSL TSA, Chromium for the
 * certificate): a prosecutor shares chosen captures with a partner, one artifact withheld, and
 * downloads the zip; it verifies against the partner pins alone; roles without the permission are
 * refused; the same zip imported into another case (this deployment pinned as the partner) is taken
 * in, and a tampered upload is refused naming the item.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { PartnerStore, partnerAnchors } from '../../../evidence/partners.js';
import { ImportResponse, PackageJob, PartnerList, ShareList } from '../../../schemas/api.js';
import { makeSealedCapture } from '../../support/sealed-capture.js';
import { startHarness, type Harness } from '../api/harness.js';

const run = promisify(execFile);
const CASE = 'C-SHARE-API';
const CASE_B = 'C-RECEIVED';
const PARTNER = 'agency-self';

describe('sharing and importing through the API', () => {
  let h: Harness;
  let work: string;
  let captureIds: string[];
  let zipPath: string;
  let bagName: string;
  let job: PackageJob;

  const call = (method: string, url: string, as: string, o: { body?: unknown; raw?: BodyInit; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.tokens[as]}`, ...(o.headers ?? {}) };
    let body = o.raw;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    return h.api.app.request(url, { method, headers, body });
  };
  const expectError = async (res: Response, status: number, code: string) => {
    expect(res.status, await res.clone().text()).toBe(status);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe(code);
    return body.message;
  };
  const upload = (caseId: string, file: Buffer, from = PARTNER, as = 'prosecutor-b') =>
    call('POST', `/api/cases/${caseId}/imports?from=${from}`, as, { raw: new Uint8Array(file), headers: { 'content-type': 'application/zip', 'x-filename': 'from-partner.zip' } });

  beforeAll(async () => {
    h = await startHarness([
      { name: 'prosecutor-a', role: 'prosecutor', cases: [CASE] },
      { name: 'prosecutor-b', role: 'prosecutor', cases: [CASE_B] },
      { name: 'analyst-a', role: 'analyst', cases: [CASE, CASE_B] },
      { name: 'auditor-a', role: 'auditor', cases: [CASE, CASE_B] },
    ]);
    work = await mkdtemp(path.join(os.tmpdir(), 'exhibit-share-api-'));
    const attest = { keys: h.s.keys, tsas: [{ url: h.tsa.url }], timestamp: { trustAnchors: [h.tsa.caCertPem], attempts: 2, backoffMs: 50, timeoutMs: 10_000 } };
    captureIds = [];
    for (const url of ['https://fixture.example/post/1', 'https://fixture.example/post/2', 'https://fixture.example/post/3-not-shared']) {
      captureIds.push((await makeSealedCapture({ caseId: CASE, store: h.s.store, clock: h.s.clock, custody: h.s.custody, attest, url })).captureId);
    }
    // Out of band, on the command line: this deployment pinned as the partner (its key and TSA root), and one partner whose key is not this deployment's.
    const partners = new PartnerStore(h.config.trust.partnersFile);
    await partners.add(PARTNER, { signingKeys: [(await h.s.keys.activeKey()).fingerprint], tsaCaFiles: [h.tsa.caCertPath] });
    await partners.add('agency-c', { signingKeys: [`sha256:${'c'.repeat(64)}`], tsaCaFiles: [h.tsa.caCertPath] });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the OpenAPI document names the share, import and partner routes with their permissions', async () => {
    const doc = (await (await h.api.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { 'x-exhibit-access': string; requestBody?: unknown }>> };
    expect(doc.paths['/api/cases/{caseId}/shares']?.post?.['x-exhibit-access']).toBe('share');
    expect(JSON.stringify(doc.paths['/api/cases/{caseId}/shares']?.post?.requestBody)).toContain('"legalBasis"');
    expect(doc.paths['/api/cases/{caseId}/imports']?.post?.['x-exhibit-access']).toBe('import');
    expect(doc.paths['/api/partners']?.get).toBeDefined();
    expect(doc.paths['/api/partners']?.post).toBeUndefined();
  });

  it('partners are listed read-only to a prosecutor, not to an analyst', async () => {
    const res = await call('GET', '/api/partners', 'prosecutor-a');
    expect(res.status).toBe(200);
    expect(PartnerList.parse(await res.json()).partners.map((p) => p.name)).toEqual(['agency-c', PARTNER]);
    await expectError(await call('GET', '/api/partners', 'analyst-a'), 403, 'FORBIDDEN');
  });

  it('a prosecutor shares two captures with the screenshot withheld and downloads the package; it verifies against the partner pins', async () => {
    const started = await call('POST', `/api/cases/${CASE}/shares`, 'prosecutor-a', {
      body: { partner: PARTNER, captureIds: captureIds.slice(0, 2), withhold: ['screenshot'], legalBasis: 'MLA request 2026/42', tlp: 'amber+strict', expires: '2099-12-31' },
    });
    expect(started.status, await started.clone().text()).toBe(202);
    job = PackageJob.parse(await started.json());
    expect(job.share).toMatchObject({ partner: PARTNER, tlp: 'amber+strict', withhold: ['screenshot'] });
    for (let i = 0; i < 600 && job.state === 'building'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      job = PackageJob.parse(await (await call('GET', `/api/cases/${CASE}/shares/${job.packageId}`, 'prosecutor-a')).json());
    }
    expect(job.state, JSON.stringify(job.failure)).toBe('ready');

    const dl = await call('GET', `/api/cases/${CASE}/shares/${job.packageId}/download`, 'prosecutor-a');
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('application/zip');
    zipPath = path.join(work, 'share.zip');
    await writeFile(zipPath, Buffer.from(await dl.arrayBuffer()));

    const { stdout } = await run('unzip', ['-Z1', zipPath]);
    const entries = stdout.trim().split('\n');
    bagName = entries[0]!.split('/')[0]!;
    expect(entries.some((e) => e.endsWith(`${captureIds[0]}/artifacts/dom.html`))).toBe(true);
    expect(entries.some((e) => e.includes('screenshot.png'))).toBe(false);
    expect(entries.some((e) => e.includes(captureIds[2]!))).toBe(false);

    const report = await verifyPackage(zipPath, { anchors: partnerAnchors(await new PartnerStore(h.config.trust.partnersFile).get(PARTNER)) });
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.share?.withheld.map((w) => w.name).sort()).toEqual(expect.arrayContaining(['screenshot.png']));
    expect(report.share?.legalBasis).toBe('MLA request 2026/42');
  });

  it('the share is listed from the custody log, to the prosecutor and to an auditor', async () => {
    for (const who of ['prosecutor-a', 'auditor-a']) {
      const list = ShareList.parse(await (await call('GET', `/api/cases/${CASE}/shares`, who)).json());
      expect(list.shares).toHaveLength(1);
      expect(list.shares[0]).toMatchObject({ packageId: job.packageId, partner: PARTNER, legalBasis: 'MLA request 2026/42', tlp: 'amber+strict', expires: '2099-12-31', sharedBy: 'prosecutor-a' });
      expect(list.shares[0]!.captureIds.sort()).toEqual(captureIds.slice(0, 2).sort());
      expect(list.shares[0]!.withheld.some((w) => w.name === 'screenshot.png')).toBe(true);
    }
  });

  it('roles without the permission are refused: an analyst shares, downloads a share, imports; an auditor shares', async () => {
    const body = { partner: PARTNER, captureIds: [captureIds[0]], legalBasis: 'x' };
    await expectError(await call('POST', `/api/cases/${CASE}/shares`, 'analyst-a', { body }), 403, 'FORBIDDEN');
    await expectError(await call('POST', `/api/cases/${CASE}/shares`, 'auditor-a', { body }), 403, 'FORBIDDEN');
    await expectError(await call('GET', `/api/cases/${CASE}/shares/${job.packageId}/download`, 'analyst-a'), 403, 'FORBIDDEN');
    await expectError(await upload(CASE_B, await readFile(zipPath), PARTNER, 'analyst-a'), 403, 'FORBIDDEN');
    // A prosecutor not on the case sees no such case; the share is not reachable as a court package either.
    await expectError(await call('POST', `/api/cases/${CASE}/shares`, 'prosecutor-b', { body }), 404, 'NOT_FOUND');
    await expectError(await call('GET', `/api/cases/${CASE}/packages/${job.packageId}/download`, 'prosecutor-a'), 404, 'NOT_FOUND');
  });

  it('bad share requests are refused: unknown partner, past expiry, a withhold rule matching nothing (the job fails, naming it)', async () => {
    const base = { partner: PARTNER, captureIds: [captureIds[0]], legalBasis: 'MLA request 2026/42' };
    expect(await expectError(await call('POST', `/api/cases/${CASE}/shares`, 'prosecutor-a', { body: { ...base, partner: 'agency-nobody' } }), 404, 'NOT_FOUND')).toContain('agency-nobody');
    expect(await expectError(await call('POST', `/api/cases/${CASE}/shares`, 'prosecutor-a', { body: { ...base, expires: '2001-01-01' } }), 400, 'INVALID_INPUT')).toContain('already past');
    await expectError(await call('POST', `/api/cases/${CASE}/shares`, 'prosecutor-a', { body: { ...base, legalBasis: '  ' } }), 400, 'INVALID_INPUT');
    const r = await call('POST', `/api/cases/${CASE}/shares`, 'prosecutor-a', { body: { ...base, withhold: ['screenshto'] } });
    let j = PackageJob.parse(await r.json());
    for (let i = 0; i < 600 && j.state === 'building'; i++) {
      await new Promise((res) => setTimeout(res, 250));
      j = PackageJob.parse(await (await call('GET', `/api/cases/${CASE}/shares/${j.packageId}`, 'prosecutor-a')).json());
    }
    expect(j.state).toBe('failed');
    expect(j.failure?.message).toContain('screenshto');
  });

  it('a tampered upload is refused at import naming the item, and nothing is recorded', async () => {
    const dir = await mkdtemp(path.join(work, 'tamper-'));
    await run('unzip', ['-q', zipPath, '-d', dir]);
    const p = path.join(dir, bagName, 'data/captures', captureIds[0]!, 'artifacts/dom.html');
    const b = await readFile(p);
    b[b.length - 3] = b[b.length - 3]! ^ 1;
    await writeFile(p, b);
    const bad = path.join(work, 'tampered.zip');
    await run('zip', ['-qr', '-X', bad, bagName], { cwd: dir }); // spawns: zip
    const before = (await h.s.custody.head(CASE_B)).seq;
    const msg = await expectError(await upload(CASE_B, await readFile(bad)), 409, 'PACKAGE_INVALID');
    expect(msg).toContain(`data/captures/${captureIds[0]}/artifacts/dom.html`);
    expect(msg).toContain('from-partner.zip');
    expect(msg).not.toContain(os.tmpdir());
    expect((await h.s.custody.head(CASE_B)).seq).toBe(before);
  });

  it('the package from a partner whose pins it does not match is refused', async () => {
    const msg = await expectError(await upload(CASE_B, await readFile(zipPath), 'agency-c'), 409, 'UNAUTHENTICATED');
    expect(msg).toContain('not pinned for agency-c');
  });

  it('the downloaded zip imported into another case from the pinned partner is taken in, with received events an auditor sees', async () => {
    const res = await upload(CASE_B, await readFile(zipPath));
    expect(res.status, await res.clone().text()).toBe(201);
    const out = ImportResponse.parse(await res.json());
    expect(out.created).toBe(true);
    expect(out.verdict).toBe('verified');
    expect(out.record.partner.name).toBe(PARTNER);
    expect(out.record.origin.caseId).toBe(CASE);
    expect(out.record.captures.map((c) => c.captureId).sort()).toEqual(captureIds.slice(0, 2).sort());
    expect(out.custodySeqs).toHaveLength(2);
    const log = (await (await call('GET', `/api/cases/${CASE_B}/custody`, 'auditor-a')).json()) as { events: Array<{ action: string; actor: { id: string } }> };
    expect(log.events.filter((e) => e.action === 'received').map((e) => e.actor.id)).toEqual(['prosecutor-b', 'prosecutor-b']);
    // The same bytes again: nothing new recorded.
    const again = ImportResponse.parse(await (await upload(CASE_B, await readFile(zipPath))).json());
    expect(again.created).toBe(false);
    expect(again.custodySeqs).toEqual([]);
  });
});
