import { describe, expect, it } from 'vitest';
import { EXHIBIT_EXTENSION, TLP2_MARKING_IDS, mispEvent, scoId, stixBundle, tlpMarkingDefinition, type IntelCapture } from '../../../analysis/intel-export.js';
import type { CaptureManifest } from '../../../schemas/manifest.js';
import { TLP_LEVELS } from '../../../schemas/share.js';
import { asSealedPost, networkScenario, type SyntheticCapture } from '../../support/synthetic-posts.js';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** Only the manifest fields the exports read; the integration test uses real sealed manifests. */
function capture(id: string, n: number, url: string, synthetic: SyntheticCapture | null): IntelCapture {
  const post = synthetic ? asSealedPost('C-1', id, synthetic) : null;
  const manifest = {
    request: { url },
    page: { finalUrl: `${url}#final` },
    sealedAt: `2026-03-01T1${n}:00:05.000Z`,
    environment: { startedAt: `2026-03-01T1${n}:00:00.000Z` },
    artifacts: post ? [...post.artifacts].map(([name, a]) => ({ name, role: 'media', sha256: a.sha256, mediaType: 'image/jpeg' })) : [],
  } as unknown as CaptureManifest;
  return { captureId: id, manifestSha256: digest(n), manifest, post };
}

const ID = (n: number) => `0190f0a0-0000-7000-8000-00000000000${n}`;
const opts = { caseId: 'C-1', tlp: 'amber' as const, exportedAt: '2026-03-02T00:00:00.000Z' };

describe('intelligence exports', () => {
  const s = networkScenario();
  const caps = [capture(ID(1), 1, 'https://t.me/news_ar/10', s.captures[0]!), capture(ID(2), 2, 'https://t.me/relay_ch/5', s.captures[1]!), capture(ID(3), 3, 'https://social.example/@layla/9001', s.captures[2]!), capture(ID(4), 4, 'https://example.org/page', null)];

  it('uses the OASIS TLP 2.0 marking definitions', () => {
    for (const tlp of TLP_LEVELS) {
      expect(tlpMarkingDefinition(tlp)).toMatchObject({ id: TLP2_MARKING_IDS[tlp], name: `TLP:${tlp.toUpperCase()}`, created: '2022-10-01T00:00:00.000Z' });
    }
    expect(new Set(Object.values(TLP2_MARKING_IDS)).size).toBe(5);
  });

  it('SCO ids depend only on the ID-contributing values (canonical JSON), not on key order or absent values', () => {
    expect(scoId('user-account', { account_type: 'telegram', account_login: 'news_ar', user_id: null })).toBe(scoId('user-account', { account_login: 'news_ar', account_type: 'telegram' }));
    expect(scoId('url', { value: 'https://t.me/a' })).not.toBe(scoId('url', { value: 'https://t.me/b' }));
    expect(scoId('url', { value: 'https://t.me/a' })).toMatch(/^url--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('STIX: deterministic; the TLP changes the marking and the SDO ids, never the observables', () => {
    const a = stixBundle(caps, opts);
    expect(JSON.stringify(stixBundle([...caps].reverse(), opts))).toBe(JSON.stringify(a));
    const red = stixBundle(caps, { ...opts, tlp: 'red' });
    const ids = (b: Record<string, unknown>, sco: boolean) => (b.objects as Array<{ id: string; type: string }>).filter((o) => ['url', 'domain-name', 'user-account', 'file'].includes(o.type) === sco).map((o) => o.id);
    expect(ids(red, true)).toEqual(ids(a, true));
    // Shared between the two: only the fixed identity and extension definition; the markings and every SDO/SRO differ.
    const shared = ids(red, false).filter((i) => ids(a, false).includes(i));
    expect(shared.map((i) => i.split('--')[0]).sort()).toEqual(['extension-definition', 'identity']);
    expect(shared).toContain(EXHIBIT_EXTENSION);
  });

  it('STIX: every object carries the capture ids and manifest digests it was read from; only observed graph edges become relationships', () => {
    const objects = stixBundle(caps, opts).objects as Array<Record<string, unknown> & { type: string; id: string }>;
    const linked = objects.filter((o) => !['marking-definition', 'identity', 'extension-definition'].includes(o.type));
    for (const o of linked) {
      const captures = (o.extensions as Record<string, { captures: Array<{ capture_id: string; manifest_sha256: string }> }>)[EXHIBIT_EXTENSION]!.captures;
      expect(captures.length, o.id).toBeGreaterThan(0);
      for (const c of captures) expect(c.manifest_sha256).toBe(caps.find((x) => x.captureId === c.capture_id)!.manifestSha256);
    }
    const od = objects.filter((o) => o.type === 'observed-data');
    expect(od).toHaveLength(4);
    // The web capture: its two URLs and one domain, nothing read from a post.
    const web = od.find((o) => (o.external_references as Array<{ external_id: string }>)[0]!.external_id === ID(4))!;
    expect(web.object_refs).toEqual([scoId('domain-name', { value: 'example.org' }), scoId('url', { value: 'https://example.org/page' }), scoId('url', { value: 'https://example.org/page#final' })].sort());
    const relations = objects.filter((o) => o.type === 'relationship').map((o) => (o.extensions as Record<string, { relation: string }>)[EXHIBIT_EXTENSION]!.relation);
    expect(new Set(relations)).toEqual(new Set(['authored', 'mentions', 'replies-to', 'reposts', 'links-to', 'in-domain', 'has-media']));
    expect(objects.filter((o) => o.type === 'relationship').every((o) => o.relationship_type === 'related-to')).toBe(true);
    // The same photo posted by two channels is one file object, linked to both captures.
    const photoA = objects.find((o) => o.type === 'file' && (o.hashes as Record<string, string>)['SHA-256'] === s.photoA.slice(7))!;
    expect((photoA.extensions as Record<string, { captures: Array<{ capture_id: string }> }>)[EXHIBIT_EXTENSION]!.captures.map((c) => c.capture_id)).toEqual([ID(1), ID(2)]);
  });

  it('MISP: the count is the attributes in the objects; TLP tag; evidence link in every comment', () => {
    const { event, attributeCount } = mispEvent(caps, { ...opts, tlp: 'amber+strict' });
    const e = (event as { Event: { Tag: Array<{ name: string }>; Object: Array<{ comment: string; Attribute: Array<{ comment: string }> }> } }).Event;
    expect(e.Tag).toEqual([{ name: 'tlp:amber+strict' }]);
    expect(attributeCount).toBe(e.Object.reduce((n, o) => n + o.Attribute.length, 0));
    for (const o of e.Object) {
      expect(o.comment).toMatch(/^exhibit capture [0-9a-f-]{36}; manifest sha256:[0-9a-f]{64}$/);
      for (const a of o.Attribute) expect(a.comment).toBe(o.comment);
    }
  });
});
