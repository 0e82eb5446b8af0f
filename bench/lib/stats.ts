/**
 * Small statistics for benchmark samples. Pure: no I/O, so it is unit-tested on its own.
 */

/**
 * The `p`-th percentile (0–100) of `values`, by linear interpolation between the two nearest
 * ranks (the "R-7" method used by NumPy's default and Excel's PERCENTILE.INC).
 * Throws RangeError on an empty list, a non-finite value or `p` outside 0–100.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`percentile of a non-finite value: ${v}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of an empty list');
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  max: number;
  mean: number;
}

/** n, min, p50, p90, max and mean of a non-empty sample. */
export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    max: Math.max(...values),
    mean: mean(values),
  };
}

/** Events per minute for `count` events over `elapsedMs`. */
export function perMinute(count: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`elapsed time must be positive, got ${elapsedMs}`);
  return (count * 60_000) / elapsedMs;
}

/** Bytes per second as MB/s (10^6), the unit `openssl speed` and disk tools print. */
export function megabytesPerSecond(bytes: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`elapsed time must be positive, got ${elapsedMs}`);
  return bytes / 1e6 / (elapsedMs / 1000);
}
