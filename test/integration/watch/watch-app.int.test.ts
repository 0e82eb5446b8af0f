import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffAfter, diffBefore } from '../../../analysis/text-diff.js';
import type { IntakeReport } from '../../../schemas/spreadsheet.js';
import type { WatchRunWithChanges, WatchStatus, WebhookDeliveryFailure } from '../../../schemas/watch.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { storeKeys } from '../../../evidence/store.js';
import { waitForFinal } from '../../../workers/job-state.js';
import { runWatch } from '../../../workers/watch.js';
import { EDITED_102, setTelegramChannelState } from '../../fixtures/telegram/server.js';
import { exhibit, plainLines } from '../../support/cli.js';
import { freePort } from '../../support/services.js';
import { startWatchEnv, type WatchEnv } from './watch-env.js';

const CASE = 'C-WATCHAPP-1';
const OTHER = 'C-WATCHAPP-2';
const SECRET = 'whsec-app-0123456789abcdef';

type Events = { status: WatchStatus; runs: WatchRunWithChanges[]; failedDeliveries: WebhookDeliveryFailure[] };

describe('watchlists and spreadsheets through the API and the CLI (real Redis, MinIO, Chromium, TSA)', () => {
  let env: WatchEnv;
  let watchId: string;
  const ids: { edited?: string; editedBefore?: string; observation?: string } = {};

  beforeAll(async () => {
    env = await startWatchEnv([
      { name: 'analyst-w', role: 'analyst', cases: [CASE] },
      { name: 'analyst-other', role: 'analyst', cases: [OTHER] },
      { name: 'prosecutor-w', role: 'prosecutor', cases: [CASE] },
      { name: 'auditor-w', role: 'auditor', cases: [CASE] },
    ]);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('an analyst adds a watch; who may see and change it follows roles and case membership', async () => {
    await setTelegramChannelState(env.site, 1);
    // Webhook to a port nobody listens on: every delivery fails, and must be listed.
    const deadPort = await freePort();
    const bad = await env.call('analyst-w', 'POST', '/api/watches', { url: `${env.site.url}/s/sahel_news`, caseId: CASE, every: '30s' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/invalid interval "30s"/);
    expect((await env.call('prosecutor-w', 'POST', '/api/watches', { url: `${env.site.url}/s/sahel_news`, caseId: CASE, every: '15m' })).status).toBe(403);
    expect((await env.call('analyst-other', 'POST', '/api/watches', { url: `${env.site.url}/s/sahel_news`, caseId: CASE, every: '15m' })).status).toBe(404);
    const res = await env.call('analyst-w', 'POST', '/api/watches', { url: `${env.site.url}/s/sahel_news`, caseId: CASE, every: '15m', legalBasis: 'Warrant 2026/91', webhook: { url: `http://127.0.0.1:${deadPort}/hook`, secret: SECRET } });
    expect(res.status, await res.clone().text()).toBe(201);
    const st = (await res.json()) as WatchStatus;
    watchId = st.watch.id;
    expect(st.watch).toMatchObject({ caseId: CASE, createdBy: 'analyst-w', state: 'active', every: 900_000, webhook: { url: `http://127.0.0.1:${deadPort}/hook` } });
    expect(JSON.stringify(st)).not.toContain(SECRET);
    expect(st.nextRunAt).not.toBeNull();

    const list = async (u: string) => ((await (await env.call(u, 'GET', '/api/watches')).json()) as { watches: WatchStatus[] }).watches.map((w) => w.watch.id);
    expect(await list('analyst-w')).toEqual([watchId]);
    expect(await list('prosecutor-w')).toEqual([watchId]);
    expect(await list('analyst-other')).toEqual([]);
    expect((await env.call('analyst-other', 'GET', `/api/watches/${watchId}`)).status).toBe(404);
    expect((await env.call('analyst-other', 'POST', `/api/watches/${watchId}/pause`)).status).toBe(404);
    expect((await env.call('auditor-w', 'GET', '/api/watches')).status).toBe(403);
    expect((await env.call('prosecutor-w', 'POST', `/api/watches/${watchId}/pause`)).status).toBe(403);
    expect((await env.api.app.request('/api/watches')).status).toBe(401);

    // Pause and resume through the API: the schedule goes and comes back.
    expect((await env.call('analyst-w', 'POST', `/api/watches/${watchId}/pause`)).status).toBe(200);
    expect(await env.watches.watchQueues.watch.getJobScheduler(watchId)).toBeUndefined();
    expect(((await (await env.call('analyst-w', 'GET', `/api/watches/${watchId}`)).json()) as WatchStatus).watch.state).toBe('paused');
    expect((await env.call('analyst-w', 'POST', `/api/watches/${watchId}/resume`)).status).toBe(200);
    expect((await env.watches.watchQueues.watch.getJobScheduler(watchId))?.every).toBe(900_000);
  });

  it('three runs (new, edited, deleted): the events show old and new side by side with a word diff, the deletion confirmed by the platform, failed deliveries listed', async () => {
    const r1 = await env.settle(await runWatch(watchId, env.watches));
    expect(r1.outcome, JSON.stringify(r1.failure)).toBe('ok');
    await setTelegramChannelState(env.site, 2);
    const r2 = await env.settle(await runWatch(watchId, env.watches));
    expect(r2.findings.map((f) => f.kind).sort()).toEqual(['edited', 'new']);
    await setTelegramChannelState(env.site, 3);
    const r3 = await env.settle(await runWatch(watchId, env.watches));
    expect(r3.findings.map((f) => f.kind)).toEqual(['deleted']);

    // Every delivery to the dead webhook fails for good (2 attempts each).
    const deadline = Date.now() + 30_000;
    let ev: Events;
    for (;;) {
      const res = await env.call('prosecutor-w', 'GET', `/api/watches/${watchId}/events`);
      expect(res.status).toBe(200);
      ev = (await res.json()) as Events;
      if (ev.failedDeliveries.length >= 5 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(ev.runs.map((r) => r.run)).toEqual([3, 2, 1]);
    expect(ev.failedDeliveries).toHaveLength(5);
    for (const f of ev.failedDeliveries) {
      expect(f.attempts).toBe(2);
      expect(f.reason).toMatch(/^CONNECTION_FAILED: webhook/);
    }
    expect(ev.failedDeliveries.map((f) => `${f.run}:${f.kind}:${f.postKey}`).sort()).toEqual(['1:new:sahel_news/101', '1:new:sahel_news/102', '2:edited:sahel_news/102', '2:new:sahel_news/103', '3:deleted:sahel_news/101']);

    const edit = ev.runs.find((r) => r.run === 2)!.changes.find((c) => c.kind === 'edited')!;
    expect(edit.postKey).toBe('sahel_news/102');
    expect(edit.before?.state).toBe('sealed');
    expect(edit.after?.state).toBe('sealed');
    expect(edit.before!.captureId).toBe(r1.findings.find((f) => f.postKey === 'sahel_news/102')!.captureId);
    expect(edit.after!.captureId).toBe(r2.findings.find((f) => f.kind === 'edited')!.captureId);
    expect(edit.after!.text).toContain(EDITED_102);
    expect(edit.before!.text).toContain('الوضع هادئ');
    // The diff gives back both texts exactly, and names what changed.
    expect(diffBefore(edit.textDiff!)).toBe(edit.before!.text);
    expect(diffAfter(edit.textDiff!)).toBe(edit.after!.text);
    expect(edit.textDiff!.filter((p) => p.op === 'removed').map((p) => p.text).join('')).toContain('الوضع هادئ');
    expect(edit.textDiff!.filter((p) => p.op === 'added').map((p) => p.text).join('')).toContain('تجمّع الناس الآن قرب المسجد');
    expect(edit.textDiff![0]).toMatchObject({ op: 'same', text: expect.stringContaining('فيديو قصير من السوق') });
    // The edit changed text only: the media (by digest) are the same on both sides.
    expect(edit.before!.media.length).toBe(edit.after!.media.length);
    expect(edit.mediaAdded).toEqual([]);
    expect(edit.mediaRemoved).toEqual([]);
    ids.edited = edit.after!.captureId;
    ids.editedBefore = edit.before!.captureId;

    const del = ev.runs.find((r) => r.run === 3)!.changes[0]!;
    expect(del).toMatchObject({ kind: 'deleted', postKey: 'sahel_news/101', gone: 'confirmed' });
    expect(del.before?.state).toBe('sealed');
    expect(del.before?.text).toContain('گزارش امروز');
    expect(del.after?.visibility).toBe('unavailable');
    expect(del.after?.signals.join(' ')).toContain('Post not found');
    ids.observation = del.after!.captureId;

    // Reading the changes is an evidence read, on the case custody log with the captures it showed.
    const log = (await env.s.custody.readLog(CASE)).map((e) => e.event);
    const read = log.filter((e) => e.action === 'viewed' && e.details.view === 'watch-events' && e.actor.id === 'prosecutor-w');
    expect(read.length).toBeGreaterThan(0);
    expect(read.at(-1)!.details.captureIds).toEqual(expect.arrayContaining([ids.edited, ids.editedBefore, ids.observation]));

    // The case list marks what the watch made: the edit re-capture, the observation.
    const list = (await (await env.call('analyst-w', 'GET', `/api/cases/${CASE}/captures`)).json()) as { captures: Array<{ captureId: string; watchId: string | null; supersedes: string | null; observationOf: string | null }> };
    const row = (id: string) => list.captures.find((c) => c.captureId === id)!;
    expect(row(ids.edited)).toMatchObject({ watchId, supersedes: ids.editedBefore });
    expect(row(ids.observation)).toMatchObject({ watchId, observationOf: del.before!.captureId });

    // The live stream reports the watch's state (first event), for the view to re-read.
    const ctl = new AbortController();
    const sse = await env.api.app.request(`/api/watches/${watchId}/stream`, { headers: { Authorization: `Bearer ${env.tokens['analyst-w']}` }, signal: ctl.signal });
    expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = sse.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
    await reader.cancel().catch(() => undefined);
    expect(text).toMatch(/^event: watch/m);
    expect(JSON.parse(/^data: (.*)$/m.exec(text)![1]!)).toMatchObject({ removed: false, runs: 3, lastOutcome: 'ok', sealing: 0 });
  });

  it('exhibit watch events prints the same: what changed, the captures on both sides, the failed deliveries', async () => {
    const r = await exhibit(['watch', 'events', watchId], env.cliEnv);
    expect(r.code, r.stderr).toBe(0);
    const lines = plainLines(r.stdout);
    const text = lines.join('\n');
    expect(text).toContain(`before  capture ${ids.editedBefore}`);
    expect(text).toContain(`after   capture ${ids.edited}`);
    const diff = lines.find((l) => l.trimStart().startsWith('text') && l.includes('[-'))!;
    expect(diff).toContain('[-');
    expect(diff).toContain('{+');
    expect(diff).toMatch(/\[-[^\]]*الوضع هادئ/);
    expect(diff).toMatch(/\{\+[^}]*تجمّع الناس الآن قرب المسجد/);
    expect(diff).toContain('\u2067'); // isolated right-to-left
    expect(text).toContain(`now     capture ${ids.observation}`);
    expect(text).toMatch(/gone: the platform showed not available \(the platform gave no reason\) \(.*Post not found/);
    expect(text).toContain('failed webhook deliveries (5):');
    expect(text).toMatch(/run 2 {2}edited sahel_news\/102 {2}after 2 attempt\(s\).*CONNECTION_FAILED/);
    const json = JSON.parse((await exhibit(['watch', 'events', watchId, '--json'], env.cliEnv)).stdout) as Events;
    expect(json.runs[1]!.changes.find((c) => c.kind === 'edited')!.textDiff).toEqual(expect.arrayContaining([expect.objectContaining({ op: 'added' })]));
  });

  it('spreadsheet intake: every row answered, accepted with a capture id or rejected with its reason; malformed, oversized and too-long sheets refused whole', async () => {
    const u = env.site.url;
    const csv = [
      'URL,Legal basis,Tags,Note,Owner',
      `${u}/sahel_news/101,"=HYPERLINK(""http://evil.example"",""x"")",market;bread,first look,someone`,
      'javascript:alert(1),,,,',
      'not a url,,,,',
      ',Warrant 1,,,',
      `${u}/sahel_news/101,,,,`,
      `ftp://files.example/x,,,,`,
      `${u}/sahel_news/103,,${'x'.repeat(65)},,`,
      `${u}/sahel_news/102,,,"a note, with a comma",`,
    ].join('\r\n');
    const res = await env.call('analyst-w', 'POST', `/api/cases/${OTHER}/intake`, { text: csv });
    expect(res.status).toBe(404); // analyst-w is not a member of OTHER
    expect((await env.call('prosecutor-w', 'POST', `/api/cases/${CASE}/intake`, { text: csv })).status).toBe(403);
    const ok = await env.call('analyst-w', 'POST', `/api/cases/${CASE}/intake`, { text: csv, legalBasis: 'Warrant 2026/92', force: true });
    expect(ok.status, await ok.clone().text()).toBe(200);
    const rep = (await ok.json()) as IntakeReport;
    expect(rep).toMatchObject({ format: 'csv', columns: ['URL', 'Legal basis', 'Tags', 'Note'], ignoredColumns: ['Owner'], accepted: 3, rejected: 5 });
    const byLine = new Map(rep.rows.map((r) => [r.line, r]));
    expect(byLine.get(2)).toMatchObject({ status: 'accepted', legalBasis: '=HYPERLINK("http://evil.example","x")', tags: ['market', 'bread'], note: 'first look', annotations: 'not-applied' });
    expect(byLine.get(3)).toMatchObject({ status: 'rejected', failure: { code: 'UNSUPPORTED_SCHEME' } });
    expect(byLine.get(4)).toMatchObject({ status: 'rejected', failure: { code: 'INVALID_URL' } });
    expect(byLine.get(5)).toMatchObject({ status: 'rejected', url: null, failure: { code: 'INVALID_INPUT', message: 'no URL in this row' } });
    expect(byLine.get(6)).toMatchObject({ status: 'accepted', legalBasis: 'Warrant 2026/92' });
    expect(byLine.get(7)).toMatchObject({ status: 'rejected', failure: { code: 'UNSUPPORTED_SCHEME' } });
    expect(byLine.get(8)).toMatchObject({ status: 'rejected', failure: { code: 'INVALID_INPUT', message: expect.stringContaining('at most 64 characters') } });
    expect(byLine.get(9)).toMatchObject({ status: 'accepted', note: 'a note, with a comma' });
    expect(rep.annotationsNote).toMatch(/not applied/);
    for (const r of rep.rows.filter((x) => x.status === 'accepted')) expect((await waitForFinal(env.s, r.captureId!, { timeoutMs: 120_000 })).state).toBe('sealed');
    // A sheet sent through the API is submitted by the signed-in user, recorded as such.
    const accepted = new Set(rep.rows.flatMap((r) => (r.captureId ? [r.captureId] : [])));
    const sheetEvents = (await env.s.custody.readLog(CASE)).map((e) => e.event).filter((e) => e.action === 'request-submitted' && JSON.stringify(e.details).includes([...accepted][0]!));
    expect(sheetEvents.length).toBeGreaterThan(0);
    for (const e of sheetEvents) expect(e.actor).toEqual({ type: 'user', id: 'analyst-w', role: 'analyst' });

    // Pasted cells (tab-separated, no header: URLs in the first column).
    const tsv = await env.call('analyst-w', 'POST', `/api/cases/${CASE}/intake`, { text: `${u}/sahel_news/102\tWarrant 3\n${u}/s/nochannel\t\n` });
    const t = (await tsv.json()) as IntakeReport;
    expect(t).toMatchObject({ format: 'tsv', columns: ['url'], accepted: 2, rejected: 0 });

    // Refused whole: malformed CSV, more rows than allowed, a body over the route's limit, no URL column.
    const malformed = await env.call('analyst-w', 'POST', `/api/cases/${CASE}/intake`, { text: `url,note\n${u}/a,"unclosed\n` });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { message: string }).message).toMatch(/not valid CSV \(line \d+\)/);
    const many = await env.call('analyst-w', 'POST', `/api/cases/${CASE}/intake`, { text: `url\n${Array.from({ length: 1001 }, (_, i) => `${u}/sahel_news/${i}`).join('\n')}` });
    expect(many.status).toBe(413);
    expect(((await many.json()) as { message: string }).message).toMatch(/more than 1000 rows/);
    const huge = await env.call('analyst-w', 'POST', `/api/cases/${CASE}/intake`, { text: 'x'.repeat(5 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect((await env.call('analyst-w', 'POST', `/api/cases/${CASE}/intake`, { text: 'name,owner\nx,y\n' })).status).toBe(400);
  });

  /** Wait until no capture or seal job is waiting or running (twice in a row), so the store holds what it will. */
  async function quiesce(): Promise<void> {
    let quiet = 0;
    for (const until = Date.now() + 170_000; quiet < 2 && Date.now() < until; await new Promise((r) => setTimeout(r, 500))) {
      const counts = await Promise.all([env.s.queues.capture, env.s.queues.seal].map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')));
      quiet = counts.every((c) => Object.values(c).every((n) => n === 0)) ? quiet + 1 : 0;
    }
  }

  it('exhibit capture --csv reports every row and exits INVALID_INPUT when a row is rejected', async () => {
    const file = path.join(env.stateDir, 'sheet.csv');
    writeFileSync(file, `url,tags\n${env.site.url}/sahel_news/103,alpha\nhttp://,\n`);
    const r = await exhibit(['capture', '--csv', file, '--case', CASE, '--operator', 'analyst-cli', '--allow-private-network', '--no-follow'], env.cliEnv);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    const err = plainLines(r.stderr).join('\n');
    expect(err).toMatch(/CSV sheet: 2 rows, 1 accepted, 1 rejected; columns url, tags/);
    expect(err).toMatch(/line 2 {2}accepted {2}[0-9a-f-]{36}.*\[tags alpha: not-applied\]/);
    expect(err).toMatch(/line 3 {2}REJECTED {2}http:\/\/ — INVALID_URL/);
    expect(err).toMatch(/note: tags and notes were read and checked but not applied/);
    const malformed = path.join(env.stateDir, 'bad.csv');
    writeFileSync(malformed, 'url\n"open');
    const m = await exhibit(['capture', '--csv', malformed, '--case', CASE, '--operator', 'analyst-cli', '--no-follow'], env.cliEnv);
    expect(m.code).toBe(4);
    expect(m.stderr).toMatch(/not valid CSV/);
  });

  it('export: the case as CSV and XLSX with authors, texts, times, visibility, digests, capture ids, packages; formula cells guarded; CLI the same', async () => {
    await quiesce();
    // Package one capture, so package membership shows for it and only it.
    const pk = await env.call('prosecutor-w', 'POST', `/api/cases/${CASE}/packages`, { captureIds: [ids.edited] });
    expect(pk.status).toBe(202);
    const { packageId } = (await pk.json()) as { packageId: string };
    let job: { state: string; fileName: string } = { state: 'building', fileName: '' };
    for (const until = Date.now() + 150_000; job.state === 'building' && Date.now() < until; await new Promise((r) => setTimeout(r, 500))) job = (await (await env.call('prosecutor-w', 'GET', `/api/cases/${CASE}/packages/${packageId}`)).json()) as typeof job;
    expect(job.state).toBe('ready');

    expect((await env.call('auditor-w', 'GET', `/api/cases/${CASE}/export?format=csv`)).status).toBe(403);
    expect((await env.call('analyst-other', 'GET', `/api/cases/${CASE}/export?format=csv`)).status).toBe(404);
    const res = await env.call('prosecutor-w', 'GET', `/api/cases/${CASE}/export?format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha256Digest(bytes).slice(7), 'hex').toString('base64')}:`);
    const rows = parse(bytes, { bom: true, columns: true }) as Array<Record<string, string>>;
    const sealed = (await env.s.store.list(storeKeys.captures(CASE))).filter((k) => k.endsWith('/manifest.json')).map((k) => k.split('/')[3]!);
    expect(rows.map((r) => r.capture_id).sort()).toEqual([...sealed].sort());
    for (const r of rows) {
      const m = await env.s.store.getBytes(storeKeys.manifest(CASE, r.capture_id!));
      expect(r.manifest_sha256).toBe(sha256Digest(m));
    }
    const edited = rows.find((r) => r.capture_id === ids.edited)!;
    expect(edited).toMatchObject({ platform: 'telegram', author: 'Sahel News', author_handle: 'sahel_news', watch_id: watchId, supersedes: ids.editedBefore, visibility: 'visible', legal_basis: 'Warrant 2026/91' });
    expect(edited.text_excerpt).toContain('تجمّع الناس الآن قرب المسجد');
    expect(edited.published).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(edited.packages).toMatch(/\.zip$/);
    expect(rows.filter((r) => r.packages).map((r) => r.capture_id)).toEqual([ids.edited]);
    expect(rows.find((r) => r.capture_id === ids.observation)).toMatchObject({ visibility: 'unavailable', observation_of: expect.any(String) });
    // The legal basis an analyst typed as a formula is exported as text.
    const hostile = rows.find((r) => r.legal_basis?.includes('HYPERLINK'))!;
    expect(hostile.legal_basis).toBe(`'=HYPERLINK("http://evil.example","x")`);
    const log = (await env.s.custody.readLog(CASE)).map((e) => e.event);
    expect(log.some((e) => e.action === 'downloaded' && e.details.view === 'export' && e.actor.id === 'prosecutor-w' && e.subject.digests?.[0] === sha256Digest(bytes))).toBe(true);

    // XLSX: read back with exceljs; checked structurally with Python's zipfile; no formula in the sheet.
    const x = await env.call('prosecutor-w', 'GET', `/api/cases/${CASE}/export?format=xlsx`);
    expect(x.status).toBe(200);
    const xbytes = Buffer.from(await x.arrayBuffer());
    const file = path.join(env.stateDir, 'export.xlsx');
    writeFileSync(file, xbytes);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xbytes as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('captures')!;
    const header = (ws.getRow(1).values as unknown[]).slice(1) as string[];
    const col = (name: string) => header.indexOf(name) + 1;
    const xrows: Array<Record<string, unknown>> = [];
    ws.eachRow((row, n) => {
      if (n > 1) xrows.push({ capture_id: row.getCell(col('capture_id')).value, legal_basis: row.getCell(col('legal_basis')).value, text_excerpt: row.getCell(col('text_excerpt')).value });
    });
    expect(xrows.map((r) => r.capture_id).sort()).toEqual(rows.map((r) => r.capture_id).sort());
    expect(xrows.find((r) => r.capture_id === ids.edited)!.text_excerpt).toBe(edited.text_excerpt);
    expect(xrows.some((r) => r.legal_basis === '=HYPERLINK("http://evil.example","x")')).toBe(true);
    expect(execFileSync('python3', ['-m', 'zipfile', '-t', file], { encoding: 'utf8' })).toMatch(/Done testing/);
    const sheet = execFileSync('python3', ['-c', 'import sys,zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("xl/worksheets/sheet1.xml").decode())', file], { encoding: 'utf8' });
    expect(sheet).not.toMatch(/<f[\s>]/);

    // The CLI writes the same table.
    const cliCsv = await exhibit(['export', CASE, '--format', 'csv'], env.cliEnv);
    expect(cliCsv.code, cliCsv.stderr).toBe(0);
    const cliRows = parse(Buffer.from(cliCsv.stdout, 'utf8'), { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(cliRows.map((r) => r.capture_id).sort()).toEqual(rows.map((r) => r.capture_id).sort());
    const out = path.join(env.stateDir, 'cli.xlsx');
    const cliX = await exhibit(['export', CASE, '--format', 'xlsx', '-o', out], env.cliEnv);
    expect(cliX.code, cliX.stderr).toBe(0);
    expect(readFileSync(out).subarray(0, 2).toString('latin1')).toBe('PK');
    // Never overwritten; XLSX needs a file.
    expect((await exhibit(['export', CASE, '--format', 'xlsx', '-o', out], env.cliEnv)).code).toBe(4);
    expect((await exhibit(['export', CASE, '--format', 'xlsx'], env.cliEnv)).code).toBe(4);
  });

  it('removing a watch keeps its captures and custody; the watch is gone from the API', async () => {
    expect((await env.call('analyst-w', 'DELETE', `/api/watches/${watchId}`)).status).toBe(200);
    expect((await env.call('analyst-w', 'GET', `/api/watches/${watchId}`)).status).toBe(404);
    expect(await env.s.store.stat(storeKeys.manifest(CASE, ids.edited!))).toBeTruthy();
  });
});
