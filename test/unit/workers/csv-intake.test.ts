import { describe, expect, it } from 'vitest';
import { MAX_INTAKE_ROWS } from '../../../schemas/spreadsheet.js';
import { detectFormat, intakeSheet, readSheet } from '../../../workers/csv-intake.js';
import type { SubmitDeps } from '../../../workers/submit.js';

// The refusals below happen before anything is submitted: deps that would fail if touched.
const untouchable = new Proxy({}, { get: (_, k) => { throw new Error(`deps.${String(k)} touched`); } }) as SubmitDeps;
const opts = { caseId: 'C-1', common: { requestedBy: 'analyst-01', options: {} } };

describe('spreadsheet intake: reading the sheet', () => {
  it('tells pasted cells (tabs) from CSV', () => {
    expect(detectFormat('url\tnote\nhttps://a.example/\tx')).toBe('tsv');
    expect(detectFormat('url,note\nhttps://a.example/,x')).toBe('csv');
    expect(detectFormat('"a\tb",url\n')).toBe('csv');
  });

  it('keeps quoted commas and line breaks in a cell, skips blank lines, numbers rows by line', () => {
    const rows = readSheet('url,note\r\n"https://a.example/x?a=1,2","two\nlines"\r\n\r\nhttps://b.example/\r\n', 'csv');
    expect(rows).toEqual([
      { line: 1, cells: ['url', 'note'] },
      { line: 3, cells: ['https://a.example/x?a=1,2', 'two\nlines'] },
      { line: 5, cells: ['https://b.example/'] },
    ]);
  });

  it('a quote inside pasted cells is text (spreadsheets do not quote the clipboard)', () => {
    expect(readSheet('url\tnote\nhttps://a.example/\tsaid "hi', 'tsv')[1]!.cells).toEqual(['https://a.example/', 'said "hi']);
  });

  it('refuses a malformed CSV whole, naming the line', async () => {
    expect(() => readSheet('url,note\nhttps://a.example/,"open quote\n', 'csv')).toThrow(/not valid CSV \(line \d+\)/);
    await expect(intakeSheet('url,note\nhttps://a.example/,"x"y"\n', opts, untouchable)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('refuses a sheet without a URL column, or with a header and no rows', async () => {
    await expect(intakeSheet('name,note\nx,y\n', opts, untouchable)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('no URL column') });
    await expect(intakeSheet('url,note\n', opts, untouchable)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('no rows') });
    await expect(intakeSheet('\n\n', opts, untouchable)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it(`refuses more than ${MAX_INTAKE_ROWS} rows whole (with or without a header), without cutting silently`, async () => {
    const rows = Array.from({ length: MAX_INTAKE_ROWS + 1 }, (_, i) => `https://a.example/${i}`);
    await expect(intakeSheet(`url\n${rows.join('\n')}\n`, opts, untouchable)).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(intakeSheet(`${rows.join('\n')}\n`, opts, untouchable)).rejects.toMatchObject({ code: 'TOO_LARGE' });
    // An endless sheet is not read to its end: the parser stops after the limit.
    const huge = `url\n${'https://a.example/x\n'.repeat(50_000)}`;
    await expect(intakeSheet(huge, opts, untouchable)).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});
