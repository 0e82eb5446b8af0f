import { PartnerStore } from '../../evidence/partners.js';
import type { Config } from '../../schemas/config.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

/**
 * Partner agencies (config `trust.partnersFile`): each a named set of pins a package shared by it
 * must verify against. Pin only fingerprints confirmed with the partner out of band.
 */
export async function partnersCommand(
  config: Config,
  opts: { action: 'add' | 'list' | 'remove'; name?: string; signingKeys?: string[]; tsaCas?: string[]; json: boolean },
): Promise<ExitCode> {
  const store = new PartnerStore(config.trust.partnersFile);
  if (opts.action === 'add') {
    const p = await store.add(opts.name ?? '', { signingKeys: opts.signingKeys ?? [], tsaCaFiles: opts.tsaCas ?? [] });
    if (opts.json) out(JSON.stringify({ ...p, tsaCas: p.tsaCas.map(({ pem: _pem, ...c }) => c) }, null, 2));
    else out(`partner ${p.name}: ${p.signingKeys.length} signing key(s) ${p.signingKeys.join(', ')}; ${p.tsaCas.length} TSA root(s)${p.tsaCas.length ? ` ${p.tsaCas.map((c) => `${c.fingerprint} (${c.subject})`).join(', ')}` : ''}`);
    return EXIT.OK;
  }
  if (opts.action === 'remove') {
    if (!(await store.remove(opts.name ?? ''))) {
      err(`exhibit: no partner named ${opts.name} in ${store.file}`);
      return EXIT.NOT_FOUND;
    }
    out(`removed partner ${opts.name}`);
    return EXIT.OK;
  }
  const all = await store.list();
  if (opts.json) out(JSON.stringify(all.map((p) => ({ ...p, tsaCas: p.tsaCas.map(({ pem: _pem, ...c }) => c) })), null, 2));
  else {
    if (all.length === 0) err(`no partners in ${store.file}`);
    for (const p of all) {
      out(`${p.name}  (added ${p.addedAt})`);
      for (const k of p.signingKeys) out(`  signing-key  ${k}`);
      for (const c of p.tsaCas) out(`  tsa-ca       ${c.fingerprint}  ${c.subject}`);
    }
  }
  return EXIT.OK;
}
