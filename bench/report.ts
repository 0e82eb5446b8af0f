/**
 * Benchmark rows and their Markdown rendering. Pure (no I/O) so the formatting is unit-tested.
 */

/** Row ids, in table order; `--only` takes these. */
export const ROW_IDS = ['capture-latency', 'capture-throughput', 'memory', 'seal', 'verify', 'bulk-submit', 'package', 'graph-build', 'graph-incremental'] as const;
export type RowId = (typeof ROW_IDS)[number];

export interface BenchRow {
  id: RowId;
  /** Short human name, first column. */
  what: string;
  /** Exhibit's figure, formatted. */
  exhibit: string;
  /** The baseline's figure, formatted. */
  baseline: string;
  /** Exhibit relative to the baseline, in the direction the target is written (null: not measured). */
  ratio: number | null;
  /** The target as written in the issue, e.g. `≤ 1.5×`. */
  target: string;
  /** null when the row could not be measured (see `error`). */
  pass: boolean | null;
  /** Why a row could not be measured. */
  error?: string;
  /** Raw figures for the JSON file. */
  data: Record<string, unknown>;
}

/** A row that could not be measured: shown in the table, never a crash of the whole run. */
export function failedRow(id: RowId, what: string, target: string, error: unknown): BenchRow {
  const message = error instanceof Error ? error.message : String(error);
  return { id, what, exhibit: '—', baseline: '—', ratio: null, target, pass: null, error: message.split('\n')[0]!.slice(0, 300), data: {} };
}

/** `734 ms`, `1.23 s`, `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms - m * 60_000) / 1000);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}

/** Binary units: `512 KiB`, `1.50 MiB`, `1.00 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** `1.23×`. */
export function formatRatio(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '—';
  return `${r.toFixed(2)}×`;
}

/** Three significant digits, thousands separated: `1,234`, `56.7`, `0.123`. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** The results table: what, Exhibit, baseline, ratio, target, pass/fail. */
export function formatTable(rows: readonly BenchRow[]): string {
  const head = ['what', 'Exhibit', 'baseline (same run)', 'ratio', 'target', 'result'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i >= 3 ? '---:' : '---')).join('|')}|`];
  for (const r of rows) {
    const result = r.pass === null ? `not measured: ${r.error ?? 'unknown reason'}` : r.pass ? 'pass' : '**FAIL**';
    lines.push(`| ${[r.what, r.exhibit, r.baseline, formatRatio(r.ratio), r.target, result].map(cell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Table plus a one-line summary of the machine, as printed on stdout. */
export function formatReport(rows: readonly BenchRow[], machine: { cpuModel: string; cores: number; memTotalBytes: number; loadAverage: readonly number[] }, mode: 'quick' | 'full'): string {
  const passed = rows.filter((r) => r.pass === true).length;
  const failed = rows.filter((r) => r.pass === false).length;
  const missing = rows.filter((r) => r.pass === null).length;
  const load = machine.loadAverage.map((l) => l.toFixed(2)).join(' ');
  return [
    `Exhibit benchmarks (${mode}) on ${machine.cpuModel}, ${machine.cores} cores, ${formatBytes(machine.memTotalBytes)} RAM; load average at start ${load}`,
    '',
    formatTable(rows),
    `${passed} passed, ${failed} missed the target${missing ? `, ${missing} not measured` : ''}. Ratios compare Exhibit with a baseline measured in the same run on the same machine.`,
    '',
  ].join('\n');
}

/** Parse `--only a,b`: known row ids, in table order. Throws on an unknown id. */
export function parseOnly(text: string | undefined): RowId[] | undefined {
  if (text === undefined) return undefined;
  const ids = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new Error(`--only needs at least one row: ${ROW_IDS.join(', ')}`);
  const unknown = ids.filter((id) => !(ROW_IDS as readonly string[]).includes(id));
  if (unknown.length) throw new Error(`unknown row(s) ${unknown.join(', ')}; known rows: ${ROW_IDS.join(', ')}`);
  return ROW_IDS.filter((id) => ids.includes(id));
}
