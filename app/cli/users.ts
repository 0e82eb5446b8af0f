import { Option, type Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit users add|token|cases|list`: API users. */
export function register(program: Command, { action, config }: CliDeps): void {
  const users = program.command('users').description('API users: roles analyst, prosecutor, auditor, admin; case memberships; API tokens');
  users
    .command('add')
    .description('create a user (the first admin is made this way)')
    .argument('<name>', 'user name')
    .addOption(new Option('--role <role>', 'role').choices(['analyst', 'prosecutor', 'auditor', 'admin']).makeOptionMandatory())
    .option('--case <caseId...>', 'cases the user is a member of')
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { role: string; case?: string[]; json?: boolean }) => {
        const { usersCommand } = await import('../commands/users.js');
        return usersCommand(config(), 'add', { name, role: opts.role, cases: opts.case, json: Boolean(opts.json) });
      }),
    );
  users
    .command('token')
    .description('issue an API token for a user (printed once on stdout)')
    .argument('<name>', 'user name')
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { json?: boolean }) => {
        const { usersCommand } = await import('../commands/users.js');
        return usersCommand(config(), 'token', { name, json: Boolean(opts.json) });
      }),
    );
  users
    .command('cases')
    .description("change a user's case memberships")
    .argument('<name>', 'user name')
    .option('--case <caseId...>', 'add these cases')
    .option('--remove <caseId...>', 'remove these cases')
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { case?: string[]; remove?: string[]; json?: boolean }) => {
        const { usersCommand } = await import('../commands/users.js');
        return usersCommand(config(), 'cases', { name, cases: opts.case, remove: opts.remove, json: Boolean(opts.json) });
      }),
    );
  users
    .command('list')
    .description('list users')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { usersCommand } = await import('../commands/users.js');
        return usersCommand(config(), 'list', { json: Boolean(opts.json) });
      }),
    );
}
