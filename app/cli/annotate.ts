import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit tag` and `exhibit note`: analysts' annotations, recorded as custody events (the evidence is not changed). */
export function register(program: Command, { action, config }: CliDeps): void {
  const annotate = (kind: 'tag' | 'note') =>
    program
      .command(kind)
      .argument('<captureId>', 'capture id')
      .option('--case <caseId>', 'case id (found automatically when omitted)')
      .option('--operator <id>', 'who annotates (default: your user name; recorded with the OS user and host)')
      .option('--json', 'print as JSON');
  annotate('tag')
    .description('tag a sealed capture, or --remove a tag: a custody event (who, when, what); the evidence is not changed')
    .argument('<tag>', 'the tag (1–64 characters, no commas)')
    .option('--remove', 'remove the tag instead')
    .action(
      action(async (captureId: string, tag: string, opts: { case?: string; operator?: string; remove?: boolean; json?: boolean }) => {
        const { tagCommand } = await import('../commands/annotate.js');
        return tagCommand(config(), captureId, tag, Boolean(opts.remove), { caseId: opts.case, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );
  annotate('note')
    .description('add a note to a sealed capture: a custody event (who, when, what); notes are never edited or removed')
    .argument('<text>', 'the note (up to 4000 characters)')
    .action(
      action(async (captureId: string, text: string, opts: { case?: string; operator?: string; json?: boolean }) => {
        const { noteCommand } = await import('../commands/annotate.js');
        return noteCommand(config(), captureId, text, { caseId: opts.case, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );
}
