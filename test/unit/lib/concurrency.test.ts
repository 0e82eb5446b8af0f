import { describe, expect, it } from 'vitest';
import { mapLimit, Semaphore } from '../../../lib/concurrency.js';

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

describe('Semaphore', () => {
  it('grants at most its size at once, in arrival order, and a release counts once', async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    const b = await sem.acquire();
    const order: string[] = [];
    const c = sem.acquire().then((r) => (order.push('c'), r));
    const d = sem.acquire().then((r) => (order.push('d'), r));
    expect(sem.waiting).toBe(2);
    a();
    a(); // a second call gives nothing back twice
    const rc = await c;
    expect(order).toEqual(['c']);
    expect(sem.waiting).toBe(1);
    b();
    const rd = await d;
    expect(order).toEqual(['c', 'd']);
    rc();
    rd();
    // Both slots free again: two immediate grants, the third waits.
    await sem.acquire();
    await sem.acquire();
    void sem.acquire();
    expect(sem.waiting).toBe(1);
  });

  it('a waiter that gives up leaves the queue with the signal\'s reason, and takes no slot', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const ac = new AbortController();
    const waiting = sem.acquire(ac.signal);
    ac.abort(new Error('capture cancelled'));
    await expect(waiting).rejects.toThrow('capture cancelled');
    expect(sem.waiting).toBe(0);
    held();
    const again = await sem.acquire();
    expect(typeof again).toBe('function');
    const aborted = new AbortController();
    aborted.abort(new Error('already'));
    await expect(sem.acquire(aborted.signal)).rejects.toThrow('already');
  });
});
