/**
 * Intelligence exports: a case's (or a selection's) sealed captures as a STIX 2.1 bundle or a MISP
 * event, the informal channel between agencies. Derived products, never evidence: every object
 * names the capture it was read from and the SHA-256 of that capture's sealed manifest, so
 * intelligence received informally can later be matched to the formal evidence (a package, `verify`).
 *
 * STIX 2.1 choices (each accepted by stix2-validator in strict mode, see the integration test):
 * - One `observed-data` per capture (first/last_observed: capture start; created: sealed time),
 *   whose `object_refs` are the SCOs read from it: `url` (requested and final page URL, each post's
 *   URL, each link), `domain-name`, `user-account` (authors and mentioned accounts; `account_type`
 *   is the platform, an open vocabulary), `file` (sealed media, by SHA-256). One `note` per post with
 *   text (the text exactly as sealed, `lang` when the platform states it).
 * - Capture id and manifest digest: on SDOs and SROs as an `external_references` entry
 *   (`source_name` `exhibit-capture`, `external_id` the capture id, `hashes.SHA-256` the manifest
 *   digest); on every object (SCOs included, which have no `external_references`) in a
 *   property-extension defined in the bundle (STIX 2.1 §7.3; a bare `x_` property is deprecated).
 * - Relationships from the case graph (analysis/case-graph.ts), only the observed ones: authored,
 *   mentions, replies-to, quotes, reposts, links-to, in-domain, has-media. A post is represented by
 *   its URL SCO. STIX 2.1 lets a relationship join SCOs, but any type outside the spec's list is
 *   only "permitted, not suggested" and many importers drop it, so each is a `related-to` whose
 *   `description` and extension `relation` name the case-graph type. Derived edges (co-thread,
 *   same-media, similar-media, same-avatar) and analyst assertions are not observations and are
 *   left out.
 * - Ids: SCOs are UUIDv5 in the STIX namespace over their ID-contributing properties (§2.9), so the
 *   same URL, account or media bytes get the same id in every export and every tool. Other objects
 *   get a deterministic id in UUIDv4 form (SHA-256 of a name, version and variant bits set): the
 *   spec asks for v4 there, and the same export run twice gives the same bundle.
 * - TLP 2.0: the official marking-definition objects (ids below) on every object.
 *
 * MISP (core format JSON, one event): per capture a `url` object (page URL, domain, host), a
 * `microblog` object per post (text, username, display name, link, published time, language,
 * hashtags, links, mentioned usernames), a `user-account` object per author, a `file` object per
 * sealed media (sha256, MIME type, name); the event tagged `tlp:<level>`. Capture id and manifest
 * digest are in the `comment` of every object and attribute (MISP has no per-attribute reference
 * field; the comment is what analysts see and what MISP search reads).
 */
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { mapLimit } from '../lib/concurrency.js';
import { PermanentError } from '../lib/errors.js';
import type { Tlp } from '../schemas/share.js';
import { StoredCaptureManifest, type CaptureManifest } from '../schemas/manifest.js';
import type { Post } from '../schemas/post.js';
import type { GraphEdge, GraphNode } from '../schemas/graph.js';
import { canonicalBytes, sha256Digest } from '../evidence/canonical.js';
import { storeKeys, type EvidenceStore } from '../evidence/store.js';
import { CaseGraph, type SealedPost } from './case-graph.js';
import { isSkipped, readSealedPost, sealedCaptureIds } from './sealed-posts.js';

/** One sealed capture as the exports read it. */
export interface IntelCapture {
  captureId: string;
  /** `sha256:<hex>` of the sealed manifest bytes: what identifies the formal evidence. */
  manifestSha256: string;
  manifest: CaptureManifest;
  /** The digest-checked post.json, or null for a capture without one (a web page). */
  post: SealedPost | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The sealed captures of a case, or only `captureIds` (each must be sealed in the case: an unknown
 * id is NOT_FOUND, never skipped). The manifest digest is of the exact stored bytes.
 */
export async function readIntelCaptures(store: EvidenceStore, caseId: string, captureIds?: string[]): Promise<IntelCapture[]> {
  let ids: string[];
  if (captureIds?.length) {
    ids = [...new Set(captureIds)].sort();
    for (const id of ids) {
      if (!UUID.test(id) || !(await store.stat(storeKeys.manifest(caseId, id)))) throw new PermanentError('NOT_FOUND', `no sealed capture ${id} in case ${caseId}`);
    }
  } else ids = await sealedCaptureIds(store, caseId);
  if (ids.length === 0) throw new PermanentError('NOT_FOUND', `no sealed captures in case ${caseId}`);
  return mapLimit(ids, 8, async (captureId) => {
    const bytes = await store.getBytes(storeKeys.manifest(caseId, captureId));
    const manifest = StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8')));
    let post: SealedPost | null = null;
    if (manifest.artifacts.some((a) => a.role === 'post')) {
      const r = await readSealedPost(store, caseId, captureId);
      if (!isSkipped(r)) post = r;
    }
    return { captureId, manifestSha256: sha256Digest(bytes), manifest, post };
  });
}

export interface IntelExportOptions {
  caseId: string;
  tlp: Tlp;
  /** When the export was made (MISP event date and timestamp; STIX objects carry sealed times). */
  exportedAt: string;
}

// ---------------------------------------------------------------------------------------------
// STIX 2.1

/**
 * The TLP 2.0 marking-definition objects, exactly as OASIS publishes them in
 * github.com/oasis-open/cti-stix-common-objects, extension-definition-specifications/tlp-2.0/
 * (marking-definition.json and examples/tlp-*.json): fixed ids, created 2022-10-01, the
 * `tlp_2_0` property-extension `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`.
 */
export const TLP2_MARKING_IDS: Record<Tlp, string> = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};
const TLP2_EXTENSION = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

export function tlpMarkingDefinition(tlp: Tlp): Record<string, unknown> {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKING_IDS[tlp],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${tlp.toUpperCase()}`,
    extensions: { [TLP2_EXTENSION]: { extension_type: 'property-extension', tlp_2_0: tlp } },
  };
}

/** STIX's namespace for SCO UUIDv5 ids (STIX 2.1 §2.9). */
const STIX_SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

/** A deterministic id in UUIDv4 form for objects other than SCOs. */
function stableV4(name: string): string {
  const b = createHash('sha256').update(`exhibit.stix/1\n${name}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** SCO id: UUIDv5 over the canonical JSON (RFC 8785) of its ID-contributing properties. */
export function scoId(type: string, contributing: Record<string, unknown>): string {
  const present = Object.fromEntries(Object.entries(contributing).filter(([, v]) => v !== undefined && v !== null));
  return `${type}--${uuidv5(canonicalBytes(present).toString('utf8'), STIX_SCO_NAMESPACE)}`;
}

const EXHIBIT_IDENTITY = `identity--${stableV4('identity')}`;
/** The property-extension that carries capture ids and manifest digests on every object. */
export const EXHIBIT_EXTENSION = `extension-definition--${stableV4('extension/evidence-link/1')}`;
const FIXED_CREATED = '2026-01-01T00:00:00.000Z';

const stixTime = (iso: string) => new Date(iso).toISOString();

interface CaptureRef {
  capture_id: string;
  manifest_sha256: string;
}

/** The STIX 2.1 bundle of the captures. */
export function stixBundle(captures: IntelCapture[], opts: IntelExportOptions): Record<string, unknown> {
  const marking = [TLP2_MARKING_IDS[opts.tlp]];
  const byCapture = new Map(captures.map((c) => [c.captureId, c]));
  const refOf = (id: string): CaptureRef => ({ capture_id: id, manifest_sha256: byCapture.get(id)!.manifestSha256 });
  const extRef = (id: string) => ({ source_name: 'exhibit-capture', external_id: id, description: 'Exhibit capture id; hashes: SHA-256 of its sealed, signed and timestamped manifest', hashes: { 'SHA-256': byCapture.get(id)!.manifestSha256.slice(7) } });
  const ext = (ids: Iterable<string>, extra: Record<string, unknown> = {}) => ({ [EXHIBIT_EXTENSION]: { extension_type: 'property-extension', captures: [...new Set(ids)].sort().map(refOf), ...extra } });

  // SCOs: id → properties, and the captures each was read from.
  const scos = new Map<string, { props: Record<string, unknown>; captures: Set<string> }>();
  const perCapture = new Map<string, Set<string>>(captures.map((c) => [c.captureId, new Set()]));
  const addSco = (type: string, contributing: Record<string, unknown>, other: Record<string, unknown>, captureIds: Iterable<string>): string => {
    const id = scoId(type, contributing);
    let s = scos.get(id);
    if (!s) {
      const props = Object.fromEntries(Object.entries({ ...contributing, ...other }).filter(([, v]) => v !== undefined && v !== null && v !== ''));
      s = { props: { type, spec_version: '2.1', id, ...props }, captures: new Set() };
      scos.set(id, s);
    }
    for (const c of captureIds) {
      s.captures.add(c);
      perCapture.get(c)?.add(id);
    }
    return id;
  };
  const addUrl = (url: string, captureIds: Iterable<string>): string => {
    const ids = [...captureIds];
    const id = addSco('url', { value: url }, {}, ids);
    let host: string | null = null;
    try {
      host = new URL(url).hostname.toLowerCase() || null;
    } catch {
      host = null;
    }
    if (host) addSco('domain-name', { value: host }, {}, ids);
    return id;
  };

  for (const c of captures) {
    addUrl(c.manifest.request.url, [c.captureId]);
    if (c.manifest.page.finalUrl) addUrl(c.manifest.page.finalUrl, [c.captureId]);
  }

  // The graph of the selected captures only: nodes become SCOs, observed edges relationships.
  const graph = new CaseGraph();
  for (const c of captures) if (c.post) graph.addCapture(c.post);
  const snap = graph.snapshot();
  const mediaTypes = new Map(captures.flatMap((c) => c.manifest.artifacts.filter((a) => a.role === 'media').map((a) => [a.sha256, a.mediaType] as const)));
  const nodeSco = new Map<string, string>();
  const captureIdsOf = (n: GraphNode | GraphEdge) => n.provenance.flatMap((p) => (p.basis === 'observed' ? [p.captureId] : []));
  const latest = (values: GraphNode['handles']) => [...values].sort((a, b) => a.capturedAt.localeCompare(b.capturedAt) || a.value.localeCompare(b.value)).at(-1)?.value;
  for (const n of snap.nodes) {
    const ids = captureIdsOf(n);
    let id: string | null = null;
    if (n.kind === 'account' || n.kind === 'channel') {
      const handle = latest(n.handles)?.replace(/^@/, '');
      id = addSco('user-account', { account_type: n.platform ?? undefined, user_id: n.attrs.accountId ? String(n.attrs.accountId) : undefined, account_login: handle }, { display_name: latest(n.displayNames) }, ids);
    } else if ((n.kind === 'post' || n.kind === 'url') && typeof n.attrs.url === 'string') id = addUrl(n.attrs.url, ids);
    else if (n.kind === 'domain') id = addSco('domain-name', { value: String(n.attrs.host) }, {}, ids);
    else if (n.kind === 'media') {
      const sha = String(n.attrs.sha256);
      id = addSco('file', { hashes: { 'SHA-256': sha.replace(/^sha256:/, '') } }, { mime_type: mediaTypes.get(sha) }, ids);
    }
    if (id) nodeSco.set(n.id, id);
  }

  const sdoBase = (type: string, name: string, created: string) => ({ type, spec_version: '2.1', id: `${type}--${stableV4(`${opts.tlp}\n${type}\n${name}`)}`, created_by_ref: EXHIBIT_IDENTITY, created, modified: created });
  const objects: Array<Record<string, unknown>> = [];

  for (const c of captures) {
    const sealed = stixTime(c.manifest.sealedAt);
    const observed = stixTime(c.manifest.environment.startedAt);
    const od = {
      ...sdoBase('observed-data', c.captureId, sealed),
      first_observed: observed,
      last_observed: observed,
      number_observed: 1,
      object_refs: [...perCapture.get(c.captureId)!].sort(),
      external_references: [extRef(c.captureId)],
      object_marking_refs: marking,
      extensions: ext([c.captureId]),
    };
    objects.push(od);
    const doc = c.post?.doc;
    if (!doc) continue;
    const posts: Array<[string, Post | null]> = [['/post', doc.post], ...doc.replies.map((r, i): [string, Post] => [`/replies/${i}`, r]), ['/quoted', doc.quoted]];
    for (const [pointer, p] of posts) {
      if (!p?.text?.content) continue;
      const refs = [od.id, ...(p.url ? [scoId('url', { value: p.url })] : [])];
      objects.push({
        ...sdoBase('note', `${c.captureId}\n${pointer}`, sealed),
        abstract: `${doc.platform} post ${p.id}${p.author?.handle ? ` by @${p.author.handle.replace(/^@/, '')}` : ''}, text as captured`,
        content: p.text.content,
        ...(p.author?.displayName || p.author?.handle ? { authors: [p.author.displayName ?? p.author.handle!] } : {}),
        ...(p.text.language ? { lang: p.text.language } : {}),
        object_refs: refs,
        external_references: [extRef(c.captureId)],
        object_marking_refs: marking,
        extensions: ext([c.captureId], { json_pointer: pointer }),
      });
    }
  }

  for (const e of snap.edges) {
    if (!OBSERVED_EDGES.has(e.type)) continue;
    const source = nodeSco.get(e.source);
    const target = nodeSco.get(e.target);
    if (!source || !target || source === target) continue;
    const ids = [...new Set(captureIdsOf(e))].sort();
    if (ids.length === 0) continue;
    const created = ids.map((id) => stixTime(byCapture.get(id)!.manifest.sealedAt)).sort()[0]!;
    objects.push({
      ...sdoBase('relationship', `${ids.join(',')}\n${e.id}`, created),
      relationship_type: 'related-to',
      description: `${e.type} (Exhibit case graph, observed in ${e.weight} post${e.weight === 1 ? '' : 's'})`,
      source_ref: source,
      target_ref: target,
      external_references: ids.map(extRef),
      object_marking_refs: marking,
      extensions: ext(ids, { relation: e.type }),
    });
  }

  const scoObjects: Array<Record<string, unknown>> = [...scos.values()].map((s) => ({ ...s.props, object_marking_refs: marking, extensions: ext(s.captures) }));
  const header = [
    tlpMarkingDefinition(opts.tlp),
    { type: 'identity', spec_version: '2.1', id: EXHIBIT_IDENTITY, created: FIXED_CREATED, modified: FIXED_CREATED, name: 'Exhibit evidence capture', identity_class: 'system', object_marking_refs: marking },
    {
      type: 'extension-definition',
      spec_version: '2.1',
      id: EXHIBIT_EXTENSION,
      created_by_ref: EXHIBIT_IDENTITY,
      created: FIXED_CREATED,
      modified: FIXED_CREATED,
      name: 'Exhibit evidence link',
      description: 'Links an object to the sealed Exhibit captures it was read from.',
      schema: 'Property-extension. captures: array of {capture_id: Exhibit capture id (UUID), manifest_sha256: "sha256:" + hex SHA-256 of the sealed capture manifest}. relation (relationships): the Exhibit case-graph edge type. json_pointer (notes): where in the capture\'s post.json the text was read.',
      version: '1.0.0',
      extension_types: ['property-extension'],
      object_marking_refs: marking,
    },
  ];
  const sorted = [...scoObjects, ...objects].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  const ids = captures.map((c) => c.captureId).sort();
  return { type: 'bundle', id: `bundle--${stableV4(`${opts.tlp}\nbundle\n${opts.caseId}\n${ids.join(',')}`)}`, objects: [...header, ...sorted] };
}

/** Case-graph edges that record what a post said (the others are derived by analysis or asserted). */
const OBSERVED_EDGES = new Set(['authored', 'mentions', 'replies-to', 'quotes', 'reposts', 'links-to', 'in-domain', 'has-media']);

// ---------------------------------------------------------------------------------------------
// MISP

/** Deterministic MISP uuids (v5 in a namespace of our own). */
const MISP_NAMESPACE = uuidv5('exhibit.misp/1', STIX_SCO_NAMESPACE);
const mispUuid = (name: string) => uuidv5(name, MISP_NAMESPACE);

/** The misp-objects templates used (uuid and version as in the MISP/misp-objects repository). */
const TEMPLATES = {
  url: { uuid: '60efb77b-40b5-4c46-871b-ed1ed999fce5', version: '10', meta: 'network', description: 'url object describes an url along with its normalized field' },
  microblog: { uuid: '8ec8c911-ddbe-4f5b-895b-fbff70c42a60', version: '20', meta: 'misc', description: 'Microblog post like a Twitter tweet or a post on a Facebook wall.' },
  'user-account': { uuid: '49606b06-22f0-4ac8-8eee-2f12ad46f3d3', version: '6', meta: 'misc', description: 'User-account object, defining aspects of user identification, authentication, privileges and other relevant data points.' },
  file: { uuid: '688c46fb-5edb-40a3-8273-1af7923e2215', version: '25', meta: 'file', description: 'File object describing a file with meta-information' },
} as const;

/** Category for each MISP attribute type used (MISP's default category for the type). */
const CATEGORY: Record<string, string> = {
  url: 'Network activity',
  domain: 'Network activity',
  hostname: 'Network activity',
  text: 'Other',
  link: 'External analysis',
  datetime: 'Other',
  sha256: 'Payload delivery',
  'mime-type': 'Payload delivery',
  filename: 'Payload delivery',
};

/** The MISP tag of a TLP 2.0 level (MISP `tlp` taxonomy). */
export const mispTlpTag = (tlp: Tlp) => `tlp:${tlp}`;

/** The MISP event of the captures, and how many attributes it holds (in objects included). */
export function mispEvent(captures: IntelCapture[], opts: IntelExportOptions): { event: Record<string, unknown>; attributeCount: number } {
  const ts = (iso: string) => String(Math.floor(new Date(iso).getTime() / 1000));
  const ids = captures.map((c) => c.captureId).sort();
  const eventUuid = mispUuid(`event\n${opts.tlp}\n${opts.caseId}\n${ids.join(',')}`);
  const objects: Array<Record<string, unknown>> = [];
  let attributeCount = 0;

  for (const c of captures) {
    const comment = `exhibit capture ${c.captureId}; manifest ${c.manifestSha256}`;
    const timestamp = ts(c.manifest.sealedAt);
    const object = (name: keyof typeof TEMPLATES, key: string, attrs: Array<[string, string, string | null | undefined]>, refs: Array<[string, string]> = []): string | null => {
      const present = attrs.filter((a): a is [string, string, string] => typeof a[2] === 'string' && a[2] !== '');
      if (present.length === 0) return null;
      const t = TEMPLATES[name];
      const uuid = mispUuid(`${eventUuid}\n${c.captureId}\n${name}\n${key}`);
      objects.push({
        name,
        'meta-category': t.meta,
        description: t.description,
        template_uuid: t.uuid,
        template_version: t.version,
        uuid,
        comment,
        timestamp,
        distribution: '5',
        Attribute: present.map(([relation, type, value], i) => ({ object_relation: relation, type, category: CATEGORY[type], value, to_ids: false, uuid: mispUuid(`${uuid}\n${i}\n${relation}`), comment, timestamp, distribution: '5', disable_correlation: false })),
        ObjectReference: refs.map(([target, rel]) => ({ uuid: mispUuid(`${uuid}\n${rel}\n${target}`), object_uuid: uuid, referenced_uuid: target, relationship_type: rel, comment })),
      });
      attributeCount += present.length;
      return uuid;
    };
    const urlObject = (url: string) => {
      let host: string | null = null;
      try {
        host = new URL(url).hostname.toLowerCase() || null;
      } catch {
        host = null;
      }
      object('url', `url\n${url}`, [
        ['url', 'url', url],
        ['domain', 'domain', host],
        ['host', 'hostname', host],
      ]);
    };
    urlObject(c.manifest.request.url);
    if (c.manifest.page.finalUrl && c.manifest.page.finalUrl !== c.manifest.request.url) urlObject(c.manifest.page.finalUrl);

    const doc = c.post?.doc;
    if (!doc) continue;
    const mediaTypes = new Map(c.manifest.artifacts.filter((a) => a.role === 'media').map((a) => [a.name, a]));
    const posts: Array<[string, Post | null]> = [['/post', doc.post], ...doc.replies.map((r, i): [string, Post] => [`/replies/${i}`, r]), ['/quoted', doc.quoted]];
    for (const [pointer, p] of posts) {
      if (!p) continue;
      const a = p.author;
      const account = a
        ? object('user-account', `account\n${a.id ?? ''}\n${a.handle ?? ''}\n${pointer}`, [
            ['username', 'text', a.handle?.replace(/^@/, '')],
            ['user-id', 'text', a.id],
            ['display-name', 'text', a.displayName],
            ['account-type', 'text', doc.platform],
            ['link', 'link', a.profileUrl],
          ])
        : null;
      const files = p.media.flatMap((m) => {
        const art = m.artifact ? mediaTypes.get(m.artifact) : undefined;
        if (!art) return [];
        const f = object('file', `file\n${art.sha256}`, [
          ['sha256', 'sha256', art.sha256.replace(/^sha256:/, '')],
          ['mimetype', 'mime-type', art.mediaType],
          ['filename', 'filename', art.name.split('/').at(-1)],
        ]);
        return f ? [f] : [];
      });
      object(
        'microblog',
        `post\n${pointer}`,
        [
          ['post', 'text', p.text?.content],
          ['username', 'text', a?.handle?.replace(/^@/, '')],
          ['display-name', 'text', a?.displayName],
          ['link', 'link', p.url],
          ['creation-date', 'datetime', p.published?.utc],
          ['type', 'text', doc.platform],
          ['language', 'text', p.text?.language],
          ...p.hashtags.map((h): [string, string, string] => ['hashtag', 'text', h]),
          ...p.links.map((l): [string, string, string] => ['embedded-link', 'url', l]),
          ...p.mentions.map((m): [string, string, string] => ['username-quoted', 'text', m.handle.replace(/^@/, '')]),
        ],
        [...(account ? [[account, 'authored-by'] as [string, string]] : []), ...files.map((f): [string, string] => [f, 'contains'])],
      );
    }
  }

  const event = {
    Event: {
      uuid: eventUuid,
      info: `Exhibit case ${opts.caseId}: ${captures.length} capture(s), intelligence copy; the formal evidence is identified by capture id and manifest digest`,
      date: opts.exportedAt.slice(0, 10),
      timestamp: ts(opts.exportedAt),
      // 4 undefined, 2 completed, 0 your organisation only: the TLP tag states the handling.
      threat_level_id: '4',
      analysis: '2',
      distribution: '0',
      published: false,
      Tag: [{ name: mispTlpTag(opts.tlp) }],
      Attribute: [],
      Object: objects,
    },
  };
  return { event, attributeCount };
}

/** The export's bytes: UTF-8 JSON, two-space indented, newline-terminated. */
export function intelBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}
