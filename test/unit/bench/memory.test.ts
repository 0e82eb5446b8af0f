import { describe, expect, it } from 'vitest';
import { parseProcStat, parseSmapsRollup, processTree, type ProcStat } from '../../../bench/lib/memory.js';
import { parseGnuTime } from '../../../bench/baselines/tools.js';
import { cpuModelFrom, memTotalFrom } from '../../../bench/lib/machine.js';

// A real /proc/<pid>/smaps_rollup of a Chromium renderer (Linux 6.x), trimmed of nothing.
const ROLLUP = `55d0c7a4b000-7ffd2b7fb000 ---p 00000000 00:00 0                          [rollup]
Rss:              148236 kB
Pss:               61734 kB
Pss_Dirty:         40320 kB
Pss_Anon:          39876 kB
Pss_File:          21414 kB
Pss_Shmem:           444 kB
Shared_Clean:      96512 kB
Shared_Dirty:       1024 kB
Private_Clean:      10420 kB
Private_Dirty:      40280 kB
Referenced:       148236 kB
Anonymous:         39876 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
`;

describe('parseSmapsRollup', () => {
  it('reads Pss and Rss, not Pss_Dirty/Pss_Anon/SwapPss', () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({ pssKb: 61734, rssKb: 148236 });
  });

  it('finds Pss wherever it is and without Rss', () => {
    expect(parseSmapsRollup('Pss_Anon: 5 kB\nPss:   7 kB\n')).toEqual({ pssKb: 7, rssKb: 0 });
  });

  it('refuses text without a Pss line (e.g. /proc/<pid>/status, or an empty file of a zombie)', () => {
    expect(() => parseSmapsRollup('')).toThrow(/Pss/);
    expect(() => parseSmapsRollup('Name:\tnode\nVmRSS:\t  50000 kB\n')).toThrow(/Pss/);
    expect(() => parseSmapsRollup('Pss_Dirty: 12 kB\nSwapPss: 3 kB\n')).toThrow(/Pss/);
  });
});

describe('parseProcStat', () => {
  it('reads pid, comm and ppid', () => {
    expect(parseProcStat('4242 (chromium) S 4200 4242 4200 0 -1 4194560 ...')).toEqual({ pid: 4242, comm: 'chromium', ppid: 4200 });
  });

  it('handles command names with spaces and parentheses', () => {
    expect(parseProcStat('77 (Web Content (x)) R 1 77 77 0 -1')).toEqual({ pid: 77, comm: 'Web Content (x)', ppid: 1 });
  });

  it('refuses garbage', () => {
    expect(() => parseProcStat('hello')).toThrow(/stat/);
    expect(() => parseProcStat('x (a) S y')).toThrow(/stat/);
  });
});

describe('processTree', () => {
  const procs: ProcStat[] = [
    { pid: 1, comm: 'init', ppid: 0 },
    { pid: 100, comm: 'node', ppid: 1 },
    { pid: 101, comm: 'chromium', ppid: 100 },
    { pid: 102, comm: 'chromium', ppid: 101 },
    { pid: 103, comm: 'chromium', ppid: 102 },
    { pid: 110, comm: 'redis-server', ppid: 100 },
    { pid: 111, comm: 'redis-child', ppid: 110 },
    { pid: 200, comm: 'node', ppid: 1 },
    { pid: 201, comm: 'chromium', ppid: 200 },
  ];

  it('collects the root and every descendant, nothing else', () => {
    expect(processTree(100, procs).map((p) => p.pid).sort()).toEqual([100, 101, 102, 103, 110, 111]);
    expect(processTree(200, procs).map((p) => p.pid)).toEqual([200, 201]);
  });

  it('leaves out excluded commands together with their descendants', () => {
    expect(processTree(100, procs, new Set(['redis-server'])).map((p) => p.pid).sort()).toEqual([100, 101, 102, 103]);
  });

  it('is empty when the root has gone, and survives a ppid cycle', () => {
    expect(processTree(999, procs)).toEqual([]);
    const cyclic: ProcStat[] = [
      { pid: 5, comm: 'a', ppid: 6 },
      { pid: 6, comm: 'b', ppid: 5 },
    ];
    expect(processTree(5, cyclic).map((p) => p.pid)).toEqual([5, 6]);
  });
});

describe('other parsers of machine output', () => {
  it('GNU time peak RSS line', () => {
    expect(parseGnuTime('some stderr\nEXHIBIT-BENCH-TIME 5120\n')).toBe(5120);
    expect(parseGnuTime('Command exited with non-zero status 1\n')).toBeNull();
  });

  it('CPU model and total memory', () => {
    expect(cpuModelFrom('processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n')).toBe('AMD EPYC 7B13');
    expect(cpuModelFrom('processor : 0\n')).toBeNull();
    expect(memTotalFrom('MemTotal:       24683992 kB\nMemFree:  1 kB\n')).toBe(24683992 * 1024);
    expect(memTotalFrom('MemFree: 1 kB\n')).toBeNull();
  });
});
