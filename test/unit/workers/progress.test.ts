import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../../../schemas/jobs.js';
import { throttledProgress } from '../../../workers/progress.js';

describe('throttledProgress', () => {
  it('drops small steps within the interval, keeps stage changes, big steps, late reports and 100 %', () => {
    let t = 0;
    const sent: JobProgress[] = [];
    const report = throttledProgress((p) => sent.push(p), { minStep: 5, minIntervalMs: 250, now: () => t });
    report({ stage: 'hashing', percent: 0 }); // first: sent
    report({ stage: 'hashing', percent: 1 }); // small step: dropped
    report({ stage: 'hashing', percent: 4.9 }); // still small: dropped
    report({ stage: 'hashing', percent: 5 }); // big enough: sent
    report({ stage: 'storing', percent: 5.5 }); // new stage: sent
    t = 100;
    report({ stage: 'storing', percent: 6 }); // dropped
    t = 400;
    report({ stage: 'storing', percent: 7 }); // interval passed: sent
    report({ stage: 'storing', percent: 100 }); // 100 %: always sent
    expect(sent.map((p) => `${p.stage}:${p.percent}`)).toEqual(['hashing:0', 'hashing:5', 'storing:5.5', 'storing:7', 'storing:100']);
  });
});
