/**
 * `verify` reads every WARC and WACZ of a package record by record: a clean package passes (its
 * archives read in place from the zip), and a changed byte in one record of each type fails naming
 * the archive and the record (offset, type, target URI), beside the digest failure that only says
 * the file changed.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeWarcFile } from '../../../collectors/browser/warc-writer.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { checkWarcDetailed, type WarcRecordFacts } from '../../../evidence/warc-check.js';
import { buildWacz } from '../../../evidence/wacz.js';
import { generateWaczKey } from '../../../evidence/wacz-key.js';
import type { PackageReport } from '../../../schemas/custody.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { waczValidate } from '../../support/python.js';
import { exchange } from '../../support/recorded.js';

const run = promisify(execFile);
const PAGE = 'http://example.test/thread/7';
const CDN = 'http://cdn.example.test/v.js';

describe('verify checks WARC and WACZ artifacts record by record', () => {
  let env: EvidenceEnv;
  let work: string;
  let unzipped: string;
  let plainWarc: Buffer;
  let records: WarcRecordFacts[];
  let captureId: string;
  let anchors: Awaited<ReturnType<EvidenceEnv['anchors']>>;
  let pkgPath: string;
  const caseId = 'C-RECORDS-1';
  const warcItem = () => `data/captures/${captureId}/artifacts/traffic.warc`;
  const waczItem = () => `data/captures/${captureId}/artifacts/traffic.wacz`;

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    work = await mkdtemp(path.join(os.tmpdir(), 'exhibit-records-'));
    const html = Buffer.from('<html><head><title>Thread</title></head><body>نص عربي</body></html>');
    const js = Buffer.from('console.log(1);');
    const res = (type: string, body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    await writeFile(path.join(work, 'p.res'), res('text/html; charset=utf-8', html));
    await writeFile(path.join(work, 'j.res'), res('text/javascript', js));
    const gz = path.join(work, 'traffic.warc.gz');
    await writeWarcFile(
      gz,
      [
        exchange({ url: PAGE, rawResponsePath: path.join(work, 'p.res'), rawResponseSize: html.length + 80 }),
        exchange({ url: CDN, rawResponsePath: path.join(work, 'j.res'), rawResponseSize: js.length + 80, dns: { host: 'cdn.example.test', addresses: ['203.0.113.9'], error: null } as never }),
      ],
      { software: 'Exhibit 0.1.0 (test)', operator: 'analyst-01', captureId: 'c-records' },
    );
    // The plain form (members joined): a changed byte stays inside its record, so the block digest names it.
    plainWarc = gunzipSync(await readFile(gz));
    const plainPath = path.join(work, 'traffic.warc');
    await writeFile(plainPath, plainWarc);
    records = (await checkWarcDetailed(plainPath)).recordFacts;
    const waczPath = path.join(work, 'traffic.wacz');
    await buildWacz({ warcs: [{ path: gz, name: 'traffic.warc.gz' }], outPath: waczPath, pages: [{ url: PAGE, title: 'Thread', fallbackTs: '2026-01-01T00:00:00Z' }], title: 'Thread', created: '2026-01-01T00:00:05Z', software: 'Exhibit 0.1.0', signingKey: generateWaczKey(), timestamp: null });
    const cap = await env.seal(caseId, {
      extra: [
        { name: 'traffic.warc', role: 'warc', mediaType: 'application/warc', bytes: plainWarc },
        { name: 'traffic.wacz', role: 'wacz', mediaType: 'application/wacz', bytes: await readFile(waczPath) },
      ],
    });
    captureId = cap.captureId;
    pkgPath = (await env.pack(caseId, { name: 'records' })).path;
    unzipped = path.join(work, 'pristine');
    await run('unzip', ['-q', pkgPath, '-d', unzipped]); // spawns: unzip
    anchors = await env.anchors();
  });
  afterAll(async () => {
    await env?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** An unzipped copy of the package with `edit` applied to one file. */
  async function tampered(name: string, file: string, edit: (b: Buffer) => void): Promise<PackageReport> {
    const dir = path.join(work, name);
    await cp(unzipped, dir, { recursive: true });
    const bag = path.join(dir, 'records');
    const target = path.join(bag, file);
    const bytes = await readFile(target);
    edit(bytes);
    await writeFile(target, bytes);
    return verifyPackage(bag, anchors);
  }

  it('a clean package passes, its WARC and WACZ read in place from the zip', async () => {
    const report = await verifyPackage(pkgPath, anchors);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    const warcCheck = report.checks.find((c) => c.item === warcItem() && c.check === 'warc-records');
    expect(warcCheck).toMatchObject({ ok: true, message: expect.stringMatching(new RegExp(`^${records.length} WARC records read`)) });
    expect(report.checks.find((c) => c.item === waczItem() && c.check === 'wacz-records')).toMatchObject({ ok: true });
  });

  it('a package can carry one WACZ of the whole case: py-wacz validates it, its WARCs are the sealed ones, verify reads it', async () => {
    const second = await env.seal(caseId, { url: 'https://example.org/post/2', extra: [{ name: 'traffic.warc', role: 'warc', mediaType: 'application/warc', bytes: plainWarc }] });
    const pkg = await env.pack(caseId, { name: 'case-wacz', caseWacz: true });
    const report = await verifyPackage(pkg.path, anchors);
    expect(report.failures).toEqual([]);
    expect(report.checks.find((c) => c.item === 'data/case.wacz' && c.check === 'wacz-records')).toMatchObject({ ok: true });
    expect(report.checks.find((c) => c.item === 'data/case.wacz' && c.check === 'package-content')).toBeUndefined();
    const dir = path.join(work, 'case-wacz');
    await run('unzip', ['-q', pkg.path, '-d', dir]); // spawns: unzip
    const wacz = path.join(dir, 'case-wacz', 'data', 'case.wacz');
    const v = await waczValidate(wacz);
    expect(v.output).toMatch(/Validation succeeded/);
    expect(v.ok).toBe(true);
    const listing = (await run('unzip', ['-Z1', wacz])).stdout.trim().split('\n').sort(); // spawns: unzip
    expect(listing).toEqual(['archive/' + `${captureId}-traffic.warc`, `archive/${second.captureId}-traffic.warc`, 'datapackage-digest.json', 'datapackage.json', 'indexes/index.cdxj', 'pages/pages.jsonl'].sort());
    for (const id of [captureId, second.captureId]) {
      const inside = (await run('unzip', ['-p', wacz, `archive/${id}-traffic.warc`], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 })).stdout; // spawns: unzip
      expect(inside.equals(plainWarc), id).toBe(true);
    }
    const pages = (await run('unzip', ['-p', wacz, 'pages/pages.jsonl'])).stdout.trim().split('\n').slice(1).map((l) => (JSON.parse(l) as { url: string }).url); // spawns: unzip
    expect(pages.sort()).toEqual(['https://example.org/post/1?lang=ar#final', 'https://example.org/post/2#final']);
  });

  const cases = [
    { type: 'request', uri: PAGE },
    { type: 'response', uri: PAGE },
    { type: 'request', uri: CDN },
    { type: 'response', uri: CDN },
    { type: 'metadata', uri: CDN },
  ];
  for (const c of cases) {
    it(`a changed byte in the ${c.type} record of ${c.uri} is named by offset, type and URI`, async () => {
      const rec = records.find((r) => r.type === c.type && r.targetUri === c.uri)!;
      expect(rec, `${c.type} ${c.uri} in the fixture WARC`).toBeDefined();
      // The last byte of the block, before the record's closing CRLF CRLF.
      const at = rec.offset + rec.length - 5;
      const report = await tampered(`${c.type}-${rec.offset}`, `data/captures/${captureId}/artifacts/traffic.warc`, (b) => {
        b[at] = b[at]! ^ 0x20;
      });
      expect(report.ok).toBe(false);
      const named = report.failures.filter((f) => f.item === warcItem() && f.check === 'warc-records');
      // Every record-level failure is about this record (a response's payload digest fails with its block digest).
      const where = `record at offset ${rec.offset} (${c.type} ${c.uri} ${rec.recordId}): `;
      expect(named.length, JSON.stringify(report.failures, null, 1)).toBeGreaterThan(0);
      for (const f of named) expect(f.message).toContain(where);
      expect(named.map((f) => f.message)).toContainEqual(expect.stringContaining(`${where}block digest does not match`));
      // Only the tampered record is named; the digest check says the file changed.
      expect(report.failures.some((f) => f.item === warcItem() && f.check === 'artifact')).toBe(true);
    });
  }

  it('a changed byte in the WARC inside a WACZ is named by the WACZ, the WARC, the offset and the URL', async () => {
    const wacz = await readFile(path.join(unzipped, 'records', waczItem()));
    // The WARC is stored uncompressed in the WACZ: find its response member through the index.
    const { stdout } = await run('unzip', ['-p', path.join(unzipped, 'records', waczItem()), 'indexes/index.cdxj']); // spawns: unzip
    const page = stdout.trim().split('\n').map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { url: string; offset: string; length: string }).find((l) => l.url === PAGE)!;
    // Its first gzip member right after its local header's name.
    const warcStart = wacz.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), wacz.indexOf(Buffer.from('archive/traffic.warc.gz')));
    const report = await tampered('wacz-inside', waczItem(), (b) => {
      const at = warcStart + Number(page.offset) + Math.floor(Number(page.length) / 2);
      b[at] = b[at]! ^ 0x01;
    });
    const named = report.failures.filter((f) => f.item === `${waczItem()}#archive/traffic.warc.gz` && f.check === 'wacz-records');
    expect(named.map((f) => f.message), JSON.stringify(report.failures, null, 1)).toContainEqual(expect.stringMatching(new RegExp(`record at offset ${page.offset} \\(unknown type ${PAGE.replace(/[/.]/g, '\\$&')}\\): the gzip member at offset ${page.offset} does not inflate`)));
  });
});
