import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { recordedBody } from '../../../collectors/platform/capture-platform-page.js';
import { exchange } from '../../support/recorded.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-recorded-body-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A recording whose exchanges appear and complete on the schedule the test sets. */
function recording(timeline: Array<{ afterMs: number; list: RecordedExchange[] }>) {
  const start = Date.now();
  const file = path.join(dir, `${start}-${Math.random()}.json`);
  writeFileSync(file, '{"reason":"private","error":403}');
  return {
    signal: new AbortController().signal,
    exchanges: () => timeline.filter((t) => Date.now() - start >= t.afterMs).at(-1)?.list ?? [],
    decodedBodyPath: async () => file,
  };
}

const URL_ = 'https://www.reddit.com/r/closed_circle/comments/1bf0f6p/members_only/.json';

describe('recordedBody: the body of a response the client already holds, from the recording', () => {
  it('waits for an exchange the recording does not list yet (the proxy settles it a moment after the client has every byte)', async () => {
    const done = exchange({ url: URL_, status: 403 });
    const live = recording([{ afterMs: 150, list: [done] }]);
    const body = await recordedBody(live, URL_, 10_000);
    expect(body?.toString('utf8')).toBe('{"reason":"private","error":403}');
  });

  it('waits for a listed exchange to complete', async () => {
    const inFlight = exchange({ url: URL_, completedAt: null });
    const done = { ...inFlight, completedAt: '2026-01-01T00:00:02.000Z' };
    const live = recording([
      { afterMs: 0, list: [inFlight] },
      { afterMs: 150, list: [done] },
    ]);
    expect((await recordedBody(live, URL_, 10_000))?.toString('utf8')).toContain('private');
  });

  it('gives up (null) when nothing appears within its bound, and never returns a response cut short', async () => {
    expect(await recordedBody(recording([]), URL_, 200)).toBeNull();
    const cut = exchange({ url: URL_, truncated: true });
    expect(await recordedBody(recording([{ afterMs: 0, list: [cut] }]), URL_, 200)).toBeNull();
  });
});
