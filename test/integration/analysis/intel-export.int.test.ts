/**
 * Intelligence exports from a real evidence store: sealed fixture captures (Arabic text, media,
 * signed and timestamped by the local TSA, custody on real Redis) → `exhibit export --format stix`
 * checked by OASIS's stix2-validator in strict mode and `--format misp` loaded by PyMISP; every
 * object traced back to its capture id and sealed manifest digest; the export on the custody log;
 * unknown captures, unknown cases and users without access to the case refused.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { readStoredEvents } from '../../../evidence/custody.js';
import { storeKeys } from '../../../evidence/store.js';
import { openServices, type Services } from '../../../workers/runtime.js';
import { createApi, type Api } from '../../../app/api/server.js';
import { TLP2_MARKING_IDS } from '../../../analysis/intel-export.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { python } from '../../support/python.js';
import { captureArtifacts, networkScenario } from '../../support/synthetic-posts.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CASE = 'case-intel-1';

/**
 * stix2-validator, strict (every warning an error) and with references enforced. One check is
 * disabled: `account-type` (244), because account-type-ov is an open vocabulary and the platform
 * (`telegram`, `mastodon`) is the right value for an account there; the validator only warns that it
 * is not one of the listed values.
 */
const VALIDATE_STIX = `
import json, sys
from stix2validator import validate_file, ValidationOptions
r = validate_file(sys.argv[1], ValidationOptions(version='2.1', strict=True, enforce_refs=True, disabled='244'))
errors = [str(e) for o in (r.object_results or []) for e in (o.errors or [])]
if getattr(r, 'fatal', None):
    errors.append(str(r.fatal))
print(json.dumps({'valid': r.is_valid, 'errors': errors}))
`;

describe('intelligence exports (STIX 2.1, MISP) from sealed captures', () => {
  let env: EvidenceEnv;
  const scenario = networkScenario();
  const ids: string[] = [];
  let webCapture = '';
  const manifestDigest = new Map<string, string>();

  const cliEnv = () => ({ ...process.env, EXHIBIT_STATE_DIR: path.join(env.dir, 'state'), EXHIBIT_STORE_DIR: path.join(env.dir, 'store'), EXHIBIT_REDIS_URL: inject('redisUrl'), EXHIBIT_REDIS_PREFIX: env.prefix, EXHIBIT_LOG_LEVEL: 'error' });
  const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'app/cli.ts', ...args], { cwd: ROOT, env: cliEnv(), maxBuffer: 64 * 1024 * 1024 });

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    const urls = ['https://t.me/news_ar/10', 'https://t.me/relay_ch/5', 'https://social.example/@layla/9001'];
    for (const [i, c] of scenario.captures.entries()) ids.push((await env.seal(CASE, { url: urls[i], extra: captureArtifacts(c) })).captureId);
    webCapture = (await env.seal(CASE, { url: 'https://example.org/page?lang=ar' })).captureId;
    for (const id of [...ids, webCapture]) manifestDigest.set(id, sha256Digest(await env.store.getBytes(storeKeys.manifest(CASE, id))));
  }, 120_000);

  afterAll(async () => {
    await env?.close();
  });

  it('STIX: a bundle stix2-validator accepts in strict mode, every object tied to its capture and manifest digest, TLP 2.0 marked', async () => {
    const out = path.join(env.dir, 'case.stix.json');
    const { stderr } = await cli(['export', CASE, '--format', 'stix', '--tlp', 'amber+strict', '-o', out, '--operator', 'analyst.intel']);
    expect(stderr).toMatch(/4 captures of case case-intel-1 written to .*STIX 2\.1 bundle, TLP:AMBER\+STRICT/);
    const verdict = JSON.parse(await python(VALIDATE_STIX, [out])) as { valid: boolean; errors: string[] };
    expect(verdict).toEqual({ valid: true, errors: [] });

    // Python reads the bundle independently: ids, markings, the evidence link on every object.
    const facts = JSON.parse(
      await python(
        `
import json, sys, uuid
b = json.load(open(sys.argv[1], encoding='utf-8'))
ext = [o['id'] for o in b['objects'] if o['type'] == 'extension-definition'][0]
out = {'types': {}, 'links': {}, 'markings': set(), 'sco_ids_ok': True, 'notes': [], 'relations': [], 'files': [], 'od': {}}
for o in b['objects']:
    out['types'][o['type']] = out['types'].get(o['type'], 0) + 1
    if o['type'] == 'marking-definition':
        out['tlp'] = [o['id'], o['name'], o['extensions']]
        continue
    out['markings'].update(o.get('object_marking_refs', []))
    if o['type'] in ('identity', 'extension-definition'):
        continue
    for c in o['extensions'][ext]['captures']:
        out['links'].setdefault(c['capture_id'], set()).add(c['manifest_sha256'])
    if o['type'] in ('url', 'domain-name'):
        expect = 'url--' if o['type'] == 'url' else 'domain-name--'
        want = expect + str(uuid.uuid5(uuid.UUID('00abedb4-aa42-466c-9c01-fed23315a9b7'), json.dumps({'value': o['value']}, separators=(',', ':'), ensure_ascii=False)))
        out['sco_ids_ok'] = out['sco_ids_ok'] and want == o['id']
    if o['type'] == 'note':
        out['notes'].append(o['content'])
    if o['type'] == 'relationship':
        out['relations'].append(o['extensions'][ext]['relation'])
    if o['type'] == 'file':
        out['files'].append(o['hashes']['SHA-256'])
    if o['type'] == 'observed-data':
        ref = o['external_references'][0]
        out['od'][ref['external_id']] = ['sha256:' + ref['hashes']['SHA-256'], len(o['object_refs'])]
out['markings'] = sorted(out['markings'])
out['links'] = {k: sorted(v) for k, v in out['links'].items()}
print(json.dumps(out, ensure_ascii=False))
`,
        [out],
      ),
    ) as { types: Record<string, number>; tlp: unknown[]; markings: string[]; links: Record<string, string[]>; sco_ids_ok: boolean; notes: string[]; relations: string[]; files: string[]; od: Record<string, [string, number]> };
    expect(facts.tlp).toEqual([TLP2_MARKING_IDS['amber+strict'], 'TLP:AMBER+STRICT', { 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: 'amber+strict' } }]);
    expect(facts.markings).toEqual([TLP2_MARKING_IDS['amber+strict']]);
    expect(facts.types['observed-data']).toBe(4);
    // Every capture is named with exactly its sealed manifest digest, never another.
    expect(facts.links).toEqual(Object.fromEntries([...manifestDigest].map(([id, d]) => [id, [d]])));
    expect(Object.fromEntries(Object.entries(facts.od).map(([id, [d]]) => [id, d]))).toEqual(Object.fromEntries(manifestDigest));
    expect(facts.sco_ids_ok).toBe(true);
    expect(facts.notes).toEqual(['بيان <عاجل> & "مهم"']);
    expect(facts.files.sort()).toEqual([scenario.photoA, scenario.photoB].map((d) => d.slice(7)).sort());
    expect(facts.relations.sort()).toEqual(['authored', 'authored', 'authored', 'authored', 'has-media', 'has-media', 'has-media', 'in-domain', 'links-to', 'mentions', 'replies-to', 'replies-to', 'reposts', 'reposts'].sort());

    // The export is a read of evidence on the custody log, naming the file's digest and the captures.
    const bytes = await readFile(out);
    const exported = (await readStoredEvents(env.store, CASE)).map((e) => e.event).filter((e) => e.action === 'exported');
    expect(exported.at(-1)).toMatchObject({ actor: { type: 'operator', id: 'analyst.intel' }, subject: { digests: [sha256Digest(bytes)] }, details: { via: 'cli', format: 'stix', tlp: 'amber+strict', captureIds: [...manifestDigest.keys()].sort() } });

    // Deterministic: the same export again gives the same bytes.
    const again = path.join(env.dir, 'again.stix.json');
    await cli(['export', CASE, '--format', 'stix', '--tlp', 'amber+strict', '-o', again]);
    expect((await readFile(again)).equals(bytes)).toBe(true);
  });

  it('STIX: the validator is strict enough to refuse a wrong property', async () => {
    const out = path.join(env.dir, 'case.stix.json');
    const bundle = JSON.parse(await readFile(out, 'utf8')) as { objects: Array<Record<string, unknown>> };
    const mutations: Array<[string, (b: typeof bundle) => void]> = [
      ['number_observed of 0', (b) => void (b.objects.find((o) => o.type === 'observed-data')!.number_observed = 0)],
      ['a hash algorithm spelled wrong', (b) => void (b.objects.find((o) => o.type === 'file')!.hashes = { sha256: scenario.photoA.slice(7) })],
      ['a relationship to an object not in the bundle', (b) => void (b.objects.find((o) => o.type === 'relationship')!.target_ref = 'user-account--6b3f2a40-1c1e-5f7a-9d2e-3a4b5c6d7e8f')],
      ['a custom property outside the extension', (b) => void (b.objects.find((o) => o.type === 'url')!.x_exhibit_capture = 'x')],
    ];
    for (const [what, mutate] of mutations) {
      const copy = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
      mutate(copy);
      const file = path.join(env.dir, 'mutated.json');
      await writeFile(file, JSON.stringify(copy));
      const verdict = JSON.parse(await python(VALIDATE_STIX, [file])) as { valid: boolean; errors: string[] };
      expect(verdict.valid, what).toBe(false);
      expect(verdict.errors.length, what).toBeGreaterThan(0);
    }
  });

  it('MISP: a selection as one event PyMISP loads, with the expected attributes, template relations, TLP tag and evidence link on each', async () => {
    const out = path.join(env.dir, 'sel.misp.json');
    await cli(['export', CASE, '--format', 'misp', '--capture', ids[0]!, '--capture', ids[2]!, '-o', out]);
    const facts = JSON.parse(
      await python(
        `
import json, sys
from pymisp import MISPEvent, MISPObject, MISPAttribute
e = MISPEvent()
e.load(open(sys.argv[1], encoding='utf-8').read())
types = MISPAttribute().describe_types
comments, bad_relations, bad_categories, count = set(), [], [], len(e.attributes)
for o in e.objects:
    tpl = MISPObject(o.name, strict=True)
    comments.add(o.comment)
    for a in o.attributes:
        count += 1
        comments.add(a.comment)
        try:
            tpl.add_attribute(a.object_relation, value=a.value)
        except Exception as x:
            bad_relations.append(o.name + '.' + a.object_relation)
        if a.category not in types['categories'] or a.type not in types['category_type_mappings'][a.category]:
            bad_categories.append(a.type + '/' + str(a.category))
posts = [a.value for o in e.objects if o.name == 'microblog' for a in o.attributes if a.object_relation == 'post']
print(json.dumps({'count': count, 'tags': [t.name for t in e.tags], 'objects': sorted(o.name for o in e.objects), 'comments': sorted(comments), 'bad_relations': bad_relations, 'bad_categories': bad_categories, 'posts': posts, 'sha256': sorted(a.value for o in e.objects for a in o.attributes if a.type == 'sha256')}, ensure_ascii=False))
`,
        [out],
      ),
    ) as { count: number; tags: string[]; objects: string[]; comments: string[]; bad_relations: string[]; bad_categories: string[]; posts: string[]; sha256: string[] };
    // Capture 1 (Telegram): 2 url objects (requested and final URL) × url, domain, host = 6; its
    // author's user-account = 4 (username, user-id, display-name, account-type); its photo's file =
    // 3; its microblog = 8 (post, username, display-name, link, creation-date, type, hashtag,
    // embedded-link). Capture 3 (Mastodon thread): url 6; two authors 4 + 4; one file 3; the main
    // post's microblog 7 (no text; a hashtag and a mention), the reply's 5. 21 + 29 = 50.
    expect(facts.count).toBe(50);
    expect(facts.tags).toEqual(['tlp:amber']);
    expect(facts.objects).toEqual(['file', 'file', 'microblog', 'microblog', 'microblog', 'url', 'url', 'url', 'url', 'user-account', 'user-account', 'user-account']);
    expect(facts.bad_relations).toEqual([]);
    expect(facts.bad_categories).toEqual([]);
    expect(facts.posts).toEqual(['بيان <عاجل> & "مهم"']);
    expect(facts.sha256).toEqual([scenario.photoA, scenario.photoB].map((d) => d.slice(7)).sort());
    // Every object and attribute names its capture and that capture's manifest digest; only the selection.
    expect(facts.comments).toEqual([ids[0]!, ids[2]!].map((id) => `exhibit capture ${id}; manifest ${manifestDigest.get(id)}`).sort());
  });

  it('refuses a capture id that is not sealed in the case, and a case without captures, recording nothing', async () => {
    const before = (await readStoredEvents(env.store, CASE)).length;
    const unknown = '01900000-0000-7000-8000-000000000000';
    await expect(cli(['export', CASE, '--format', 'stix', '--capture', ids[0]!, '--capture', unknown])).rejects.toMatchObject({ code: 6, stderr: expect.stringContaining(`no sealed capture ${unknown} in case ${CASE}`) });
    await expect(cli(['export', CASE, '--format', 'misp', '--capture', '../../etc/passwd'])).rejects.toMatchObject({ code: 6, stderr: expect.stringContaining('no sealed capture ../../etc/passwd') });
    await expect(cli(['export', 'case-nobody', '--format', 'misp'])).rejects.toMatchObject({ code: 6, stderr: expect.stringContaining('no sealed captures in case case-nobody') });
    await expect(cli(['export', CASE, '--format', 'stix', '--tlp', 'white'])).rejects.toMatchObject({ code: expect.any(Number) });
    expect((await readStoredEvents(env.store, CASE)).length).toBe(before);
  });

  describe('through the API', () => {
    let s: Services;
    let api: Api;
    const tokens: Record<string, string> = {};
    const get = (user: string, url: string) => Promise.resolve(api.app.request(url, { headers: { Authorization: `Bearer ${tokens[user]}` } }));

    beforeAll(async () => {
      const config = loadConfig({ env: { ...cliEnv(), EXHIBIT_TSA_URLS: env.tsa.url, EXHIBIT_TSA_CA_FILES: env.tsa.caCertPath } });
      s = await openServices(config, createLogger('error'));
      api = createApi(s);
      for (const [name, role, cases] of [['analyst-intel', 'analyst', [CASE]], ['analyst-other', 'analyst', ['case-other']], ['auditor-intel', 'auditor', [CASE]]] as const) {
        await api.deps.users.add(name, role, [...cases], 'test');
        tokens[name] = (await api.deps.users.issueToken(name)).token;
      }
    }, 60_000);

    afterAll(async () => {
      await api?.close();
      await s?.close();
    });

    it('exports a selection as STIX with the digest header and a downloaded custody event; refuses users who cannot read the case and unknown captures', async () => {
      const res = await get('analyst-intel', `/api/cases/${CASE}/export?format=stix&tlp=red&capture=${ids[1]}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/stix+json;version=2.1');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(res.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha256Digest(bytes).slice(7), 'hex').toString('base64')}:`);
      const bundle = JSON.parse(bytes.toString('utf8')) as { objects: Array<{ type: string; object_marking_refs?: string[]; external_references?: Array<{ external_id: string }> }> };
      expect(bundle.objects.filter((o) => o.type === 'observed-data').map((o) => o.external_references![0]!.external_id)).toEqual([ids[1]]);
      expect(new Set(bundle.objects.flatMap((o) => o.object_marking_refs ?? []))).toEqual(new Set([TLP2_MARKING_IDS.red]));
      const file = path.join(env.dir, 'api.stix.json');
      await writeFile(file, bytes);
      expect(JSON.parse(await python(VALIDATE_STIX, [file]))).toEqual({ valid: true, errors: [] });
      const log = (await s.custody.readLog(CASE)).map((e) => e.event);
      expect(log.at(-1)).toMatchObject({ action: 'downloaded', actor: { id: 'analyst-intel' }, subject: { digests: [sha256Digest(bytes)] }, details: { view: 'export', format: 'stix', tlp: 'red', captureIds: [ids[1]] } });

      const before = log.length;
      expect((await get('analyst-other', `/api/cases/${CASE}/export?format=stix`)).status).toBe(404);
      expect((await get('auditor-intel', `/api/cases/${CASE}/export?format=misp`)).status).toBe(403);
      expect((await get('analyst-intel', `/api/cases/${CASE}/export?format=misp&capture=01900000-0000-7000-8000-000000000000`)).status).toBe(404);
      expect((await get('analyst-intel', `/api/cases/${CASE}/export?format=stix&tlp=white`)).status).toBe(400);
      expect((await get('analyst-intel', `/api/cases/${CASE}/export?format=csv&capture=${ids[1]}`)).status).toBe(400);
      expect((await s.custody.readLog(CASE)).length).toBe(before);

      // The API description names the new query parameters.
      const doc = (await (await api.app.request('/openapi.json')).json()) as { paths: Record<string, { get: { parameters: Array<{ name: string; schema: { enum?: string[] } }> } }> };
      const params = doc.paths['/api/cases/{caseId}/export']!.get.parameters;
      expect(params.find((p) => p.name === 'format')!.schema.enum).toEqual(['csv', 'xlsx', 'stix', 'misp']);
      expect(params.find((p) => p.name === 'tlp')!.schema.enum).toEqual(['clear', 'green', 'amber', 'amber+strict', 'red']);
    });
  });
});
