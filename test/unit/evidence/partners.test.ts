import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartnerStore, partnerAnchors } from '../../../evidence/partners.js';
import { parseCaCertificates } from '../../../evidence/trust.js';

const CA = new URL('../../fixtures/tsa/other-ca.pem', import.meta.url).pathname;
const K1 = `sha256:${'a'.repeat(64)}`;
const K2 = `sha256:${'b'.repeat(64)}`;

describe('partner pin sets', () => {
  let dir: string;
  let store: PartnerStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-partners-'));
    store = new PartnerStore(path.join(dir, 'partners.json'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('adds, merges pins into a known partner, lists and removes', async () => {
    await store.add('agency-b', { signingKeys: [K1], tsaCaFiles: [CA] });
    await store.add('agency-b', { signingKeys: [K2.toUpperCase().replace('SHA256', 'sha256'), K1], tsaCaFiles: [CA] });
    await store.add('agency-c', { signingKeys: [K2] });
    const all = await store.list();
    expect(all.map((p) => p.name)).toEqual(['agency-b', 'agency-c']);
    expect(all[0]!.signingKeys).toEqual([K1, K2]);
    expect(all[0]!.tsaCas.map((c) => c.fingerprint)).toEqual([parseCaCertificates(await readFile(CA))[0]!.fingerprint]);
    const anchors = partnerAnchors(all[0]!);
    expect(anchors.signingKeys.map((k) => [k.fingerprint, k.source, k.name])).toEqual([[K1, 'partner', 'agency-b'], [K2, 'partner', 'agency-b']]);
    expect(anchors.tsaCas).toHaveLength(1);
    expect(await store.remove('agency-c')).toBe(true);
    expect(await store.remove('agency-c')).toBe(false);
    await expect(store.get('agency-c')).rejects.toThrow(/no partner named "agency-c".*known: agency-b/);
  });

  it('refuses a partner without a key, a bad name and a malformed key', async () => {
    await expect(store.add('agency-b', { signingKeys: [] })).rejects.toThrow(/--signing-key/);
    await expect(store.add('../x', { signingKeys: [K1] })).rejects.toThrow(/partner name/);
    await expect(store.add('agency-b', { signingKeys: ['sha256:zz'] })).rejects.toThrow(/neither sha256/);
  });

  it('a stored TSA root whose PEM no longer matches its fingerprint is not trusted', async () => {
    await store.add('agency-b', { signingKeys: [K1], tsaCaFiles: [CA] });
    const file = JSON.parse(await readFile(store.file, 'utf8'));
    file.partners[0].tsaCas[0].fingerprint = `sha256:${'c'.repeat(64)}`;
    await writeFile(store.file, JSON.stringify(file));
    expect(partnerAnchors(await store.get('agency-b')).tsaCas).toEqual([]);
  });
});
