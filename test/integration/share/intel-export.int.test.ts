import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mispEvent, stixBundle, type IntelCapture } from '../../../analysis/intel-export.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { python } from '../../support/python.js';

/** The exports, checked by independent tools from PyPI: stix2-validator (STIX 2.1) and pymisp (MISP core format). */
describe('intelligence exports pass the independent validators', () => {
  let env: EvidenceEnv;
  let caps: IntelCapture[];
  const opts = { caseId: 'C-INTEL-1', organization: 'Agency A', tlp: 'amber+strict' as const, now: new Date().toISOString() };

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    caps = [];
    for (const url of ['https://social.example/@someone/1', 'https://other.example/page']) {
      const c = await env.seal(opts.caseId, { url });
      caps.push({ manifest: c.manifest, manifestDigest: c.manifestDigest });
    }
  });
  afterAll(async () => env?.close());

  it('STIX 2.1: stix2-validator finds no error; every capture id and manifest digest is in it; TLP 2.0 marking applied', async () => {
    const bundle = stixBundle(caps, opts);
    const out = await python(
      `import sys, json
from stix2validator import validate_string, ValidationOptions
r = validate_string(sys.argv[1], ValidationOptions(version="2.1"))
results = r if isinstance(r, list) else [r]
print(json.dumps({"valid": all(x.is_valid for x in results), "errors": [str(e) for x in results for e in (x.errors or [])]}))`,
      [JSON.stringify(bundle)],
    );
    const res = JSON.parse(out) as { valid: boolean; errors: string[] };
    expect(res.errors).toEqual([]);
    expect(res.valid).toBe(true);
    const text = JSON.stringify(bundle);
    for (const c of caps) {
      expect(text).toContain(c.manifest.captureId);
      expect(text).toContain(c.manifestDigest.replace('sha256:', ''));
    }
    expect(text).toContain('"tlp_2_0":"amber+strict"');
    // The validator does catch a broken bundle: observed-data without number_observed.
    const broken = JSON.parse(text) as { objects: Array<Record<string, unknown>> };
    delete broken.objects.find((x) => x.type === 'observed-data')!.number_observed;
    const bad = JSON.parse(await python(`import sys, json
from stix2validator import validate_string, ValidationOptions
r = validate_string(sys.argv[1], ValidationOptions(version="2.1"))
print(json.dumps(r.is_valid))`, [JSON.stringify(broken)])) as boolean;
    expect(bad).toBe(false);
  });

  it('MISP: pymisp loads the event with its url objects, hashes and TLP tag', async () => {
    const event = mispEvent(caps, opts);
    const out = await python(
      `import sys, json
from pymisp import MISPEvent
e = MISPEvent()
e.load(sys.argv[1])
print(json.dumps({"info": e.info, "tags": [t.name for t in e.tags], "objects": [[o.name, [a.value for a in o.attributes]] for o in e.objects], "sha256": [a.value for a in e.attributes if a.type == "sha256"], "comments": [a.comment for a in e.attributes]}))`,
      [JSON.stringify(event)],
    );
    const res = JSON.parse(out) as { info: string; tags: string[]; objects: Array<[string, string[]]>; sha256: string[]; comments: string[] };
    expect(res.info).toBe('Exhibit case C-INTEL-1');
    expect(res.tags).toEqual(['tlp:amber+strict']);
    expect(res.objects.map((o) => o[0])).toEqual(['url', 'url']);
    expect(res.objects[0]![1][0]).toContain('social.example');
    for (const c of caps) {
      expect(res.sha256).toContain(c.manifestDigest.replace('sha256:', ''));
      expect(res.comments.some((x) => x.includes(c.manifest.captureId))).toBe(true);
    }
  });
});
