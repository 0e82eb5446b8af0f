import { parse } from 'csv-parse/sync';
import { PermanentError } from '../lib/errors.js';
import type { Failure } from '../schemas/errors.js';
import { MAX_INTAKE_BYTES, MAX_INTAKE_ROWS, MAX_NOTE_CHARS, MAX_ROW_TAGS, MAX_TAG_CHARS, type IntakeReport, type IntakeRow } from '../schemas/spreadsheet.js';
import { submitCaptures, type CaptureRequestCommon, type SubmitDeps } from './submit.js';

/**
 * Spreadsheet intake: a CSV file, or cells pasted from a spreadsheet (tab-separated), with a URL
 * column and optional legal basis, tags and note. Every data row is answered accepted (with its
 * capture id) or rejected (with the reason); a sheet that cannot be read as a table at all, or that
 * has more than MAX_INTAKE_ROWS rows, is refused whole with INVALID_INPUT / TOO_LARGE.
 */

/** Recognised header names (lower case, spaces, `-` and `_` ignored) for each column. */
const COLUMN_NAMES: Record<'url' | 'legalBasis' | 'tags' | 'note', string[]> = {
  url: ['url', 'link', 'target', 'address'],
  legalBasis: ['legalbasis', 'basis', 'warrant', 'authority'],
  tags: ['tags', 'tag', 'labels'],
  note: ['note', 'notes', 'comment', 'comments'],
};
type Column = keyof typeof COLUMN_NAMES;

const norm = (h: string) => h.trim().toLowerCase().replace(/[\s_-]+/g, '');

/**
 * Records the tags and note of an accepted row (the caller closes over who and through what). The
 * capture is only queued at this point, not sealed: an implementation that annotates sealed
 * captures must hold the annotation until the capture is sealed. Absent where this installation
 * records no annotations: the rows then say `not-applied`.
 */
export type AnnotationRecorder = (a: { caseId: string; captureId: string; tags: string[]; note: string | null }) => Promise<void>;

export interface IntakeOptions {
  caseId: string;
  /** Everything each capture request shares (operator, options); `legalBasis` is the default for rows without one. */
  common: Omit<CaptureRequestCommon, 'caseId'>;
  format?: 'auto' | 'csv' | 'tsv';
  annotate?: AnnotationRecorder;
}

/** `tsv` when the first line has a tab and no comma outside quotes (what spreadsheets put on the clipboard). */
export function detectFormat(text: string): 'csv' | 'tsv' {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.includes('\t') && !first.replace(/"[^"]*"/g, '').includes(',') ? 'tsv' : 'csv';
}

interface SheetRow {
  line: number;
  cells: string[];
}

/** Parse the sheet into rows with their line numbers; malformed input (an open quote) is refused whole. */
export function readSheet(text: string, format: 'csv' | 'tsv'): SheetRow[] {
  if (Buffer.byteLength(text, 'utf8') > MAX_INTAKE_BYTES) throw new PermanentError('TOO_LARGE', `the sheet is larger than ${MAX_INTAKE_BYTES} bytes`);
  try {
    const records = parse(text, {
      delimiter: format === 'tsv' ? '\t' : ',',
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      // Pasted cells carry no quoting of their own: a quote inside a tab-separated cell is text.
      quote: format === 'tsv' ? false : '"',
      info: true,
      // Header + the most rows accepted + 1, to tell "too many" without reading an endless sheet.
      to: MAX_INTAKE_ROWS + 2,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
    return records.map((r) => ({ line: r.info.lines, cells: r.record }));
  } catch (err) {
    const e = err as Error & { code?: string; lines?: number };
    throw new PermanentError('INVALID_INPUT', `the sheet is not valid ${format.toUpperCase()}${e.lines ? ` (line ${e.lines})` : ''}: ${e.message}`, { cause: err });
  }
}

function columnsOf(header: string[]): { map: Partial<Record<Column, number>>; ignored: string[]; named: string[] } {
  const map: Partial<Record<Column, number>> = {};
  const ignored: string[] = [];
  const named: string[] = [];
  header.forEach((h, i) => {
    const n = norm(h);
    const col = (Object.keys(COLUMN_NAMES) as Column[]).find((c) => COLUMN_NAMES[c].includes(n));
    if (col && map[col] === undefined) {
      map[col] = i;
      named.push(h.trim());
    } else if (h.trim()) ignored.push(h.trim());
  });
  return { map, ignored, named };
}

const reject = (code: Failure['code'], message: string): Failure => ({ code, kind: 'permanent', message });

// Control characters other than tab/newline have no business in a tag or a note.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function readTags(cell: string): { tags: string[]; failure: Failure | null } {
  const tags = [...new Set(cell.split(/[;,|]/).map((t) => t.trim().replace(/^#/, '')).filter(Boolean))];
  if (tags.length > MAX_ROW_TAGS) return { tags, failure: reject('INVALID_INPUT', `${tags.length} tags; at most ${MAX_ROW_TAGS} per row`) };
  const bad = tags.find((t) => [...t].length > MAX_TAG_CHARS || CONTROL.test(t) || /\s{2,}|[\n\t]/.test(t));
  if (bad !== undefined) return { tags, failure: reject('INVALID_INPUT', `tag "${[...bad].slice(0, 40).join('')}": at most ${MAX_TAG_CHARS} characters, one line, no control characters`) };
  return { tags, failure: null };
}

/**
 * Read the sheet, check each row, submit the good ones (as one `submitCaptures` call, so the same
 * URL twice is one capture) and answer every row.
 */
export async function intakeSheet(text: string, opts: IntakeOptions, deps: SubmitDeps): Promise<IntakeReport> {
  const format = !opts.format || opts.format === 'auto' ? detectFormat(text) : opts.format;
  const rows = readSheet(text, format);
  if (rows.length === 0) throw new PermanentError('INVALID_INPUT', 'the sheet has no rows');
  // A header names the columns; a sheet whose first cell is already a URL has none (URLs in column 1).
  const first = rows[0]!.cells;
  const headerless = /^\s*[a-z][a-z0-9+.-]*:/i.test(first[0] ?? '') && columnsOf(first).map.url === undefined;
  const { map, ignored, named } = headerless ? { map: { url: 0 } as Partial<Record<Column, number>>, ignored: [], named: ['url'] } : columnsOf(first);
  if (map.url === undefined) throw new PermanentError('INVALID_INPUT', `the sheet has no URL column: name one column "url" in the first row (found: ${first.map((h) => JSON.stringify(h.trim())).join(', ') || 'nothing'})`);
  const data = headerless ? rows : rows.slice(1);
  if (data.length > MAX_INTAKE_ROWS) throw new PermanentError('TOO_LARGE', `the sheet has more than ${MAX_INTAKE_ROWS} rows; split it into sheets of at most ${MAX_INTAKE_ROWS}`);
  if (data.length === 0) throw new PermanentError('INVALID_INPUT', 'the sheet has a header but no rows');

  const cell = (r: SheetRow, c: Column) => (map[c] === undefined ? '' : (r.cells[map[c]!] ?? '').trim());
  const results: IntakeRow[] = [];
  const toSubmit: Array<{ index: number; request: Record<string, unknown> }> = [];
  for (const r of data) {
    const url = cell(r, 'url');
    const basis = cell(r, 'legalBasis') || opts.common.legalBasis || null;
    const { tags, failure: tagFailure } = readTags(cell(r, 'tags'));
    const note = cell(r, 'note') || null;
    const row: IntakeRow = { line: r.line, url: url || null, status: 'rejected', captureId: null, duplicate: false, legalBasis: basis, tags, note, annotations: tags.length || note ? 'not-applied' : 'none', failure: null };
    results.push(row);
    if (!url) row.failure = reject('INVALID_INPUT', 'no URL in this row');
    else if (tagFailure) row.failure = tagFailure;
    else if (note && ([...note].length > MAX_NOTE_CHARS || CONTROL.test(note))) row.failure = reject('INVALID_INPUT', `note: at most ${MAX_NOTE_CHARS} characters, no control characters`);
    else if (basis && basis.length > 2000) row.failure = reject('INVALID_INPUT', 'legal basis: at most 2000 characters');
    else {
      const { legalBasis: _default, ...common } = opts.common;
      toSubmit.push({ index: results.length - 1, request: { ...common, caseId: opts.caseId, url, ...(basis ? { legalBasis: basis } : {}) } });
    }
  }
  const outcomes = toSubmit.length ? await submitCaptures(toSubmit.map((t) => t.request), deps) : [];
  const seen = new Set<string>();
  for (const [k, o] of outcomes.entries()) {
    const row = results[toSubmit[k]!.index]!;
    if (!o.ok) {
      row.failure = o.failure;
      continue;
    }
    row.status = 'accepted';
    row.captureId = o.captureId;
    row.duplicate = o.duplicate || seen.has(o.captureId);
    seen.add(o.captureId);
  }
  let annotationsNote: string | null = null;
  const wanted = results.filter((r) => r.status === 'accepted' && r.annotations === 'not-applied');
  if (wanted.length && opts.annotate) {
    for (const r of wanted) {
      await opts.annotate({ caseId: opts.caseId, captureId: r.captureId!, tags: r.tags, note: r.note });
      r.annotations = 'applied';
    }
  } else if (results.some((r) => r.annotations === 'not-applied')) {
    annotationsNote = 'tags and notes were read and checked but not applied: this installation does not record annotations yet';
  }
  const accepted = results.filter((r) => r.status === 'accepted').length;
  return { caseId: opts.caseId, format, columns: named, ignoredColumns: ignored, rows: results, accepted, rejected: results.length - accepted, annotationsNote };
}
