/**
 * Intelligence exports of a case (the informal channel): a STIX 2.1 bundle and a MISP event (MISP
 * core format), read from the sealed capture manifests only. Every object carries the capture id
 * and the signed manifest's SHA-256, so intelligence received informally can later be matched to
 * the formal evidence (a package holding that manifest). TLP 2.0 markings are carried through: in
 * STIX as the TLP 2.0 marking definitions (extension-definition--60a3c5c5…), in MISP as `tlp:` tags.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CaptureManifest } from '../schemas/manifest.js';
import type { Tlp } from '../schemas/share.js';

export interface IntelCapture {
  manifest: CaptureManifest;
  /** `sha256:` of the signed manifest bytes. */
  manifestDigest: string;
}

export interface IntelOptions {
  caseId: string;
  organization: string;
  tlp: Tlp;
  /** ISO-8601 UTC. */
  now: string;
}

/** The TLP 2.0 marking definitions for STIX 2.1 (FIRST TLP 2.0 as published for STIX by OASIS). */
const TLP2_EXTENSION = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
const TLP2_IDS: Record<Tlp, string> = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** STIX 2.1 §2.9: a cyber-observable's id is a UUIDv5 of its id-contributing properties, in the SCO namespace. */
function scoId(type: string, props: Record<string, unknown>): string {
  const ns = Buffer.from('00abedb4aa42466c9c01fed23315a9b7', 'hex');
  const sorted = Object.fromEntries(Object.entries(props).sort(([a], [b]) => (a < b ? -1 : 1)));
  const h = createHash('sha1').update(ns).update(JSON.stringify(sorted)).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${type}--${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const hex = (d: string) => d.replace(/^sha(256|512):/, '');
/** STIX timestamps have millisecond precision. */
const ts = (iso: string) => new Date(iso).toISOString();

/** A STIX 2.1 bundle: per capture, observed-data referring to its url, domain-name and files, and a note naming the capture and manifest. */
export function stixBundle(captures: readonly IntelCapture[], o: IntelOptions): Record<string, unknown> {
  const identity = { type: 'identity', spec_version: '2.1', id: `identity--${randomUUID()}`, created: ts(o.now), modified: ts(o.now), name: o.organization, identity_class: 'organization' };
  const marking = {
    type: 'marking-definition', spec_version: '2.1', id: TLP2_IDS[o.tlp], created: '2022-10-01T00:00:00.000Z', name: `TLP:${o.tlp.toUpperCase()}`,
    extensions: { [TLP2_EXTENSION]: { extension_type: 'property-extension', tlp_2_0: o.tlp } },
  };
  const common = () => ({ spec_version: '2.1', created_by_ref: identity.id, created: ts(o.now), modified: ts(o.now), object_marking_refs: [marking.id] });
  const objects: Array<Record<string, unknown>> = [identity, marking];
  const seen = new Set<string>();
  const add = (obj: Record<string, unknown>) => {
    if (!seen.has(obj.id as string)) objects.push(obj);
    seen.add(obj.id as string);
    return obj.id as string;
  };
  for (const { manifest: m, manifestDigest } of captures) {
    const refs: string[] = [];
    const url = m.page?.finalUrl ?? m.request.url;
    refs.push(add({ type: 'url', spec_version: '2.1', id: scoId('url', { value: url }), value: url, object_marking_refs: [marking.id] }));
    const host = new URL(url).hostname;
    if (host && !/^[\d.]+$/.test(host) && !host.includes(':')) refs.push(add({ type: 'domain-name', spec_version: '2.1', id: scoId('domain-name', { value: host }), value: host, object_marking_refs: [marking.id] }));
    for (const a of m.artifacts) {
      const hashes = { 'SHA-256': hex(a.sha256), 'SHA-512': hex(a.sha512) };
      refs.push(add({ type: 'file', spec_version: '2.1', id: scoId('file', { hashes }), hashes, size: a.size, name: a.name.split('/').pop(), mime_type: a.mediaType.split(';')[0]!.trim(), object_marking_refs: [marking.id] }));
    }
    const observed = { type: 'observed-data', id: `observed-data--${randomUUID()}`, ...common(), first_observed: ts(m.environment.startedAt), last_observed: ts(m.environment.finishedAt), number_observed: 1, object_refs: refs };
    add(observed);
    add({
      type: 'note', id: `note--${randomUUID()}`, ...common(), abstract: `Exhibit capture ${m.captureId}`,
      content: `Captured by Exhibit for case ${o.caseId}: capture ${m.captureId}, signed manifest ${manifestDigest}. Match the formal evidence by this manifest digest (data/captures/${m.captureId}/manifest.json in a certified package). Handling: TLP:${o.tlp.toUpperCase()}.`,
      object_refs: [observed.id],
      external_references: [{ source_name: 'exhibit', external_id: m.captureId, hashes: { 'SHA-256': hex(manifestDigest) } }],
    });
  }
  return { type: 'bundle', id: `bundle--${randomUUID()}`, objects };
}

/** A MISP event (MISP core format): per capture a url object, and the manifest's and each file's SHA-256 as attributes, each naming the capture id and the manifest digest. */
export function mispEvent(captures: readonly IntelCapture[], o: IntelOptions): Record<string, unknown> {
  const date = o.now.slice(0, 10);
  const attr = (type: string, category: string, value: string, comment: string, relation?: string) => ({ uuid: randomUUID(), type, category, value, comment, to_ids: false, ...(relation ? { object_relation: relation } : {}) });
  return {
    Event: {
      uuid: randomUUID(),
      info: `Exhibit case ${o.caseId}`,
      date,
      threat_level_id: '4',
      analysis: '2',
      distribution: '0',
      published: false,
      Orgc: { name: o.organization },
      Tag: [{ name: `tlp:${o.tlp}` }],
      Attribute: captures.flatMap(({ manifest: m, manifestDigest }) => [
        attr('sha256', 'Other', hex(manifestDigest), `signed Exhibit manifest of capture ${m.captureId} (case ${o.caseId})`),
        ...m.artifacts.map((a) => attr('sha256', 'Payload delivery', hex(a.sha256), `${a.name} (${a.role}) of capture ${m.captureId}; manifest ${manifestDigest}`)),
      ]),
      Object: captures.map(({ manifest: m, manifestDigest }) => ({
        uuid: randomUUID(),
        name: 'url',
        meta_category: 'network',
        description: `Exhibit capture ${m.captureId}`,
        comment: `capture ${m.captureId}; signed manifest ${manifestDigest}`,
        Attribute: [attr('url', 'Network activity', m.page?.finalUrl ?? m.request.url, `capture ${m.captureId}; manifest ${manifestDigest}`, 'url')],
      })),
    },
  };
}
