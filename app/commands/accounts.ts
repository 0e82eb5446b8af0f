import { readFile } from 'node:fs/promises';
import { AccountVault } from '../../collectors/accounts.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { out } from './common.js';

/** `exhibit accounts import|list|remove`: collection accounts (encrypted browser states). Needs no Redis. */
export async function accountsCommand(
  config: Config,
  what: 'import' | 'list' | 'remove',
  opts: { platform?: string; label?: string; storageState?: string; handle?: string; json?: boolean },
): Promise<ExitCode> {
  const vault = AccountVault.fromConfig(config);
  if (what === 'import') {
    let state: unknown;
    try {
      state = JSON.parse(await readFile(String(opts.storageState), 'utf8'));
    } catch (cause) {
      throw new PermanentError('INVALID_INPUT', `cannot read the storage state ${opts.storageState}: ${(cause as Error).message}`, { cause });
    }
    const info = await vault.import(String(opts.platform), String(opts.label), state, opts.handle ?? null);
    out(opts.json ? JSON.stringify(info) : `imported ${info.platform}/${info.label}${info.handle ? ` (@${info.handle})` : ''} at ${info.importedAt}`);
    return EXIT.OK;
  }
  if (what === 'remove') {
    const existed = await vault.remove(String(opts.platform), String(opts.label));
    if (!existed) throw new PermanentError('NOT_FOUND', `no collection account ${opts.platform}/${opts.label}`);
    out(`removed ${opts.platform}/${opts.label}`);
    return EXIT.OK;
  }
  const list = await vault.list();
  if (opts.json) out(JSON.stringify(list, null, 2));
  else if (list.length === 0) out('no collection accounts');
  else for (const a of list) out(`${a.platform.padEnd(10)} ${a.label.padEnd(20)} ${(a.handle ? `@${a.handle}` : '-').padEnd(24)} imported ${a.importedAt}`);
  return EXIT.OK;
}
