/**
 * Packages received from partners (`exhibit import`) travel onward whole: a package of a case
 * carries each received package its selection touches, byte-identical, with its import record, so
 * a court sees the origin's custody segment, this deployment's own, and the `received` events that
 * hand one over to the other (verify checks all three, check-received.ts).
 */
import { IntegrityError } from '../../lib/errors.js';
import { ImportRecord } from '../../schemas/share.js';
import type { EvidenceStore } from '../store.js';
import { inMemory } from './captures.js';
import { bagPaths } from './layout.js';
import type { PayloadEntry } from './payload-zip.js';

export interface ReceivedPart {
  record: ImportRecord;
  recordBytes: Buffer;
}

/** Every package received into the case, or those holding one of `selected`. */
export async function receivedPackages(store: EvidenceStore, caseId: string, selected: readonly string[] | null): Promise<ReceivedPart[]> {
  const keys = (await store.list(`cases/${caseId}/received/`)).filter((k) => k.endsWith('/record.json')).sort();
  const out: ReceivedPart[] = [];
  for (const key of keys) {
    const recordBytes = await store.getBytes(key);
    const record = ImportRecord.parse(JSON.parse(recordBytes.toString('utf8')));
    if (record.caseId !== caseId) throw new IntegrityError('PACKAGE_INVALID', `import record ${key} names case ${record.caseId}`);
    if (!selected || record.captures.some((c) => selected.includes(c.captureId))) out.push({ record, recordBytes });
  }
  return out;
}

/** The zip entries of the received packages: the record, and the package streamed from the store, checked against its digests. */
export function receivedEntries(store: EvidenceStore, parts: readonly ReceivedPart[]): PayloadEntry[] {
  return parts.flatMap(({ record, recordBytes }) => [
    inMemory(bagPaths.receivedRecord(record.package.sha256), recordBytes),
    {
      path: bagPaths.receivedZip(record.package.sha256),
      size: record.package.size,
      open: () => store.get(record.package.storeKey),
      expect: { sha256: record.package.sha256, sha512: record.package.sha512, size: record.package.size },
      compress: false,
    },
  ]);
}
