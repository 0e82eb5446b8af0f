import { describe, expect, it } from 'vitest';
import { failedRow, formatBytes, formatDuration, formatNumber, formatRatio, formatReport, formatTable, parseOnly, ROW_IDS, type BenchRow } from '../../../bench/report.js';

const row = (over: Partial<BenchRow> = {}): BenchRow => ({
  id: 'capture-latency',
  what: 'capture latency',
  exhibit: 'p50 1.10 s, p90 1.30 s',
  baseline: 'p50 734 ms, p90 800 ms',
  ratio: 1.4986,
  target: 'p50 ≤ 1.5×',
  pass: true,
  data: {},
  ...over,
});

describe('formatters', () => {
  it('durations', () => {
    expect(formatDuration(734.4)).toBe('734 ms');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(Number.NaN)).toBe('—');
  });

  it('bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1024 * 1024 * 1024)).toBe('1.00 GiB');
    expect(formatBytes(256 * 1024 * 1024)).toBe('256 MiB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.50 MiB');
  });

  it('ratios and numbers', () => {
    expect(formatRatio(1.4986)).toBe('1.50×');
    expect(formatRatio(null)).toBe('—');
    expect(formatNumber(35123.4)).toBe('35,123');
    expect(formatNumber(56.74)).toBe('56.7');
    expect(formatNumber(0.1234)).toBe('0.123');
  });
});

describe('formatTable', () => {
  it('renders one Markdown row per result with the six columns', () => {
    const t = formatTable([row(), row({ id: 'seal', what: 'seal', pass: false, ratio: 0.5 })]);
    const lines = t.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('| what | Exhibit | baseline (same run) | ratio | target | result |');
    expect(lines[1]).toBe('|---|---|---|---:|---:|---:|');
    expect(lines[2]).toBe('| capture latency | p50 1.10 s, p90 1.30 s | p50 734 ms, p90 800 ms | 1.50× | p50 ≤ 1.5× | pass |');
    expect(lines[3]).toContain('| 0.50× |');
    expect(lines[3]).toContain('**FAIL**');
    for (const l of lines) expect(l.split(/(?<!\\)\|/).length).toBe(8);
  });

  it('escapes pipes and newlines so a cell cannot break the table', () => {
    const t = formatTable([row({ exhibit: 'a | b\nc' })]);
    expect(t).toContain('a \\| b c');
    expect(t.trim().split('\n')).toHaveLength(3);
  });

  it('shows a row that could not be measured, with the reason', () => {
    const r = failedRow('verify', 'verify', '≥ 0.9×', new Error('unzip: not found\nstack...'));
    expect(r.pass).toBeNull();
    const t = formatTable([r]);
    expect(t).toContain('| verify | — | — | — | ≥ 0.9× | not measured: unzip: not found |');
  });

  it('report: header with the machine, table, and counts', () => {
    const text = formatReport([row(), row({ pass: false }), failedRow('package', 'package', '≤ 1.5×', 'boom')], { cpuModel: 'AMD EPYC', cores: 2, memTotalBytes: 24 * 1024 ** 3, loadAverage: [2.5, 2, 1] }, 'quick');
    expect(text.split('\n')[0]).toBe('Exhibit benchmarks (quick) on AMD EPYC, 2 cores, 24.0 GiB RAM; load average at start 2.50 2.00 1.00');
    expect(text).toContain('1 passed, 1 missed the target, 1 not measured.');
  });
});

describe('parseOnly', () => {
  it('keeps table order and accepts spaces', () => {
    expect(parseOnly('package, seal')).toEqual(['seal', 'package']);
    expect(parseOnly(undefined)).toBeUndefined();
    expect(parseOnly(ROW_IDS.join(','))).toEqual([...ROW_IDS]);
  });

  it('refuses unknown and empty lists', () => {
    expect(() => parseOnly('seal,speed')).toThrow(/unknown row\(s\) speed/);
    expect(() => parseOnly(' , ')).toThrow(/at least one row/);
  });
});
