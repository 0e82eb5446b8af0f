import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { checkWarcDetailed, type WarcCheckOptions, type WarcCheckResult, type WarcFinding, type WarcRecordFacts } from './warc-check.js';

/**
 * A WACZ checked record by record: every WARC under `archive/` with {@link checkWarcDetailed}, and
 * every CDXJ line under `indexes/` against the records it points at (file, offset, length, URL).
 */

/** A CDXJ line longer than this is not an index entry. */
const MAX_CDXJ_LINE = 64 * 1024;

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true, autoClose: false }, (e, zip) => (e ? reject(e) : resolve(zip))));
}

async function entries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const list: yauzl.Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => {
      list.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve());
    zip.once('error', reject);
    zip.readEntry();
  });
  return list;
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))));
}

/** Whether a file looks like a WACZ (a zip) rather than a WARC, by its first bytes. */
export function isZip(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/**
 * Check a WACZ. Throws only when the file is not a readable zip; everything wrong inside it is a
 * finding.
 */
export async function checkWacz(file: string, opts: Omit<WarcCheckOptions, 'name'> = {}): Promise<WarcCheckResult & { warcs: string[] }> {
  const zip = await openZip(file);
  const findings: WarcFinding[] = [];
  let records = 0;
  const warcs: string[] = [];
  const facts = new Map<string, WarcRecordFacts[]>();
  let exhibit = false;
  try {
    const all = await entries(zip);
    for (const e of all.filter((x) => /^archive\/[^/]+\.warc(\.gz)?$/i.test(x.fileName))) {
      warcs.push(e.fileName);
      const r = await checkWarcDetailed(async function* () {
        yield* await entryStream(zip, e);
      }, { ...opts, name: e.fileName });
      records += r.records;
      findings.push(...r.findings);
      facts.set(e.fileName.slice('archive/'.length), r.recordFacts);
      exhibit ||= r.origin.exhibit;
    }
    if (warcs.length === 0) findings.push({ severity: 'error', check: 'structure', file, offset: null, recordType: null, targetUri: null, recordId: null, message: 'no WARC under archive/' });
    const indexes = all.filter((x) => /^indexes\/.+\.cdxj?$/i.test(x.fileName));
    for (const e of all.filter((x) => /^indexes\/.+\.(cdxj?\.gz|idx)$/i.test(x.fileName))) {
      findings.push({ severity: 'warning', check: 'cdxj', file: e.fileName, offset: null, recordType: null, targetUri: null, recordId: null, message: 'compressed (ZipNum) index not checked; only plain CDXJ is' });
    }
    for (const e of indexes) await checkCdxj(e.fileName, await entryStream(zip, e), facts, findings);
  } finally {
    zip.close();
  }
  return { ok: !findings.some((f) => f.severity === 'error'), records, findings, origin: { exhibit, reason: exhibit ? 'a warcinfo record names Exhibit' : 'no warcinfo record names Exhibit' }, warcs };
}

async function checkCdxj(indexName: string, stream: Readable, facts: Map<string, WarcRecordFacts[]>, findings: WarcFinding[]): Promise<void> {
  const byOffset = new Map<string, Map<number, WarcRecordFacts>>();
  for (const [name, list] of facts) byOffset.set(name, new Map(list.map((r) => [r.offset, r])));
  let lineNo = 0;
  const add = (message: string, rec: WarcRecordFacts | null = null) =>
    findings.push({ severity: 'error', check: 'cdxj', file: indexName, offset: rec?.offset ?? null, recordType: rec?.type ?? null, targetUri: rec?.targetUri ?? null, recordId: rec?.recordId ?? null, message: `line ${lineNo}: ${message}` });
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '' || line.startsWith('!')) continue;
    if (line.length > MAX_CDXJ_LINE) {
      add(`longer than ${MAX_CDXJ_LINE} characters; not an index entry`);
      continue;
    }
    const brace = line.indexOf('{');
    let entry: { url?: unknown; offset?: unknown; length?: unknown; filename?: unknown };
    try {
      entry = JSON.parse(brace >= 0 ? line.slice(brace) : '') as typeof entry;
    } catch {
      add('not "urlkey timestamp {json}"');
      continue;
    }
    const name = typeof entry.filename === 'string' ? entry.filename : null;
    const offset = Number(entry.offset);
    const length = Number(entry.length);
    if (!name || !Number.isInteger(offset) || !Number.isInteger(length)) {
      add('lacks filename, offset or length');
      continue;
    }
    const records = byOffset.get(name);
    if (!records) {
      add(`points into ${name}, which is not under archive/`);
      continue;
    }
    const rec = records.get(offset);
    if (!rec) {
      add(`points at offset ${offset} of ${name}, where no record starts`);
      continue;
    }
    // Plain WARCs are indexed without the record's closing CRLF CRLF by some tools.
    if (length !== rec.length && length !== rec.length - 4) add(`states length ${length} for the record at offset ${offset} of ${name}, which is ${rec.length} bytes`, rec);
    if (typeof entry.url === 'string' && rec.targetUri !== null && entry.url !== rec.targetUri) add(`states URL ${entry.url}, the record at offset ${offset} of ${name} is for ${rec.targetUri}`, rec);
  }
}
