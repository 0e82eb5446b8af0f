/**
 * A case's sealed captures as a spreadsheet (CSV or XLSX): who said what and when, what the
 * platform showed, the URL, the digests that identify the sealed evidence, the capture ids and the
 * packages each capture went into. Read from the store (post.json checked against its manifest
 * digest) and the case's custody log; a derived product, never evidence itself.
 *
 * Formula injection: a spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` (and
 * some also after a leading tab or carriage return) as a formula. Captured text is attacker-written,
 * so in CSV every such cell is written with a leading apostrophe (`'=…`), which spreadsheet programs
 * show as text; the apostrophe is the only change. In XLSX every cell is written as a typed string
 * (never a formula), so values are kept exactly.
 */
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import { mapLimit } from '../lib/concurrency.js';
import type { CustodyEvent } from '../schemas/custody.js';
import { StoredCaptureManifest, type CaptureManifest } from '../schemas/manifest.js';
import type { PostDocument } from '../schemas/post.js';
import { sha256Digest } from '../evidence/canonical.js';
import { storeKeys, type EvidenceStore } from '../evidence/store.js';
import { isSkipped, readSealedPost, sealedCaptureIds } from './sealed-posts.js';

export const EXPORT_COLUMNS = [
  'capture_id',
  'url',
  'final_url',
  'platform',
  'author',
  'author_handle',
  'text_excerpt',
  'text_direction',
  'published',
  'published_as_stated',
  'posts_listed',
  'captured_at',
  'sealed_at',
  'visibility',
  'page_status',
  'requested_by',
  'legal_basis',
  'watch_id',
  'supersedes',
  'observation_of',
  'manifest_sha256',
  'post_json_sha256',
  'screenshot_sha256',
  'warc_sha256',
  'packages',
] as const;
export type ExportColumn = (typeof EXPORT_COLUMNS)[number];
export type ExportRow = Record<ExportColumn, string>;

/** Characters of post text in an excerpt (code points). */
export const EXCERPT_CHARS = 280;

/** Leading characters that make a spreadsheet program read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A cell value safe to open in a spreadsheet program: formula-like text gets a leading apostrophe. */
export function guardCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  const cps = [...flat];
  return cps.length > EXCERPT_CHARS ? `${cps.slice(0, EXCERPT_CHARS - 1).join('')}…` : flat;
}

const digestOf = (m: CaptureManifest, role: string) => m.artifacts.find((a) => a.role === role && !a.derivedFrom)?.sha256 ?? '';

/** Package names (and ids) each capture went into, from the case's `packaged` custody events. */
export function packageMembership(events: CustodyEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    if (e.action !== 'packaged') continue;
    const ids = Array.isArray(e.details.captureIds) ? (e.details.captureIds as unknown[]).map(String) : [];
    const label = `${String(e.details.package ?? e.details.packageId ?? `event ${e.seq}`)}`;
    for (const id of ids) out.set(id, [...(out.get(id) ?? []), label]);
  }
  return out;
}

/** One row per sealed capture of the case, in capture-time order. */
export async function exportRows(store: EvidenceStore, caseId: string, events: CustodyEvent[]): Promise<ExportRow[]> {
  const packages = packageMembership(events);
  const ids = await sealedCaptureIds(store, caseId);
  const rows = await mapLimit(ids, 8, async (captureId) => {
    const bytes = await store.getBytes(storeKeys.manifest(caseId, captureId));
    const m = StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8')));
    let doc: PostDocument | null = null;
    if (m.artifacts.some((a) => a.role === 'post')) {
      const r = await readSealedPost(store, caseId, captureId);
      if (!isSkipped(r)) doc = r.doc;
    }
    const post = doc?.post ?? null;
    const author = post?.author ?? (doc?.profile ? { displayName: doc.profile.displayName, handle: doc.profile.handle, id: doc.profile.id } : null);
    const row: ExportRow = {
      capture_id: captureId,
      url: m.request.url,
      final_url: m.page.finalUrl ?? '',
      platform: doc?.platform ?? m.environment.collector.id,
      author: author?.displayName ?? '',
      // Without the `@`: a cell starting with `@` is a formula to spreadsheet programs.
      author_handle: author?.handle ? author.handle.replace(/^@/, '') : '',
      text_excerpt: post?.text ? excerpt(post.text.content) : m.page.title ? excerpt(m.page.title) : '',
      text_direction: post?.text?.direction ?? '',
      published: post?.published?.utc ?? '',
      published_as_stated: post?.published?.raw ?? '',
      posts_listed: doc && !doc.post ? String(doc.replies.length) : '',
      captured_at: m.environment.startedAt,
      sealed_at: m.sealedAt,
      visibility: doc?.visibility.state ?? '',
      page_status: m.status,
      requested_by: m.request.requestedBy,
      legal_basis: m.request.legalBasis ?? '',
      watch_id: m.request.options.watchId ?? '',
      supersedes: m.request.options.supersedes ?? '',
      observation_of: m.request.options.observationOf ?? '',
      manifest_sha256: sha256Digest(bytes),
      post_json_sha256: digestOf(m, 'post'),
      screenshot_sha256: digestOf(m, 'screenshot'),
      warc_sha256: digestOf(m, 'warc'),
      packages: (packages.get(captureId) ?? []).join('; '),
    };
    return row;
  });
  return rows.sort((a, b) => a.captured_at.localeCompare(b.captured_at) || a.capture_id.localeCompare(b.capture_id));
}

/** CSV (RFC 4180, CRLF, UTF-8 with a byte-order mark so spreadsheet programs read Arabic and Persian right), formula-guarded. */
export function rowsToCsv(rows: ExportRow[]): Buffer {
  const text = stringify([[...EXPORT_COLUMNS], ...rows.map((r) => EXPORT_COLUMNS.map((c) => guardCell(r[c])))], { record_delimiter: '\r\n', quoted_match: /[\r\n"]/ });
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
}

/** XLSX: one sheet of captures (every cell a typed string, never a formula) and one of facts about the export. */
export async function rowsToXlsx(rows: ExportRow[], facts: { caseId: string; exportedAt: string; exportedBy: string }): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Exhibit';
  wb.created = new Date(facts.exportedAt);
  const ws = wb.addWorksheet('captures', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = EXPORT_COLUMNS.map((c) => ({ header: c, key: c, width: c === 'text_excerpt' ? 60 : c.endsWith('sha256') ? 24 : 20 }));
  ws.getRow(1).font = { bold: true };
  for (const r of rows) {
    const row = ws.addRow(EXPORT_COLUMNS.map((c) => r[c]));
    // Right-to-left text is laid out right-to-left in its cell.
    if (r.text_direction === 'rtl') row.getCell(EXPORT_COLUMNS.indexOf('text_excerpt') + 1).alignment = { readingOrder: 'rtl', horizontal: 'right' };
  }
  const about = wb.addWorksheet('about');
  about.addRows([
    ['case', facts.caseId],
    ['exported at', facts.exportedAt],
    ['exported by', facts.exportedBy],
    ['captures', String(rows.length)],
    ['note', 'Derived from the sealed captures; the digests identify the sealed evidence. Verify a package, not this sheet.'],
  ]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
