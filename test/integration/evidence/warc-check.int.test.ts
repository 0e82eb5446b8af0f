import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWarcFile } from '../../../collectors/browser/warc-writer.js';
import { checkWacz } from '../../../evidence/wacz-check.js';
import { checkWarc, checkWarcDetailed, type WarcCheckResult } from '../../../evidence/warc-check.js';
import { PYTHON, python } from '../../support/python.js';
import { exchange } from '../../support/recorded.js';

const run = promisify(execFile);
/** The CLI from source, as ./exhibit runs it. */
const exhibitCli = (args: string[]) => run(process.execPath, ['--import', 'tsx', CLI, ...args]); // spawns: node
const CLI = path.resolve('app/cli.ts');

/** `warcio check -v` (Python): passed, and what it printed. */
async function warcioCheck(file: string): Promise<{ passed: boolean; output: string }> {
  return run(PYTHON, ['-m', 'warcio.cli', 'check', '-v', file]).then( // spawns: python3
    (r) => ({ passed: true, output: r.stdout + r.stderr }),
    (e: { stdout?: string; stderr?: string }) => ({ passed: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
}

/** warcio check -v output: per record its offset, type and messages. */
function warcioRecords(output: string): Array<{ offset: number; type: string; messages: string[] }> {
  const recs: Array<{ offset: number; type: string; messages: string[] }> = [];
  for (const line of output.split('\n')) {
    const m = /^ {2}offset (\d+) WARC-Record-ID \S+ (\S+)/.exec(line);
    if (m) recs.push({ offset: Number(m[1]), type: m[2]!, messages: [] });
    else if (/^ {4}\S/.test(line) && recs.length) recs.at(-1)!.messages.push(line.trim());
  }
  return recs;
}

const errors = (r: WarcCheckResult) => r.findings.filter((f) => f.severity === 'error');

/** Python warcio writes a WARC with a request, a chunked response, a plain response, a revisit and a resource. */
const PY_WRITER = `
import io, sys
from warcio.warcwriter import WARCWriter
from warcio.statusandheaders import StatusAndHeaders
path, gz = sys.argv[1], sys.argv[2] == 'gz'
with open(path, 'wb') as f:
    w = WARCWriter(f, gzip=gz, warc_version='1.1')
    w.write_record(w.create_warcinfo_record(path, {'software': 'warcio test writer'}))
    body = b'5\\r\\nhello\\r\\n6\\r\\n world\\r\\n0\\r\\n\\r\\n'
    resp = w.create_warc_record('http://example.test/chunked', 'response', payload=io.BytesIO(body),
        http_headers=StatusAndHeaders('200 OK', [('Content-Type', 'text/plain'), ('Transfer-Encoding', 'chunked')], protocol='HTTP/1.1'),
        warc_headers_dict={'WARC-IP-Address': '192.0.2.1'})
    req = w.create_warc_record('http://example.test/chunked', 'request', payload=io.BytesIO(b''),
        http_headers=StatusAndHeaders('GET /chunked HTTP/1.1', [('Host', 'example.test')], is_http_request=True))
    req.rec_headers.add_header('WARC-Concurrent-To', resp.rec_headers.get_header('WARC-Record-ID'))
    w.write_record(resp)
    w.write_record(req)
    plain = w.create_warc_record('http://example.test/plain', 'response', payload=io.BytesIO(b'plain body, twenty-eight b.'),
        http_headers=StatusAndHeaders('200 OK', [('Content-Length', '27')], protocol='HTTP/1.1'),
        warc_headers_dict={'WARC-IP-Address': '192.0.2.1'})
    w.write_record(plain)
    w.write_record(w.create_revisit_record('http://example.test/plain', digest=plain.rec_headers.get_header('WARC-Payload-Digest'),
        refers_to_uri='http://example.test/plain', refers_to_date='2026-01-01T00:00:00Z'))
    w.write_record(w.create_warc_record('urn:example:note', 'resource', payload=io.BytesIO(b'a resource record body'), warc_content_type='text/plain'))
`;

const CHUNKED_BODY = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let dir: string;
const pyGz = () => path.join(dir, 'py.warc.gz');
const pyPlain = () => path.join(dir, 'py.warc');
const own = () => path.join(dir, 'own.warc.gz');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warc-check-'));
  await python(PY_WRITER, [pyGz(), 'gz']);
  await python(PY_WRITER, [pyPlain(), 'plain']);
  // Exhibit's writer: a chunked response and a plain one, each with its request
  const rawChunked = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`;
  const rawPlain = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody';
  await writeFile(path.join(dir, 'c.res'), rawChunked);
  await writeFile(path.join(dir, 'p.res'), rawPlain);
  await writeFile(path.join(dir, 'c.req'), 'GET /chunked HTTP/1.1\r\nHost: example.test\r\n\r\n');
  await writeWarcFile(
    own(),
    [
      exchange({ url: 'http://example.test/chunked', rawRequestPath: path.join(dir, 'c.req'), rawResponsePath: path.join(dir, 'c.res'), rawResponseSize: rawChunked.length }),
      exchange({ url: 'http://example.test/plain', rawResponsePath: path.join(dir, 'p.res'), rawResponseSize: rawPlain.length }),
    ],
    { software: 'Exhibit 0.1.0 (test)', operator: 'analyst-01', captureId: 'c-1' },
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('checkWarc on WARCs written by Python warcio', () => {
  for (const [label, file] of [['gzip per record', pyGz], ['plain', pyPlain]] as const) {
    it(`${label}: passes, as warcio check passes; a note says the chunked response's payload digest is over the bytes as recorded`, async () => {
      const r = await checkWarc(file());
      expect(errors(r)).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.records).toBe(6);
      expect(r.origin.exhibit).toBe(false);
      const form = r.findings.filter((f) => f.check === 'payload-digest-form');
      expect(form.map((f) => [f.severity, f.recordType, f.targetUri])).toEqual([['note', 'response', 'http://example.test/chunked']]);
      expect(form[0]!.message).toMatch(/as recorded \(transfer coding kept/);
      expect(r.findings.some((f) => f.check === 'revisit' && f.recordType === 'revisit')).toBe(true);
      expect((await warcioCheck(file())).passed).toBe(true);
    });
  }

  it('the CLI agrees: exit 0, the summary, and JSON with every finding', async () => {
    const { stdout } = await exhibitCli(['warc', 'check', pyGz()]);
    expect(stdout).toMatch(/6 records; 0 errors/);
    expect(stdout).toContain('PASSED');
    const json = JSON.parse((await exhibitCli(['warc', 'check', '--json', pyPlain()])).stdout) as { result: string; records: number };
    expect(json).toMatchObject({ result: 'passed', records: 6 });
  });
});

describe("checkWarc on Exhibit's own WARC", () => {
  it("passes under Exhibit's rules, and Python warcio check passes it with no failure (chunked response included)", async () => {
    const r = await checkWarc(own());
    expect(r.origin.exhibit).toBe(true);
    expect(errors(r)).toEqual([]);
    expect(r.ok).toBe(true);
    const form = r.findings.filter((f) => f.check === 'payload-digest-form');
    expect(form.map((f) => [f.severity, f.targetUri])).toEqual([['note', 'http://example.test/chunked']]);
    expect(form[0]!.message).toMatch(/as recorded \(transfer coding kept/);
    const py = await warcioCheck(own());
    expect(py.passed).toBe(true);
    const records = warcioRecords(py.output);
    expect(records.flatMap((r) => r.messages).filter((m) => /fail|not present/i.test(m))).toEqual([]);
    // the chunked response's digests were checked and passed
    const chunkedAt = (await checkWarcDetailed(own())).recordFacts.find((f) => f.targetUri === 'http://example.test/chunked' && f.type === 'response')!.offset;
    expect(records.find((r) => r.offset === chunkedAt)?.messages).toEqual(['digest pass']);
  });

  it('requires WARC-IP-Address on responses in Exhibit WARCs, and only warns for other tools', async () => {
    const bytes = gunzipSync(await readFile(own())).toString('latin1');
    const noIp = path.join(dir, 'own-no-ip.warc');
    await writeFile(noIp, bytes.replace(/WARC-IP-Address: [^\r]*\r\n/g, ''), 'latin1');
    const r = await checkWarc(noIp);
    expect(errors(r).filter((f) => f.check === 'ip-address').map((f) => f.targetUri).sort()).toEqual(['http://example.test/chunked', 'http://example.test/plain']);
    const foreign = await checkWarc(noIp, { origin: 'foreign' });
    expect(foreign.ok).toBe(true);
    expect(foreign.findings.filter((f) => f.check === 'ip-address').every((f) => f.severity === 'warning')).toBe(true);
  });
});

describe('checkWarc on corrupted copies (each also fails warcio check, unless said otherwise)', () => {
  it('a flipped byte in a block: block digest failure naming the record', async () => {
    const bytes = await readFile(pyPlain());
    const at = bytes.indexOf('a resource record body') + 3;
    const bad = Buffer.from(bytes);
    bad[at] = bad[at]! ^ 0x20;
    const file = path.join(dir, 'flipped.warc');
    await writeFile(file, bad);
    const r = await checkWarc(file);
    expect(r.ok).toBe(false);
    const e = errors(r);
    expect(e.map((f) => [f.check, f.recordType, f.targetUri])).toContainEqual(['block-digest', 'resource', 'urn:example:note']);
    expect(e.find((f) => f.check === 'block-digest')!.offset).toBe(bytes.lastIndexOf('WARC/1.1', at));
    expect((await warcioCheck(file)).passed).toBe(false);
    await expect(exhibitCli(['warc', 'check', file])).rejects.toMatchObject({ code: 8, stdout: expect.stringMatching(/ERROR +\[block-digest\] .*@\d+ resource urn:example:note/) });
  });

  it('a flipped byte in the block of each record type: block digest failure naming that record (an empty revisit block: its broken end)', async () => {
    const bytes = await readFile(pyPlain());
    const { stdout } = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'offset,length,warc-type,warc-target-uri', pyPlain()]); // spawns: python3
    const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as { offset: string; length: string; 'warc-type': string; 'warc-target-uri'?: string });
    expect(rows.map((r) => r['warc-type'])).toEqual(['warcinfo', 'response', 'request', 'response', 'revisit', 'resource']);
    for (const row of rows) {
      const offset = Number(row.offset);
      const blockStart = bytes.indexOf('\r\n\r\n', offset) + 4;
      const blockEnd = offset + Number(row.length);
      const at = blockStart + Math.floor((blockEnd - blockStart) / 2);
      const bad = Buffer.from(bytes);
      bad[at] = bad[at]! ^ 0x01;
      const file = path.join(dir, `flipped-${row['warc-type']}-${offset}.warc`);
      await writeFile(file, bad);
      const r = await checkWarc(file);
      expect(r.ok, file).toBe(false);
      // warcio's revisit has an empty block: the flip lands on the record's closing CRLF CRLF
      const expected = blockEnd > blockStart ? 'block-digest' : 'content-length';
      expect(errors(r).map((f) => [f.check, f.offset, f.recordType]), file).toContainEqual([expected, offset, row['warc-type']]);
      // warcio check reads past a broken record end after a revisit (it checks no revisit digest either)
      expect((await warcioCheck(file)).passed, file).toBe(row['warc-type'] === 'revisit');
    }
  });

  it('a flipped byte inside a gzip member: the record fails', async () => {
    const bytes = await readFile(own());
    const bad = Buffer.from(bytes);
    const at = Math.floor(bytes.length * 0.6);
    bad[at] = bad[at]! ^ 0xff;
    const file = path.join(dir, 'flipped.warc.gz');
    await writeFile(file, bad);
    expect((await checkWarc(file)).ok).toBe(false);
    expect((await warcioCheck(file)).passed).toBe(false);
  });

  it('a truncated record: reading stops there, named (warcio check does not notice)', async () => {
    const bytes = await readFile(pyPlain());
    const at = bytes.indexOf('a resource record body') + 5;
    const file = path.join(dir, 'truncated.warc');
    await writeFile(file, bytes.subarray(0, at));
    const r = await checkWarc(file);
    expect(errors(r).map((f) => [f.check, f.recordType, f.targetUri])).toEqual([['content-length', 'resource', 'urn:example:note']]);
    expect(errors(r)[0]!.message).toMatch(/truncated/);
    // warcio 1.8 check never reaches the digest of a block cut short: it passes the file, saying so
    const py = await warcioCheck(file);
    expect(py.passed).toBe(true);
    expect(warcioRecords(py.output).at(-1)).toMatchObject({ type: 'resource', messages: ['digest present but not checked'] });
  });

  it('a gzip WARC cut inside a member: the lost record is named by its offset (warcio check does not notice)', async () => {
    const bytes = await readFile(pyGz());
    const { stdout } = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'offset,warc-type', pyGz()]); // spawns: python3
    const lastOffset = Number((JSON.parse(stdout.trim().split('\n').at(-1)!) as { offset: string }).offset);
    const file = path.join(dir, 'cut.warc.gz');
    await writeFile(file, bytes.subarray(0, lastOffset + 40));
    const r = await checkWarc(file);
    expect(r.ok).toBe(false);
    expect(r.records).toBe(5);
    expect(errors(r).map((f) => [f.check, f.offset])).toEqual([['content-length', lastOffset]]);
    expect(errors(r)[0]!.message).toMatch(/ends inside a gzip member/);
    expect((await warcioCheck(file)).passed).toBe(true);
  });

  it('a wrong Content-Length: named, reading stops', async () => {
    const text = (await readFile(pyPlain())).toString('latin1');
    const start = text.indexOf('WARC-Type: resource');
    const recStart = text.lastIndexOf('WARC/1.1', start);
    const clAt = text.indexOf('Content-Length: ', recStart);
    const clEnd = text.indexOf('\r\n', clAt);
    const n = Number(text.slice(clAt + 16, clEnd));
    const file = path.join(dir, 'wrong-length.warc');
    await writeFile(file, text.slice(0, clAt) + `Content-Length: ${n - 3}` + text.slice(clEnd), 'latin1');
    const r = await checkWarc(file);
    expect(r.ok).toBe(false);
    expect(errors(r).filter((f) => f.recordType === 'resource').map((f) => f.check)).toEqual(expect.arrayContaining(['content-length']));
    expect((await warcioCheck(file)).passed).toBe(false);
  });

  it('a payload digest over the de-chunked entity body (WARC 1.1 §6.3.2) passes with a note naming that form; one matching neither form fails (warcio check fails both)', async () => {
    const text = gunzipSync(await readFile(own())).toString('latin1');
    const written = `sha256:${sha256(CHUNKED_BODY)}`;
    expect(text).toContain(`WARC-Payload-Digest: ${written}`);
    // the WARC header is not part of the block: the block digest still holds after the swap
    const entity = path.join(dir, 'entity-body.warc');
    await writeFile(entity, text.replace(written, `sha256:${sha256('hello world')}`), 'latin1');
    const r = await checkWarc(entity);
    expect(errors(r)).toEqual([]);
    const form = r.findings.filter((f) => f.check === 'payload-digest-form');
    expect(form.map((f) => [f.severity, f.targetUri])).toEqual([['note', 'http://example.test/chunked']]);
    expect(form[0]!.message).toMatch(/entity body with the transfer coding removed \(WARC 1\.1/);
    // Python warcio 1.8 digests the chunked bytes only (webrecorder/warcio#74)
    expect((await warcioCheck(entity)).passed).toBe(false);

    const neither = path.join(dir, 'neither-form.warc');
    await writeFile(neither, text.replace(written, `sha256:${sha256('hello world!')}`), 'latin1');
    const n = await checkWarc(neither);
    expect(errors(n).map((f) => [f.check, f.recordType, f.targetUri])).toEqual([['payload-digest', 'response', 'http://example.test/chunked']]);
    expect(errors(n)[0]!.message).toContain(`as recorded hashes to sha256:${sha256(CHUNKED_BODY)}, de-chunked to sha256:${sha256('hello world')}`);
    expect(n.findings.some((f) => f.check === 'payload-digest-form')).toBe(false);
    expect((await warcioCheck(neither)).passed).toBe(false);
  });

  it('not a WARC at all: exit 4', async () => {
    const file = path.join(dir, 'not.warc');
    await writeFile(file, 'hello\nworld\n');
    await expect(exhibitCli(['warc', 'check', file])).rejects.toMatchObject({ code: 4 });
  });
});

describe('checkWacz: the CDXJ index against the records', () => {
  async function wacz(name: string, cdxj: string): Promise<string> {
    const zip = new yazl.ZipFile();
    const warc = await readFile(pyGz());
    zip.addBuffer(warc, 'archive/data.warc.gz');
    zip.addBuffer(Buffer.from(cdxj), 'indexes/index.cdxj');
    // The data package a WACZ must have (its absence is an error of its own).
    const resource = (p: string, b: Buffer) => ({ name: path.basename(p), path: p, hash: `sha256:${sha256(b)}`, bytes: b.length });
    zip.addBuffer(Buffer.from(JSON.stringify({ profile: 'data-package', wacz_version: '1.1.1', resources: [resource('archive/data.warc.gz', warc), resource('indexes/index.cdxj', Buffer.from(cdxj))] })), 'datapackage.json');
    const file = path.join(dir, name);
    const outStream = createWriteStream(file);
    zip.outputStream.pipe(outStream);
    zip.end();
    await once(outStream, 'finish');
    return file;
  }
  async function cdxjFromWarcio(): Promise<string[]> {
    const { stdout } = await run(PYTHON, ['-m', 'warcio.cli', 'index', '-f', 'warc-type,warc-target-uri,warc-date,offset,length', pyGz()]); // spawns: python3
    return stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>)
      .filter((r) => r['warc-type'] === 'response' || r['warc-type'] === 'revisit' || r['warc-type'] === 'resource')
      .map((r) => `${r['warc-target-uri']} ${r['warc-date']!.replace(/\D/g, '').slice(0, 14)} ${JSON.stringify({ url: r['warc-target-uri'], offset: Number(r.offset), length: Number(r.length), filename: 'data.warc.gz' })}`);
  }

  it('an index made by warcio passes; an entry with a wrong offset or length fails, named', async () => {
    const lines = await cdxjFromWarcio();
    expect(lines.length).toBe(4);
    const good = await checkWacz(await wacz('good.wacz', `${lines.join('\n')}\n`));
    expect(errors(good)).toEqual([]);
    expect(good.records).toBe(6);

    const badLines = [...lines];
    badLines[0] = badLines[0]!.replace(/"offset":(\d+)/, (_, n: string) => `"offset":${Number(n) + 1}`);
    badLines[1] = badLines[1]!.replace(/"length":(\d+)/, (_, n: string) => `"length":${Number(n) - 1}`);
    const file = await wacz('bad.wacz', `${badLines.join('\n')}\n`);
    const bad = await checkWacz(file);
    expect(errors(bad).map((f) => [f.check, f.file, f.message.slice(0, 7)])).toEqual([
      ['cdxj', 'indexes/index.cdxj', 'line 1:'],
      ['cdxj', 'indexes/index.cdxj', 'line 2:'],
    ]);
    expect(errors(bad)[0]!.message).toMatch(/no record starts/);
    expect(errors(bad)[1]!.message).toMatch(/states length/);
    await expect(exhibitCli(['warc', 'check', file])).rejects.toMatchObject({ code: 8 });
  });
});
