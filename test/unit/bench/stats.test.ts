import { describe, expect, it } from 'vitest';
import { mean, median, megabytesPerSecond, percentile, perMinute, summarize } from '../../../bench/lib/stats.js';

describe('percentile', () => {
  it('interpolates linearly between ranks (NumPy default / R-7)', () => {
    // numpy.percentile([1, 2, 3, 4], [50, 90]) == [2.5, 3.7]
    expect(percentile([4, 1, 3, 2], 50)).toBeCloseTo(2.5, 12);
    expect(percentile([4, 1, 3, 2], 90)).toBeCloseTo(3.7, 12);
    // numpy.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == 91
    expect(percentile([100, 90, 80, 70, 60, 50, 40, 30, 20, 10], 90)).toBeCloseTo(91, 12);
  });

  it('hits exact samples at the ends and at exact ranks', () => {
    const v = [5, 1, 9, 3, 7];
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(9);
    expect(percentile(v, 50)).toBe(5);
    expect(percentile(v, 25)).toBe(3);
    expect(percentile([42], 90)).toBe(42);
  });

  it('does not reorder the caller’s array', () => {
    const v = [3, 1, 2];
    percentile(v, 50);
    expect(v).toEqual([3, 1, 2]);
  });

  it('refuses empty input, non-finite values and p outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1, Number.NaN], 50)).toThrow(/non-finite/);
    expect(() => percentile([1, Infinity], 50)).toThrow(/non-finite/);
    expect(() => percentile([1, 2], -1)).toThrow(/0\.\.100/);
    expect(() => percentile([1, 2], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1, 2], Number.NaN)).toThrow(/0\.\.100/);
  });
});

describe('summaries and rates', () => {
  it('median, mean and summarize agree with hand computation', () => {
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(() => mean([])).toThrow(RangeError);
    expect(summarize([700, 900, 800, 1200, 750])).toEqual({ n: 5, min: 700, p50: 800, p90: 1080, max: 1200, mean: 870 });
  });

  it('rates per minute and MB/s, refusing zero time', () => {
    expect(perMinute(60, 45_000)).toBe(80);
    expect(megabytesPerSecond(1_700_000_000, 1000)).toBe(1700);
    expect(() => perMinute(1, 0)).toThrow(RangeError);
    expect(() => megabytesPerSecond(1, -5)).toThrow(RangeError);
  });
});
