import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../../lib/concurrency.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps input order whatever order the calls finish in', async () => {
    const out = await mapLimit([30, 5, 20, 1], 4, async (ms, i) => {
      await tick(ms);
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:5', '2:20', '3:1']);
  });

  it('never runs more than `limit` calls at once, and runs that many when it can', async () => {
    let running = 0;
    let peak = 0;
    await mapLimit(Array.from({ length: 12 }, (_, i) => i), 3, async () => {
      running++;
      peak = Math.max(peak, running);
      await tick(5);
      running--;
    });
    expect(peak).toBe(3);
  });

  it('rejects with the first error, starts nothing after it, and waits for the calls in flight', async () => {
    const started: number[] = [];
    let settled = 0;
    const p = mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick(n === 1 ? 1 : 20);
      settled++;
      if (n === 1) throw new Error('item 1 broke');
      return n;
    });
    await expect(p).rejects.toThrow('item 1 broke');
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(2);
  });

  it('handles an empty list and refuses a nonsensical limit', async () => {
    expect(await mapLimit([], 2, async () => 1)).toEqual([]);
    await expect(mapLimit([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });
});
