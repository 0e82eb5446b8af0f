/**
 * Memory of a process tree, the way the kernel accounts it: PSS (proportional set size) from
 * `/proc/<pid>/smaps_rollup`, summed over a root process and all its descendants. PSS splits
 * shared pages (Chromium's renderers share most of their code) between the processes sharing
 * them, so the sum is what the tree really costs; RSS would count shared pages once per process.
 */
import { readdir, readFile } from 'node:fs/promises';

export interface SmapsRollup {
  /** Proportional set size, kB. */
  pssKb: number;
  /** Resident set size, kB. */
  rssKb: number;
}

/**
 * Parse the text of `/proc/<pid>/smaps_rollup`. Lines look like `Pss:   12345 kB`.
 * Throws when there is no `Pss:` line (not a smaps_rollup, or a kernel without it).
 */
export function parseSmapsRollup(text: string): SmapsRollup {
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const pss = field('Pss');
  if (pss === null) throw new Error('no "Pss:" line in smaps_rollup text');
  return { pssKb: pss, rssKb: field('Rss') ?? 0 };
}

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
}

/**
 * Parse `/proc/<pid>/stat`: `pid (comm) state ppid ...`. The command name may itself hold spaces
 * and parentheses, so it runs to the last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  return { pid, comm: text.slice(open + 1, close), ppid };
}

/**
 * The root and every descendant of it in a process list (breadth-first, root first). Processes
 * whose command name is in `excludeComm` are left out together with their own descendants.
 */
export function processTree(rootPid: number, procs: readonly ProcStat[], excludeComm: ReadonlySet<string> = new Set()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const p of procs) {
    if (p.pid === rootPid) root = p;
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  if (!root) return [];
  const out: ProcStat[] = [];
  const queue: ProcStat[] = [root];
  const seen = new Set<number>();
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    if (p !== root && excludeComm.has(p.comm)) continue;
    out.push(p);
    for (const c of children.get(p.pid) ?? []) queue.push(c);
  }
  return out;
}

/** Every process currently visible in /proc (those that vanish while reading are skipped). */
export async function listProcesses(): Promise<ProcStat[]> {
  const names = await readdir('/proc');
  const out: ProcStat[] = [];
  await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        try {
          out.push(parseProcStat(await readFile(`/proc/${n}/stat`, 'utf8')));
        } catch {
          // exited meanwhile
        }
      }),
  );
  return out;
}

/** Sum of PSS and RSS over the tree rooted at `rootPid`, now. */
export async function treeMemory(rootPid: number, excludeComm: ReadonlySet<string> = new Set()): Promise<SmapsRollup & { processes: number }> {
  const tree = processTree(rootPid, await listProcesses(), excludeComm);
  let pssKb = 0;
  let rssKb = 0;
  let processes = 0;
  await Promise.all(
    tree.map(async (p) => {
      try {
        const m = parseSmapsRollup(await readFile(`/proc/${p.pid}/smaps_rollup`, 'utf8'));
        pssKb += m.pssKb;
        rssKb += m.rssKb;
        processes += 1;
      } catch {
        // exited meanwhile, or a zombie without mappings
      }
    }),
  );
  return { pssKb, rssKb, processes };
}

export interface MemoryPeak {
  peakPssKb: number;
  peakRssKb: number;
  /** Processes in the tree at the PSS peak. */
  processesAtPeak: number;
  samples: number;
}

/**
 * Samples a process tree's memory every `intervalMs` (default 200 ms) between `start()` and
 * `stop()`, keeping the peaks. Sampling never throws; a failed sample is skipped.
 */
export class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private peak: MemoryPeak = { peakPssKb: 0, peakRssKb: 0, processesAtPeak: 0, samples: 0 };

  constructor(
    private readonly rootPid: number,
    private readonly opts: { intervalMs?: number; excludeComm?: ReadonlySet<string> } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.peak = { peakPssKb: 0, peakRssKb: 0, processesAtPeak: 0, samples: 0 };
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.opts.intervalMs ?? 200);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const m = await treeMemory(this.rootPid, this.opts.excludeComm);
      if (m.processes === 0) return;
      this.peak.samples += 1;
      if (m.pssKb > this.peak.peakPssKb) {
        this.peak.peakPssKb = m.pssKb;
        this.peak.processesAtPeak = m.processes;
      }
      this.peak.peakRssKb = Math.max(this.peak.peakRssKb, m.rssKb);
    } catch {
      // skip this sample
    } finally {
      this.busy = false;
    }
  }

  /** Stop sampling (after one last sample) and return the peaks. */
  async stop(): Promise<MemoryPeak> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    await this.sample();
    return { ...this.peak };
  }
}
