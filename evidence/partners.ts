/**
 * Partner agencies: each a named set of pins (Ed25519 signing keys, TSA roots) exchanged out of
 * band, kept in one JSON file (config `trust.partnersFile`) rewritten atomically like the trust
 * store. A package imported from a partner is verified against that partner's pins alone, so a key
 * pinned for another agency can never pass as this partner's.
 */
import { isoUtc, systemClock, type Clock } from '../lib/clock.js';
import { PermanentError } from '../lib/errors.js';
import { readJsonFile, writeJsonFile } from '../lib/json-file.js';
import { Partner, PartnersFile } from '../schemas/trust.js';
import { caAnchorsFromFile, parseCaCertificates, signingKeyFingerprint, type TrustAnchors } from './trust.js';

export class PartnerStore {
  constructor(
    readonly file: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async list(): Promise<Partner[]> {
    return (await readJsonFile(this.file, PartnersFile, 'partners file'))?.partners ?? [];
  }

  private async write(partners: Partner[]): Promise<void> {
    await writeJsonFile(this.file, PartnersFile.parse({ schemaVersion: 'exhibit.partners/1', partners }));
  }

  /**
   * Add a partner, or add pins to one already known (a key rotation, a second TSA). The signing key
   * is `sha256:<hex>` or an Ed25519 public key PEM file; the TSA CA a PEM or DER file.
   */
  async add(name: string, opts: { signingKeys: string[]; tsaCaFiles?: string[] }): Promise<Partner> {
    if (opts.signingKeys.length === 0) throw new PermanentError('INVALID_INPUT', `partner ${name}: give --signing-key (the fingerprint confirmed with the partner out of band)`);
    const fps = await Promise.all(opts.signingKeys.map((k) => signingKeyFingerprint(k)));
    const cas = (await Promise.all((opts.tsaCaFiles ?? []).map((f) => caAnchorsFromFile(f, 'partner', name)))).flat();
    const all = await this.list();
    const have = all.find((p) => p.name === name);
    const next = Partner.parse({
      name,
      signingKeys: [...new Set([...(have?.signingKeys ?? []), ...fps])],
      tsaCas: [...(have?.tsaCas ?? []), ...cas.filter((c) => !have?.tsaCas.some((h) => h.fingerprint === c.fingerprint)).map((c) => ({ fingerprint: c.fingerprint, subject: c.subject, pem: c.pem }))],
      addedAt: have?.addedAt ?? isoUtc(this.clock.now()),
    });
    await this.write([...all.filter((p) => p.name !== name), next].sort((a, b) => (a.name < b.name ? -1 : 1)));
    return next;
  }

  /** Remove a partner; false when there was none of that name. */
  async remove(name: string): Promise<boolean> {
    const all = await this.list();
    const keep = all.filter((p) => p.name !== name);
    if (keep.length === all.length) return false;
    await this.write(keep);
    return true;
  }

  /** The partner of that name. @throws PermanentError NOT_FOUND naming the partners known. */
  async get(name: string): Promise<Partner> {
    const all = await this.list();
    const p = all.find((x) => x.name === name);
    if (!p) throw new PermanentError('NOT_FOUND', `no partner named ${JSON.stringify(name)} in ${this.file}${all.length ? ` (known: ${all.map((x) => x.name).join(', ')})` : ' (none pinned: exhibit partners add)'}`);
    return p;
  }
}

/** A partner's pins as the only anchors of a verification. */
export function partnerAnchors(p: Partner): TrustAnchors {
  return {
    signingKeys: p.signingKeys.map((fingerprint) => ({ fingerprint, source: 'partner' as const, name: p.name })),
    // The stored PEM is what is trusted; its fingerprint must still be the one listed.
    tsaCas: p.tsaCas.flatMap((c) => {
      const cert = parseCaCertificates(c.pem)[0];
      return cert?.fingerprint === c.fingerprint ? [{ ...cert, source: 'partner' as const, name: p.name }] : [];
    }),
  };
}
