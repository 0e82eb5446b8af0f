/**
 * The case graph at scale (issue 16): building the graph of 10,000 and 100,000 synthetic sealed
 * posts (test/support/synthetic-posts.ts `syntheticCase`: channels forwarding, mentioning and
 * reusing media) through the same path as the API (`LiveCaseGraphs` over the posts already read and
 * digest-checked, so store I/O is not measured), then the incremental update of one new capture.
 * Baseline, same run: loading the same edges (type, source, target, weight, as the graph produced
 * them) into a plain directed multigraph (Maps of out- and in-adjacency), in its own process.
 * Targets: 100,000-post build ≤ 2× the direct load; incremental update < 50 ms.
 *
 * Each side runs in a fresh child; peak memory is the child's peak RSS (getrusage), which includes
 * its input (the generated post.json documents, or the edge list).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildIO } from '../lib/child-io.js';
import type { ChildOptions, ChildRun } from '../lib/child.js';
import { median } from '../lib/stats.js';
import { formatBytes, formatDuration, formatNumber, type BenchRow } from '../report.js';

/** What the graph rows need of the bench run (no services: the rows are CPU-only). */
export interface GraphBenchEnv {
  quick: boolean;
  workDir: string;
  child<R>(task: string, params: unknown, opts?: ChildOptions): Promise<ChildRun<R>>;
  say(row: string, message: string): void;
}

const INCREMENTS = 9;

interface GraphParams {
  posts: number;
  edgesFile: string;
}

interface GraphResult {
  posts: number;
  nodes: number;
  edges: number;
  generateMs: number;
  buildMs: number;
  snapshotMs: number;
  incrementMs: number[];
  rssBeforeKb: number;
}

/** Child task: generate the posts, build the graph as the API does, then add captures one at a time. */
export async function exhibitGraph(p: GraphParams, io: ChildIO): Promise<GraphResult> {
  const { asSealedPost, syntheticCase } = await import('../../test/support/synthetic-posts.js');
  const { LiveCaseGraphs } = await import('../../analysis/live-graph.js');
  const t0 = performance.now();
  const caseId = 'bench-graph';
  const id = (i: number) => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;
  const all = syntheticCase({ accounts: Math.max(20, Math.floor(p.posts / 50)), posts: p.posts + INCREMENTS, seed: 16 }).map((c, i) => asSealedPost(caseId, id(i), c));
  const generateMs = performance.now() - t0;
  const present = new Map(all.slice(0, p.posts).map((c) => [c.captureId, c]));
  let sorted: string[] | null = null;
  const live = new LiveCaseGraphs({
    captureIds: async () => (sorted ??= [...present.keys()].sort()),
    readPost: async (_c, captureId) => present.get(captureId)!,
    eventsAfter: async () => [],
  });
  const rssBeforeKb = Math.round(process.memoryUsage().rss / 1024);
  io.mark('start');
  const b0 = performance.now();
  const { graph } = await live.read(caseId);
  const buildMs = performance.now() - b0;
  const incrementMs: number[] = [];
  for (const cap of all.slice(p.posts)) {
    present.set(cap.captureId, cap);
    sorted = null;
    const i0 = performance.now();
    await live.read(caseId);
    incrementMs.push(performance.now() - i0);
  }
  const s0 = performance.now();
  graph.snapshot();
  const snapshotMs = performance.now() - s0;
  io.mark('end');
  // The same edges for the baseline, with their weights (distinct observations).
  const lines = [...graph.edges.values()].map((e) => `${e.type}\t${e.source}\t${e.target}\t${e.observations.size}`);
  await writeFile(p.edgesFile, `${lines.join('\n')}\n`);
  return { posts: p.posts, nodes: graph.nodes.size, edges: graph.edges.size, generateMs, buildMs, snapshotMs, incrementMs, rssBeforeKb };
}

interface DirectResult {
  edges: number;
  nodes: number;
  loadMs: number;
  rssBeforeKb: number;
}

/** Child task (baseline): read the edge list, then load it into Maps of out- and in-adjacency. */
export async function directGraph(p: { edgesFile: string }, io: ChildIO): Promise<DirectResult> {
  const rows = (await readFile(p.edgesFile, 'utf8')).split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string, string, string]);
  const rssBeforeKb = Math.round(process.memoryUsage().rss / 1024);
  io.mark('start');
  const t0 = performance.now();
  const out = new Map<string, Map<string, Array<{ type: string; weight: number }>>>();
  const into = new Map<string, Map<string, Array<{ type: string; weight: number }>>>();
  const add = (m: typeof out, a: string, b: string, v: { type: string; weight: number }) => {
    let row = m.get(a);
    if (!row) m.set(a, (row = new Map()));
    const list = row.get(b);
    if (list) list.push(v);
    else row.set(b, [v]);
  };
  for (const [type, source, target, weight] of rows) {
    const v = { type, weight: Number(weight) };
    add(out, source, target, v);
    add(into, target, source, v);
    if (!into.has(source)) into.set(source, new Map());
    if (!out.has(target)) out.set(target, new Map());
  }
  const loadMs = performance.now() - t0;
  io.mark('end');
  return { edges: rows.length, nodes: out.size, loadMs, rssBeforeKb };
}

/** The rows: build at each size (ratio to the direct load) and the incremental update at the largest. */
export async function runCaseGraphRows(env: GraphBenchEnv): Promise<BenchRow[]> {
  const sizes = env.quick ? [1_000] : [10_000, 100_000];
  const rows: BenchRow[] = [];
  let last: GraphResult | null = null;
  for (const posts of sizes) {
    const edgesFile = path.join(env.workDir, `graph-edges-${posts}.tsv`);
    env.say('graph-build', `${formatNumber(posts)} synthetic posts: building the case graph`);
    const g = await env.child<GraphResult>('exhibit-graph', { posts, edgesFile }, { timeoutMs: 15 * 60_000 });
    env.say('graph-build', `${formatNumber(posts)} posts: ${formatNumber(g.result.nodes)} nodes, ${formatNumber(g.result.edges)} edges in ${formatDuration(g.result.buildMs)}; direct load of the same edges`);
    const d = await env.child<DirectResult>('direct-graph', { edgesFile }, { timeoutMs: 5 * 60_000 });
    const ratio = g.result.buildMs / d.result.loadMs;
    rows.push({
      id: 'graph-build',
      what: `case graph build, ${formatNumber(posts)} posts (${formatNumber(g.result.edges)} edges)`,
      exhibit: `${formatDuration(g.result.buildMs)}, peak RSS ${formatBytes(g.maxRssKb * 1024)}`,
      baseline: `${formatDuration(d.result.loadMs)}, peak RSS ${formatBytes(d.maxRssKb * 1024)}`,
      ratio,
      target: '≤ 2× (100,000 posts)',
      pass: ratio <= 2,
      data: { graph: g.result, graphMaxRssKb: g.maxRssKb, direct: d.result, directMaxRssKb: d.maxRssKb },
    });
    last = g.result;
  }
  if (last) {
    const ms = median(last.incrementMs);
    const worst = Math.max(...last.incrementMs);
    rows.push({
      id: 'graph-incremental',
      what: `incremental update, one new capture into ${formatNumber(last.posts)} posts`,
      exhibit: `median ${formatDuration(ms)}, max ${formatDuration(worst)} (${last.incrementMs.length} captures)`,
      baseline: '—',
      ratio: null,
      target: '< 50 ms',
      pass: worst < 50,
      data: { incrementMs: last.incrementMs, snapshotMs: last.snapshotMs },
    });
  }
  return rows;
}
