/**
 * BagIt checks (RFC 8493): bagit.txt, every payload file against manifest-sha256 and -sha512 (none
 * missing, none extra), bag-info.txt with Payload-Oxum, the tag manifests, and no stray tag files.
 */
import { createHash } from 'node:crypto';
import type { Digests } from '../hash.js';
import { parseBagInfo, parseManifest, type BagFiles } from './bag-files.js';
import type { BagContext, VerifyResult } from './checks.js';
import { bagPaths, isSafeRelativeName, unsealedByDesign } from './layout.js';

export async function checkBagit({ fileSet, read, report: r }: BagContext): Promise<void> {
  const bagit = fileSet.has('bagit.txt') ? (await read('bagit.txt')).toString('utf8') : '';
  if (/^BagIt-Version: 1\.0\r?\n/.test(bagit) && /Tag-File-Character-Encoding: UTF-8/.test(bagit)) r.pass('bagit.txt', 'bagit', 'BagIt 1.0, UTF-8');
  else r.fail('bagit.txt', 'bagit', 'missing or not "BagIt-Version: 1.0" / "Tag-File-Character-Encoding: UTF-8"');
}

/** Every payload file hashed once, and held against both payload manifests. */
export async function checkPayloadManifests({ fileSet, read, payloadFiles, report: r }: BagContext, bag: BagFiles): Promise<Map<string, Digests>> {
  const digests = new Map<string, Digests>();
  for (const f of payloadFiles) digests.set(f, await bag.digests(f));
  for (const alg of ['sha256', 'sha512'] as const) {
    const mp = bagPaths.manifest(alg);
    if (!fileSet.has(mp)) {
      r.fail(mp, 'manifest', 'missing');
      continue;
    }
    const { entries, bad } = parseManifest((await read(mp)).toString('utf8'));
    for (const b of bad) r.fail(mp, 'manifest', `malformed line ${JSON.stringify(b.slice(0, 200))}`);
    for (const [p, want] of entries) {
      if (!p.startsWith('data/') || !isSafeRelativeName(p)) {
        r.fail(mp, 'manifest', `unsafe or non-payload path ${JSON.stringify(p)}`);
        continue;
      }
      const d = digests.get(p);
      if (!d) r.fail(p, `payload-${alg}`, `listed in ${mp} but missing from the bag`);
      else if (d[alg].slice(alg.length + 1) !== want) r.fail(p, `payload-${alg}`, `${alg} mismatch: file is ${d[alg]}, ${mp} says ${alg}:${want}`);
      else r.pass(p, `payload-${alg}`);
    }
    for (const p of payloadFiles) if (!entries.has(p)) r.fail(p, `payload-${alg}`, `file is not listed in ${mp} (added after bagging?)`);
  }
  return digests;
}

/** bag-info.txt, its Payload-Oxum against the payload, and the case it names (into `result`). */
export async function checkBagInfo({ fileSet, read, report: r }: BagContext, digests: Map<string, Digests>, result: VerifyResult): Promise<{ info: Map<string, string[]>; caseId: string | null }> {
  const info = fileSet.has(bagPaths.bagInfo) ? parseBagInfo((await read(bagPaths.bagInfo)).toString('utf8')) : new Map<string, string[]>();
  if (!fileSet.has(bagPaths.bagInfo)) r.fail(bagPaths.bagInfo, 'bag-info', 'missing');
  const oxum = info.get('Payload-Oxum')?.[0];
  const actualOxum = `${[...digests.values()].reduce((s, d) => s + d.size, 0)}.${digests.size}`;
  if (oxum === actualOxum) r.pass(bagPaths.bagInfo, 'payload-oxum', actualOxum);
  else r.fail(bagPaths.bagInfo, 'payload-oxum', `Payload-Oxum is ${oxum ?? 'missing'}, payload is ${actualOxum}`);
  const caseId = info.get('Exhibit-Case-Id')?.[0] ?? info.get('External-Identifier')?.[0] ?? null;
  result.caseId = caseId;
  if (!caseId) r.fail(bagPaths.bagInfo, 'case-id', 'no Exhibit-Case-Id');
  return { info, caseId };
}

export async function checkTagManifests({ files, fileSet, read, report: r }: BagContext): Promise<void> {
  const tagFiles = files.filter((f) => !f.startsWith('data/'));
  for (const alg of ['sha256', 'sha512'] as const) {
    const tp = bagPaths.tagmanifest(alg);
    if (!fileSet.has(tp)) {
      r.fail(tp, 'tagmanifest', 'missing');
      continue;
    }
    const { entries, bad } = parseManifest((await read(tp)).toString('utf8'));
    for (const b of bad) r.fail(tp, 'tagmanifest', `malformed line ${JSON.stringify(b.slice(0, 200))}`);
    // The package seal's files, when present, must be listed too: a tag manifest with a line removed
    // is an edit, even when what it no longer lists is checked another way (the seal's signature).
    const sealFiles = tagFiles.filter((f) => unsealedByDesign(f) && !/^(tag)?manifest-sha(256|512)\.txt$/.test(f));
    const required = [bagPaths.bagit, bagPaths.bagInfo, bagPaths.manifest('sha256'), bagPaths.manifest('sha512'), ...sealFiles];
    for (const req of required) {
      if (!entries.has(req)) r.fail(req, `tag-${alg}`, `not listed in ${tp}`);
    }
    for (const [p, want] of entries) {
      if (!fileSet.has(p) || p.startsWith('data/')) {
        r.fail(p, `tag-${alg}`, `listed in ${tp} but missing`);
        continue;
      }
      const got = createHash(alg).update(await read(p)).digest('hex');
      if (got === want) r.pass(p, `tag-${alg}`);
      else r.fail(p, `tag-${alg}`, `${alg} mismatch: file is ${alg}:${got}, ${tp} says ${alg}:${want}`);
    }
  }
  const knownTags = new Set([bagPaths.bagit, bagPaths.bagInfo, bagPaths.manifest('sha256'), bagPaths.manifest('sha512'), bagPaths.tagmanifest('sha256'), bagPaths.tagmanifest('sha512')]);
  for (const f of tagFiles) if (!knownTags.has(f) && !unsealedByDesign(f)) r.fail(f, 'tag-file', 'unexpected file outside data/ (added after bagging?)');
}
