import { describe, expect, it } from 'vitest';
import { manifestKeyParts, sealedCaptureIds, sealedCapturesByCase, storeKeys } from '../../../evidence/store.js';

/** A store listing: `list(prefix)` answers the sorted keys under the prefix, as both stores do. */
function listing(keys: string[]) {
  return { list: async (prefix: string) => keys.filter((k) => k.startsWith(prefix)).sort() };
}

const A1 = '0190a4a0-0000-7000-8000-000000000001';
const A2 = '0190a4a0-0000-7000-8000-000000000002';
const B1 = '0190a4a0-0000-7000-8000-000000000003';

const KEYS = [
  storeKeys.manifest('C-2', A2),
  `cases/C-2/captures/${A2}/manifest.signature.json`,
  `cases/C-2/captures/${A2}/timestamps/1.json`,
  storeKeys.manifest('C-2', A1),
  // An unsealed capture: its directory holds no manifest.
  `cases/C-2/captures/${B1}/timestamps/1.tsr`,
  // Not manifests of a capture: deeper, or a look-alike name.
  `cases/C-2/captures/${B1}/x/manifest.json`,
  `cases/C-2/captures/${B1}/manifest.json.bak`,
  storeKeys.manifest('C-20', B1),
  'cases/C-2/custody/000000000001.json',
  `sha256/${'a'.repeat(64)}`,
];

describe('the sealed captures of a case: one reading of manifest keys for package, API and CLI', () => {
  it('reads the case and capture of a manifest key and nothing else', () => {
    expect(manifestKeyParts(storeKeys.manifest('C-1', A1))).toEqual({ caseId: 'C-1', captureId: A1 });
    for (const k of KEYS.filter((x) => !x.endsWith('/manifest.json') || x.includes('/x/'))) expect(manifestKeyParts(k), k).toBeNull();
    expect(manifestKeyParts(`store/cases/C-1/captures/${A1}/manifest.json`)).toBeNull();
  });

  it('lists the ids of a case with a manifest, sorted, and not those of a case whose id starts the same', async () => {
    expect(await sealedCaptureIds(listing(KEYS), 'C-2')).toEqual([A1, A2]);
    expect(await sealedCaptureIds(listing(KEYS), 'C-20')).toEqual([B1]);
    expect(await sealedCaptureIds(listing(KEYS), 'C-3')).toEqual([]);
  });

  it('groups every case of the store, cases and ids sorted', async () => {
    expect([...(await sealedCapturesByCase(listing(KEYS)))]).toEqual([
      ['C-2', [A1, A2]],
      ['C-20', [B1]],
    ]);
  });
});
