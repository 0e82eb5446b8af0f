import path from 'node:path';
import { PermanentError } from '../../lib/errors.js';
import { SEARCH_NORMALISATION } from '../../lib/text-fold.js';
import type { Config } from '../../schemas/config.js';
import type { CustodyActor } from '../../schemas/custody.js';
import type { SearchResponse } from '../../schemas/search.js';
import { openStore } from '../../evidence/open-store.js';
import { storeKeys, type EvidenceStore } from '../../evidence/store.js';
import { checkQuery, SearchIndex } from '../../analysis/search-index.js';
import type { Services } from '../../workers/runtime.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { authorLine, firstLines, isolate } from '../post-view.js';
import { cliOperator, err, out, withServices } from './common.js';

export interface SearchCommandOptions {
  /** Only these cases (default: every case in the store). */
  caseIds?: string[];
  tag?: string;
  limit?: number;
  /** Throw the index away and build it again from the store first. */
  rebuild?: boolean;
  /** Who searches (recorded on the custody log of each case with hits); default the OS user. */
  operator?: string;
  json?: boolean;
}

/** Cases with at least one sealed capture in the store. */
export async function casesInStore(store: EvidenceStore): Promise<string[]> {
  const ids = new Set<string>();
  for (const k of await store.list(storeKeys.cases())) {
    const p = k.split('/');
    if (p[2] === 'captures' && p[4] === 'manifest.json') ids.add(p[1]!);
  }
  return [...ids].sort();
}

/** The search index of this state directory and store. */
export const openSearchIndex = (s: Services) => SearchIndex.open(path.join(s.config.stateDir, 'search'), s.store.location);

/** The operator of a command-line read, as a custody actor. */
function operatorActor(name: string | undefined): CustodyActor {
  const op = cliOperator(name ?? 'unknown');
  return { type: 'operator', id: name ?? op.osUser, role: 'analyst', osUser: op.osUser, host: op.host };
}

/** `exhibit search "<query>" [--case …] [--tag …]`, and `--rebuild`. */
export async function searchCommand(config: Config, query: string | undefined, opts: SearchCommandOptions): Promise<ExitCode> {
  if (query !== undefined) checkQuery(query);
  else if (!opts.rebuild) throw new PermanentError('INVALID_INPUT', 'give a query, or --rebuild');
  // An unknown case is refused from the store alone, before Redis and the queues are opened.
  const store = await openStore(config.store);
  let inStore: string[];
  try {
    inStore = await casesInStore(store);
    const missing = (opts.caseIds ?? []).filter((c) => !inStore.includes(c));
    if (missing.length) throw new PermanentError('NOT_FOUND', `no sealed captures of case ${[...new Set(missing)].join(', ')} in ${store.location}`);
  } finally {
    await store.close?.();
  }
  return withServices(config, async (s) => {
    const cases = opts.caseIds?.length ? [...new Set(opts.caseIds)] : inStore;
    const idx = await openSearchIndex(s);
    if (opts.rebuild) {
      const r = await idx.rebuild(s.store, opts.caseIds?.length ? cases : inStore);
      (query === undefined ? out : err)(`search index rebuilt from ${s.store.location}: ${r.captures} captures, ${r.documents} documents${r.skipped.length ? `, ${r.skipped.length} not indexed` : ''}`);
      for (const x of r.skipped) err(`  not indexed: ${x.caseId}/${x.captureId}: ${x.reason}`);
      if (query === undefined) return r.skipped.length ? EXIT.INTEGRITY : EXIT.OK;
    }
    const { skipped } = await idx.refresh(s.store, cases);
    const { hits, total } = idx.search(query!, { caseIds: cases, tag: opts.tag, limit: opts.limit });
    const actor = operatorActor(opts.operator);
    const byCase = new Map<string, string[]>();
    for (const h of hits) byCase.set(h.caseId, [...(byCase.get(h.caseId) ?? []), h.captureId]);
    // What a search shows is a read of the evidence: on each case's log before it is printed.
    for (const [caseId, captureIds] of byCase) await s.custody.append({ caseId, actor, action: 'viewed', subject: {}, details: { via: 'cli', view: 'search', query, ...(opts.tag ? { tag: opts.tag } : {}), captureIds } });
    const res: SearchResponse = { query: query!, normalisation: SEARCH_NORMALISATION, cases, total, hits, skipped };
    if (opts.json) out(JSON.stringify(res, null, 2));
    else {
      out(total === 0 ? `no capture matches "${query}" in ${cases.length} case(s)` : `${total} capture(s) match${total > hits.length ? ` (showing ${hits.length})` : ''}`);
      for (const h of hits) {
        out();
        out(`${h.captureId}  case ${h.caseId}  ${h.platform}  captured ${h.capturedAt}${h.published ? `  published ${h.published}` : ''}`);
        const who = authorLine(h.author);
        if (who) out(`    ${who}`);
        if (h.excerpt) for (const l of firstLines(h.excerpt, 3)) out(`    ${isolate(l, h.direction)}`);
        else if (h.title) out(`    ${isolate(h.title)}`);
        if (h.tags.length) out(`    tags: ${h.tags.map((x) => isolate(x)).join(', ')}`);
        out(`    matched in ${h.matchedIn.join(', ')}${h.documentsMatched > 1 ? ` (${h.documentsMatched} posts of the capture)` : ''}   ${h.url}`);
        out(`    exhibit show ${h.captureId} --case ${h.caseId}`);
      }
    }
    for (const x of skipped) err(`not indexed: ${x.caseId}/${x.captureId}: ${x.reason}`);
    return total ? EXIT.OK : EXIT.NOT_FOUND;
  });
}
