import { TrustStore } from '../../evidence/trust.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

/**
 * The local trust store (config `trust.file`): signing keys and TSA roots this deployment pins when
 * verifying packages. Pin only what you confirmed with its owner out of band.
 */
export async function trustCommand(
  config: Config,
  opts: { action: 'add' | 'list' | 'remove'; signingKey?: string; tsaCa?: string; name?: string; fingerprint?: string; json: boolean },
): Promise<ExitCode> {
  const store = new TrustStore(config.trust.file);
  if (opts.action === 'add') {
    if (!opts.signingKey && !opts.tsaCa) throw new PermanentError('INVALID_INPUT', 'exhibit trust add: give --signing-key and/or --tsa-ca');
    const added = [
      ...(opts.signingKey ? [await store.addSigningKey(opts.signingKey, opts.name ?? null)] : []),
      ...(opts.tsaCa ? await store.addTsaCa(opts.tsaCa, opts.name ?? null) : []),
    ];
    if (opts.json) out(JSON.stringify(added, null, 2));
    else for (const e of added) out(`pinned ${e.kind} ${e.fingerprint}${e.kind === 'tsa-ca' ? ` (${e.subject})` : ''}${e.name ? ` [${e.name}]` : ''}`);
    return EXIT.OK;
  }
  if (opts.action === 'remove') {
    const n = await store.remove(opts.fingerprint ?? '');
    if (n === 0) {
      err(`exhibit: ${opts.fingerprint} is not in the trust store ${store.file}`);
      return EXIT.NOT_FOUND;
    }
    out(`unpinned ${opts.fingerprint}`);
    return EXIT.OK;
  }
  const entries = await store.entries();
  if (opts.json) out(JSON.stringify(entries.map((e) => (e.kind === 'tsa-ca' ? { ...e, pem: undefined } : e)), null, 2));
  else {
    if (entries.length === 0) err(`the trust store ${store.file} is empty`);
    for (const e of entries) out(`${e.kind.padEnd(12)} ${e.fingerprint}${e.kind === 'tsa-ca' ? `  ${e.subject}` : ''}${e.name ? `  [${e.name}]` : ''}  (added ${e.addedAt})`);
  }
  return EXIT.OK;
}
