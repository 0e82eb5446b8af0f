/**
 * The first measures analysts ask for, on the account layer of the case graph (accounts and
 * channels, with the observed account-to-account edges; asserted edges are reported apart).
 */
import type { GraphEdge, GraphMeasures, GraphNode } from '../schemas/graph.js';

export type { GraphMeasures };

/** Betweenness is O(V·E): computed only up to this many accounts. */
export const BETWEENNESS_MAX_NODES = 2000;

/** One sentence per measure, printed beside it. */
export const MEASURE_EXPLANATIONS = {
  degree: 'Degree counts the distinct accounts an account is connected to by observed edges; weighted degree adds up how many distinct posts support those edges.',
  mostForwarded: 'Most-forwarded sources are accounts whose posts others reposted, forwarded or boosted, counted in distinct reposting posts.',
  sharedMedia: 'Accounts sharing media posted byte-identical files (same SHA-256), counted in distinct pairs of posts.',
  components: 'Connected components are groups of accounts linked to each other by any chain of observed edges, ignoring direction.',
  betweenness: 'Betweenness is the share of shortest paths between other accounts that pass through an account: high values mark bridges between clusters.',
} as const;

const isAccount = (n: GraphNode) => n.kind === 'account' || n.kind === 'channel';

export function graphMeasures(g: { nodes: GraphNode[]; edges: GraphEdge[] }): GraphMeasures {
  const accounts = new Map(g.nodes.filter(isAccount).map((n) => [n.id, n]));
  const label = (id: string) => accounts.get(id)?.label ?? id;
  const social = g.edges.filter((e) => e.basis === 'observed' && accounts.has(e.source) && accounts.has(e.target) && e.source !== e.target);
  const neighbours = new Map<string, Set<string>>([...accounts.keys()].map((id) => [id, new Set<string>()]));
  const weighted = new Map<string, number>([...accounts.keys()].map((id) => [id, 0]));
  for (const e of social) {
    neighbours.get(e.source)!.add(e.target);
    neighbours.get(e.target)!.add(e.source);
    weighted.set(e.source, weighted.get(e.source)! + e.weight);
    weighted.set(e.target, weighted.get(e.target)! + e.weight);
  }
  const degree = [...accounts.keys()]
    .map((id) => ({ id, label: label(id), degree: neighbours.get(id)!.size, weightedDegree: weighted.get(id)! }))
    .sort((a, b) => b.weightedDegree - a.weightedDegree || b.degree - a.degree || (a.id < b.id ? -1 : 1));
  const forwarded = new Map<string, { reposts: number; reposters: Set<string> }>();
  for (const e of social.filter((x) => x.type === 'reposts')) {
    const f = forwarded.get(e.target) ?? { reposts: 0, reposters: new Set() };
    f.reposts += e.weight;
    f.reposters.add(e.source);
    forwarded.set(e.target, f);
  }
  const mostForwarded = [...forwarded]
    .map(([id, f]) => ({ id, label: label(id), reposts: f.reposts, reposters: f.reposters.size }))
    .sort((a, b) => b.reposts - a.reposts || (a.id < b.id ? -1 : 1));
  const sharedMedia = social
    .filter((e) => e.type === 'same-media')
    .map((e) => ({ a: label(e.source), b: label(e.target), posts: e.weight }))
    .sort((a, b) => b.posts - a.posts);
  const seen = new Set<string>();
  const components: GraphMeasures['components'] = [];
  for (const start of [...accounts.keys()].sort()) {
    if (seen.has(start)) continue;
    const members: string[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const id = stack.pop()!;
      members.push(id);
      for (const n of neighbours.get(id)!) if (!seen.has(n)) (seen.add(n), stack.push(n));
    }
    components.push({ size: members.length, members: members.sort().map(label) });
  }
  components.sort((a, b) => b.size - a.size);
  const betweenness = accounts.size <= BETWEENNESS_MAX_NODES ? brandes([...accounts.keys()], neighbours).map(([id, score]) => ({ id, label: label(id), score })) : null;
  return { accounts: accounts.size, degree, mostForwarded, sharedMedia, components, betweenness };
}

/** Brandes' algorithm, unweighted and undirected, normalised to [0, 1]. */
function brandes(ids: string[], adj: Map<string, Set<string>>): Array<[string, number]> {
  const cb = new Map(ids.map((id) => [id, 0]));
  for (const s of ids) {
    const stack: string[] = [];
    const pred = new Map<string, string[]>(ids.map((id) => [id, []]));
    const sigma = new Map(ids.map((id) => [id, 0]));
    const dist = new Map(ids.map((id) => [id, -1]));
    sigma.set(s, 1);
    dist.set(s, 0);
    const queue = [s];
    for (let qi = 0; qi < queue.length; qi++) {
      const v = queue[qi]!;
      stack.push(v);
      for (const w of adj.get(v)!) {
        if (dist.get(w)! < 0) (queue.push(w), dist.set(w, dist.get(v)! + 1));
        if (dist.get(w) === dist.get(v)! + 1) (sigma.set(w, sigma.get(w)! + sigma.get(v)!), pred.get(w)!.push(v));
      }
    }
    const delta = new Map(ids.map((id) => [id, 0]));
    while (stack.length) {
      const w = stack.pop()!;
      for (const v of pred.get(w)!) delta.set(v, delta.get(v)! + (sigma.get(v)! / sigma.get(w)!) * (1 + delta.get(w)!));
      if (w !== s) cb.set(w, cb.get(w)! + delta.get(w)!);
    }
  }
  const n = ids.length;
  // Undirected: every path was counted from both ends; normalise by the (n-1)(n-2)/2 pairs.
  const norm = n > 2 ? 1 / ((n - 1) * (n - 2)) : 0;
  return [...cb].map(([id, v]): [string, number] => [id, v * norm]).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
