import { describe, expect, it } from 'vitest';
import { waitForNetworkQuiet, type NetworkActivity } from '../../../collectors/browser/settle.js';

/** Network activity that is busy until `busyUntil` (epoch ms), then idle. */
function activity(busyUntil: number): NetworkActivity {
  return { inflight: () => (Date.now() < busyUntil ? 1 : 0), lastActivityAt: () => Math.min(Date.now(), busyUntil) };
}

describe('waitForNetworkQuiet', () => {
  it('waits for in-flight requests to end and then for the quiet period', async () => {
    const start = Date.now();
    const ok = await waitForNetworkQuiet(activity(start + 150), 100, start + 2000);
    const took = Date.now() - start;
    expect(ok).toBe(true);
    expect(took).toBeGreaterThanOrEqual(240);
    expect(took).toBeLessThan(1000);
  });
  it('gives up at the deadline when the network never goes quiet', async () => {
    const start = Date.now();
    const ok = await waitForNetworkQuiet(activity(Number.MAX_SAFE_INTEGER), 50, start + 200);
    expect(ok).toBe(false);
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
    expect(Date.now() - start).toBeLessThan(800);
  });
  it('returns at once when already quiet', async () => {
    const start = Date.now();
    expect(await waitForNetworkQuiet({ inflight: () => 0, lastActivityAt: () => 0 }, 500, start + 5000)).toBe(true);
    expect(Date.now() - start).toBeLessThan(50);
  });
  it('stops when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled')), 50);
    await expect(waitForNetworkQuiet(activity(Number.MAX_SAFE_INTEGER), 50, Date.now() + 5000, { signal: ac.signal })).rejects.toThrow('cancelled');
  });
});
