import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit search`: full-text search of sealed captures (an evidence read on each case with hits). */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('search')
    .description('full-text search of sealed captures: post text, authors, hashtags, mentions, URLs, page titles, tags and notes; Arabic, Persian and Urdu as typed (letter variants and diacritics folded for matching only)')
    .argument('[query]', 'words to find (at most 200 characters, 16 words); the last word may be the start of a word')
    .option('--case <caseId...>', 'only these cases (default: every case in the store)')
    .option('--tag <tag>', 'only captures with this tag')
    .option('--limit <n>', 'most captures shown (1–200, default 50)', (v) => Number.parseInt(v, 10))
    .option('--rebuild', 'throw the search index away and build it again from the store first (alone: only rebuild)')
    .option('--operator <id>', 'who searches (recorded as a read on the custody log of each case with hits; default your user name)')
    .option('--json', 'print as JSON')
    .action(
      action(async (query: string | undefined, opts: { case?: string[]; tag?: string; limit?: number; rebuild?: boolean; operator?: string; json?: boolean }) => {
        const { searchCommand } = await import('../commands/search.js');
        return searchCommand(config(), query, { caseIds: opts.case, tag: opts.tag, limit: opts.limit, rebuild: Boolean(opts.rebuild), operator: opts.operator, json: Boolean(opts.json) });
      }),
    );
}
