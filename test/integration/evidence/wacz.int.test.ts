/**
 * WACZ made from an Exhibit WARC, checked by the archiving world's own tools: py-wacz `wacz
 * validate`, Python warcio indexing the WARC inside, ReplayWeb.page's signature check (wabac.js),
 * `openssl ts -verify` on the token over the datapackage digest, and `exhibit warc check`. Then the
 * tampered copies each of them must refuse, naming what changed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWarcFile } from '../../../collectors/browser/warc-writer.js';
import { checkWacz } from '../../../evidence/wacz-check.js';
import { generateWaczKey, signWaczHash, verifyWaczSignature } from '../../../evidence/wacz-key.js';
import { buildWacz, tsaTimestamper, type BuiltWacz } from '../../../evidence/wacz.js';
import { systemClock } from '../../../lib/clock.js';
import { PYTHON, python, waczValidate } from '../../support/python.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';
import { exchange } from '../../support/recorded.js';

const run = promisify(execFile);
const CLI = path.resolve('app/cli.ts');

/** `exhibit warc check --json` as ./exhibit runs it. */
async function exhibitCheck(file: string): Promise<{ code: number; report: { result: string; findings: Array<{ severity: string; check: string; file: string; offset: number | null; recordType: string | null; message: string }> } }> {
  const r = await run(process.execPath, ['--import', 'tsx', CLI, 'warc', 'check', '--json', file]).then( // spawns: node
    (x) => ({ code: 0, stdout: x.stdout }),
    (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '' }),
  );
  return { code: r.code, report: JSON.parse(r.stdout) as never };
}

/** ReplayWeb.page's verifyWACZSignature over a signedData object. */
async function replaywebVerify(signedData: unknown): Promise<Array<{ id: string; matched: unknown }>> {
  const child = execFile(process.execPath, ['--import', 'tsx', 'test/support/replayweb-verify.ts']); // spawns: node
  let out = '';
  child.stdout!.on('data', (c: string) => (out += c));
  child.stdin!.end(JSON.stringify(signedData));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ReplayWeb.page's verifier refused the signedData (exit ${code})`);
  return JSON.parse(out) as Array<{ id: string; matched: unknown }>;
}

/** Rewrite a zip with Python's zipfile: `edit(name, bytes)` returns the new bytes of an entry (or the same). */
const REZIP = `
import sys, zipfile, json, base64
src, dst, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, 'w') as zo:
    for info in zi.infolist():
        data = zi.read(info.filename)
        if info.filename in spec:
            data = base64.b64decode(spec[info.filename])
        zo.writestr(info, data, compress_type=info.compress_type)
`;
async function rezip(src: string, dst: string, edits: Record<string, Buffer>): Promise<void> {
  await python(REZIP, [src, dst, JSON.stringify(Object.fromEntries(Object.entries(edits).map(([k, v]) => [k, v.toString('base64')])))]);
}
const ZIP_READ = `
import sys, zipfile
sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))
`;
async function entry(zip: string, name: string): Promise<Buffer> {
  const { stdout } = await run(PYTHON, ['-c', ZIP_READ, zip, name], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }); // spawns: python3
  return stdout;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const PAGE = 'http://example.test/post/1';
const HTML = Buffer.from('<!doctype html><html lang="ar" dir="rtl"><head><title>بيان رسمي</title></head><body><p>مرحبا بالعالم</p><img src="/a.png"></body></html>');

describe('WACZ from an Exhibit WARC', () => {
  let dir: string;
  let tsa: LocalTsa;
  let warc: string;
  let wacz: string;
  let built: BuiltWacz;
  const key = generateWaczKey();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'wacz-'));
    tsa = await startLocalTsa();
    const res = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${HTML.length}\r\n\r\n`), HTML]);
    const png = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\x89PNG\r\n0\r\n\r\n', 'latin1')]);
    await writeFile(path.join(dir, 'p.res'), res);
    await writeFile(path.join(dir, 'i.res'), png);
    await writeFile(path.join(dir, 'p.req'), 'GET /post/1 HTTP/1.1\r\nHost: example.test\r\n\r\n');
    warc = path.join(dir, 'traffic.warc.gz');
    await writeWarcFile(
      warc,
      [
        exchange({ url: PAGE, rawRequestPath: path.join(dir, 'p.req'), rawResponsePath: path.join(dir, 'p.res'), rawResponseSize: res.length, startedAt: '2026-03-01T10:00:00.000Z' }),
        exchange({ url: 'http://example.test/a.png', rawResponsePath: path.join(dir, 'i.res'), rawResponseSize: png.length, dns: { host: 'example.test', addresses: ['203.0.113.7'], error: null } as never }),
      ],
      { software: 'Exhibit 0.1.0 (test)', operator: 'analyst-01', captureId: 'c-1' },
    );
    wacz = path.join(dir, 'capture.wacz');
    built = await buildWacz({
      warcs: [{ path: warc, name: 'traffic.warc.gz', sha256: sha256(await readFile(warc)) }],
      outPath: wacz,
      pages: [{ url: PAGE, title: 'بيان رسمي', fallbackTs: '2026-03-01T09:59:00Z' }],
      title: 'بيان رسمي',
      created: '2026-03-01T10:05:00Z',
      software: 'Exhibit 0.1.0',
      signingKey: key,
      timestamp: tsaTimestamper([{ url: tsa.url }], { clock: systemClock, trustAnchors: [tsa.caCertPem], attempts: 2, backoffMs: 50 }),
    });
  });
  afterAll(async () => {
    await tsa?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('indexes and checks a URL whose query holds a brace (the index key keeps it; the JSON starts after the time)', async () => {
    const url = 'http://example.test/api/graphql?variables={"id":"1"}';
    const res = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    await writeFile(path.join(dir, 'g.res'), res);
    const w = path.join(dir, 'brace.warc.gz');
    await writeWarcFile(w, [exchange({ url, rawResponsePath: path.join(dir, 'g.res'), rawResponseSize: res.length, startedAt: '2026-03-01T10:00:00.000Z' })], { software: 'Exhibit 0.1.0 (test)', operator: 'analyst-01', captureId: 'c-2' });
    const out = path.join(dir, 'brace.wacz');
    await buildWacz({ warcs: [{ path: w, name: 'brace.warc.gz', sha256: sha256(await readFile(w)) }], outPath: out, pages: [{ url, title: null, fallbackTs: '2026-03-01T09:59:00Z' }], title: 'brace', created: '2026-03-01T10:05:00Z', software: 'Exhibit 0.1.0', signingKey: key, timestamp: null });
    const line = (await entry(out, 'indexes/index.cdxj')).toString('utf8').trim();
    expect(line.split(' ')[0]).toContain('{');
    const checked = await exhibitCheck(out);
    expect(checked.report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(checked.code).toBe(0);
  });

  it('holds the WARC byte for byte, the page with its recorded time, a sorted CDXJ and a signed, timestamped digest', async () => {
    expect((await entry(wacz, 'archive/traffic.warc.gz')).equals(await readFile(warc))).toBe(true);
    const pages = (await entry(wacz, 'pages/pages.jsonl')).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(pages[0]).toMatchObject({ format: 'json-pages-1.0' });
    expect(pages[1]).toMatchObject({ url: PAGE, title: 'بيان رسمي', ts: '2026-03-01T10:00:00.000Z' });
    const cdxj = (await entry(wacz, 'indexes/index.cdxj')).toString('utf8').trim().split('\n');
    expect(cdxj.map((l) => l.split(' ')[0])).toEqual(['test,example)/a.png', 'test,example)/post/1']);
    const dp = await entry(wacz, 'datapackage.json');
    const digest = JSON.parse((await entry(wacz, 'datapackage-digest.json')).toString('utf8')) as { hash: string; signedData: { hash: string; created: string; signature: string; publicKey: string }; timestamps: Array<{ token: string }> };
    expect(digest.hash).toBe(sha256(dp));
    expect(digest.signedData.created).toBe((JSON.parse(dp.toString('utf8')) as { created: string }).created);
    expect(verifyWaczSignature(digest.signedData)).toBeNull();
    expect(built).toMatchObject({ signed: true, keyFingerprint: key.fingerprint, datapackageHash: digest.hash });
    expect(digest.timestamps).toHaveLength(1);

    // openssl checks the token over the datapackage digest with the TSA's root.
    const tsr = path.join(dir, 'dp.tsr');
    await writeFile(tsr, Buffer.from(digest.timestamps[0]!.token, 'base64'));
    const args = ['ts', '-verify', '-digest', digest.hash.slice('sha256:'.length), '-in', tsr, '-CAfile', tsa.caCertPath, '-untrusted', tsa.tsaCertPath];
    const ok = await run('openssl', args); // spawns: openssl
    expect(ok.stdout).toMatch(/Verification: OK/);
  });

  it('py-wacz validates it, Python warcio indexes the WARC inside, exhibit warc check passes it', async () => {
    const v = await waczValidate(wacz);
    expect(v.output).toMatch(/Validation succeeded/);
    expect(v.ok).toBe(true);

    const warcInside = path.join(dir, 'inside.warc.gz');
    await writeFile(warcInside, await entry(wacz, 'archive/traffic.warc.gz'));
    const { stdout } = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'warc-type,warc-target-uri,offset', warcInside]); // spawns: python3
    const indexed = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(indexed.map((r) => r['warc-type'])).toEqual(['warcinfo', 'request', 'response', 'request', 'response', 'metadata']);
    // The CDXJ points where Python warcio finds the responses.
    const cdxj = (await entry(wacz, 'indexes/index.cdxj')).toString('utf8').trim().split('\n').map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { url: string; offset: string });
    for (const line of cdxj) expect(indexed.find((r) => r['warc-type'] === 'response' && r['warc-target-uri'] === line.url)?.offset).toBe(line.offset);

    const own = await exhibitCheck(wacz);
    expect(own.report.result).toBe('passed');
    expect(own.code).toBe(0);
  });

  it("ReplayWeb.page's own verifier accepts the signature; a P-256 key (what the issue assumed) it refuses", async () => {
    const digest = JSON.parse((await entry(wacz, 'datapackage-digest.json')).toString('utf8')) as { signedData: Record<string, string> };
    const results = await replaywebVerify(digest.signedData);
    expect(results.find((r) => r.id === 'signature')?.matched).toBe(true);
    // Why the WACZ key is P-384: the viewer imports the key as P-384 and throws on any other curve.
    const { generateKeyPairSync, sign } = await import('node:crypto');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const hash = digest.signedData.hash!;
    await expect(
      replaywebVerify({ ...digest.signedData, publicKey: p256.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), signature: sign('sha256', Buffer.from(hash), { key: p256.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64') }),
    ).rejects.toThrow(/refused/);
  });

  describe('tampered copies are refused, naming the item', () => {
    it('a changed byte in the WARC inside', async () => {
      const bytes = Buffer.from(await entry(wacz, 'archive/traffic.warc.gz'));
      // A byte inside the response record's compressed member.
      const cdx = (await entry(wacz, 'indexes/index.cdxj')).toString('utf8').trim().split('\n').map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { url: string; offset: string; length: string });
      const page = cdx.find((l) => l.url === PAGE)!;
      const at = Number(page.offset) + Math.floor(Number(page.length) / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      const bad = path.join(dir, 'warc-byte.wacz');
      await rezip(wacz, bad, { 'archive/traffic.warc.gz': bytes });

      const own = await checkWacz(bad);
      expect(own.ok).toBe(false);
      const onRecord = own.findings.find((f) => f.severity === 'error' && f.file === 'archive/traffic.warc.gz' && f.offset === Number(page.offset));
      expect(onRecord, JSON.stringify(own.findings)).toMatchObject({ check: 'gzip', targetUri: PAGE });
      expect(own.findings.some((f) => f.severity === 'error' && f.check === 'datapackage' && f.file === 'archive/traffic.warc.gz')).toBe(true);
      const v = await waczValidate(bad);
      expect(v.ok).toBe(false);
      // Frictionless (inside py-wacz) inflates the WARC: a corrupt deflate stream is reported as the
      // resource's compression error, or, when the flipped bit already breaks the first block it
      // reads to detect the format (record ids differ per run, so the compressed bytes do), zlib's
      // error is raised from that read. Either way it is the WARC's decompression that fails.
      expect(v.output).toMatch(/'traffic\.warc\.gz': \[\{'type': 'compression-error'|frictionless\/system\/loader\.py[\s\S]*zlib\.error: Error -3 while decompressing data/);
    });

    it('an altered datapackage.json', async () => {
      const dp = JSON.parse((await entry(wacz, 'datapackage.json')).toString('utf8')) as Record<string, unknown>;
      const bad = path.join(dir, 'datapackage.wacz');
      await rezip(wacz, bad, { 'datapackage.json': Buffer.from(`${JSON.stringify({ ...dp, title: 'another page' }, null, 2)}\n`) });
      const own = await checkWacz(bad);
      expect(own.findings.filter((f) => f.severity === 'error').map((f) => [f.check, f.file])).toEqual([['signature', 'datapackage-digest.json']]);
      expect(own.findings.find((f) => f.severity === 'error')!.message).toMatch(/for datapackage\.json, which hashes to/);
      const v = await waczValidate(bad);
      expect(v.ok).toBe(false);
      expect(v.output).toMatch(/datapackage\.json hash mismatch/);
    });

    it('a bad signature (another key signed; or the signature of another digest)', async () => {
      const digest = JSON.parse((await entry(wacz, 'datapackage-digest.json')).toString('utf8')) as { hash: string; signedData: Record<string, string> };
      const other = generateWaczKey();
      const forgeries = {
        'other-key': { ...digest.signedData, signature: signWaczHash(digest.hash, other) },
        'other-digest': { ...digest.signedData, signature: signWaczHash(`sha256:${'0'.repeat(64)}`, key) },
      };
      for (const [name, signedData] of Object.entries(forgeries)) {
        const bad = path.join(dir, `sig-${name}.wacz`);
        await rezip(wacz, bad, { 'datapackage-digest.json': Buffer.from(JSON.stringify({ ...digest, signedData })) });
        const own = await checkWacz(bad);
        const errors = own.findings.filter((f) => f.severity === 'error');
        expect(errors.map((f) => [f.check, f.file]), name).toEqual([['signature', 'datapackage-digest.json']]);
        expect(errors[0]!.message).toMatch(/signature does not verify/);
        expect((await exhibitCheck(bad)).code).toBe(8);
        expect((await replaywebVerify(signedData)).find((r) => r.id === 'signature')?.matched, name).toBe(false);
      }
    });

    it('a timestamp token over another digest', async () => {
      const digest = JSON.parse((await entry(wacz, 'datapackage-digest.json')).toString('utf8')) as { hash: string; timestamps: Array<Record<string, string>> };
      const stamp = tsaTimestamper([{ url: tsa.url }], { clock: systemClock, trustAnchors: [tsa.caCertPem] });
      const other = await stamp(`sha256:${'1'.repeat(64)}`);
      const bad = path.join(dir, 'tsr.wacz');
      await rezip(wacz, bad, { 'datapackage-digest.json': Buffer.from(JSON.stringify({ ...digest, timestamps: [{ ...digest.timestamps[0], token: other.tokens[0]!.tsr.toString('base64') }] })) });
      const own = await checkWacz(bad, { tsaTrustAnchors: [tsa.caCertPem] });
      const errors = own.findings.filter((f) => f.severity === 'error');
      expect(errors.map((f) => [f.check, f.file])).toEqual([['timestamp', 'datapackage-digest.json#timestamps/0']]);
    });
  });
});
