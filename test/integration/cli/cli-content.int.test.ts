import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { FsStore } from '../../../evidence/fs-store.js';
import { storeKeys } from '../../../evidence/store.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMastodonFixture } from '../../fixtures/mastodon/server.js';
import { startTelegramFixture } from '../../fixtures/telegram/server.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { exhibit, jsonLogLines, plainLines, startCliEnv, type CliEnv } from '../../support/cli.js';
import type { LocalTsa } from '../../support/tsa.js';

const RLI = '\u2067';
const PDI = '\u2069';

describe('the CLI shows content first: list, show, cases; quiet on a terminal', () => {
  let mastodon: FixtureSite;
  let telegram: FixtureSite;
  let sample: SampleSite;
  let cli: CliEnv;
  let tsa: LocalTsa;
  let stateDir: string;
  let env: Record<string, string>;
  const ids: Record<string, string> = {};

  const capture = async (url: string, caseId: string): Promise<string> => {
    const r = await exhibit(['capture', url, '--case', caseId, '--operator', 'analyst-01', '--allow-private-network', '--wait', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { captures: Array<{ captureId: string }> }).captures[0]!.captureId;
  };

  beforeAll(async () => {
    [mastodon, telegram, sample, cli] = await Promise.all([startMastodonFixture(), startTelegramFixture(), startSampleSite(), startCliEnv('cli-content')]);
    ({ tsa, stateDir, env } = cli);
    const yaml = path.join(stateDir, 'exhibit.yaml');
    writeFileSync(yaml, `collectors:\n  mastodon:\n    hosts: ["${mastodon.host}"]\n  telegram:\n    hosts: ["${telegram.host}"]\n`);
    env.EXHIBIT_CONFIG = yaml;
    ids.arabic = await capture(`${mastodon.url}/@layla/1100`, 'C-CONTENT-1');
    ids.channel = await capture(`${telegram.url}/s/sahel_news`, 'C-CONTENT-1');
    ids.page = await capture(`${sample.url}/post/1`, 'C-CONTENT-2');
  });

  afterAll(async () => {
    await cli?.close();
    await Promise.all([mastodon?.close(), telegram?.close(), sample?.close()]);
  });

  it('show prints the Arabic post: author, text in its direction, the post language (not the page one), published and capture time', async () => {
    const r = await exhibit(['show', ids.arabic!], env);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(/Platform +mastodon/);
    expect(text).toMatch(/Visibility +visible/);
    expect(text).toContain('ليلى حداد Layla');
    expect(text).toContain('@layla');
    expect(text).toContain(`${RLI}انقطاع الكهرباء مستمر في حلب منذ الصباح`);
    expect(text).toContain(PDI);
    expect(text).toContain('[lang=ar (stated by the platform), dir=rtl (detected from the text)]');
    expect(text).not.toMatch(/\[lang=en, dir=ltr\]/);
    expect(text).toMatch(/Published +2024-03-14T10:21:07\.000Z/);
    expect(text).toMatch(/Captured +\d{4}-\d\d-\d\dT/);
    // Artifacts: every original before the first derived one.
    const roles = plainLines(text.slice(text.indexOf('Artifacts'))).filter((l) => /^ {4}\S/.test(l));
    const firstDerived = roles.findIndex((l) => l.includes('derived from'));
    if (firstDerived >= 0) expect(roles.slice(firstDerived).every((l) => l.includes('derived from'))).toBe(true);
  });

  it('list prints author, text, platform, published time; a channel capture lists its posts; filters and sort apply', async () => {
    const r = await exhibit(['list', '--case', 'C-CONTENT-1'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ليلى حداد Layla');
    expect(r.stdout).toContain('انقطاع الكهرباء');
    expect(r.stdout).toMatch(/published 2024-03-14T10:21:07\.000Z/);
    expect(r.stdout).toMatch(/mastodon +visible +sealed/);
    expect(r.stdout).toMatch(/telegram +visible +sealed/);
    expect(r.stdout).toMatch(/\d+ posts:/);
    expect(r.stdout).toContain('گزارش امروز از بازار تهران');
    expect(r.stdout).not.toMatch(/page failed|NOT_VISIBLE/);

    const json = JSON.parse((await exhibit(['list', '--case', 'C-CONTENT-1', '--json', '--sort', 'platform'], env)).stdout) as Array<{ captureId: string; platform: string; author: { handle: string } | null; posts: Array<{ text: string }> }>;
    expect(json.map((x) => x.platform)).toEqual(['mastodon', 'telegram']);
    // Federated handles are fully qualified with the account's server (here the fixture's host:port).
    expect(json[0]!.author?.handle).toBe(`layla@${new URL(mastodon.url).host}`);
    expect(json[1]!.posts.length).toBeGreaterThanOrEqual(2);

    const byPlatform = JSON.parse((await exhibit(['list', '--case', 'C-CONTENT-1', '--platform', 'telegram', '--json'], env)).stdout) as Array<{ captureId: string }>;
    expect(byPlatform.map((x) => x.captureId)).toEqual([ids.channel]);
    const byAuthor = JSON.parse((await exhibit(['list', '--case', 'C-CONTENT-1', '--author', '@LAYLA', '--json'], env)).stdout) as Array<{ captureId: string }>;
    expect(byAuthor.map((x) => x.captureId)).toEqual([ids.arabic]);
    const none = await exhibit(['list', '--case', 'C-CONTENT-1', '--status', 'login-wall'], env);
    expect(none.code).toBe(6);
    expect(none.stdout).toContain('no capture of case C-CONTENT-1 matches the filters (2 in the case)');
    expect((await exhibit(['list', '--case', 'C-CONTENT-1', '--until', '2000-01-01'], env)).code).toBe(6);
    expect((await exhibit(['list', '--case', 'C-CONTENT-1', '--since', 'yesterday-ish'], env)).code).toBe(4);
    expect((await exhibit(['list', '--case', 'C-CONTENT-1', '--status', 'fine'], env)).code).toBe(4);
  });

  it('the command-line operator is recorded as such: the name given, the OS user and host, in the manifest and the custody actor', async () => {
    const me = { kind: 'cli', name: 'analyst-01', osUser: os.userInfo().username, host: os.hostname() };
    const manifest = JSON.parse((await exhibit(['show', ids.arabic!, '--json'], env)).stdout) as { request: { requestedBy: string; operator?: unknown } };
    expect(manifest.request.requestedBy).toBe('analyst-01');
    expect(manifest.request.operator).toEqual(me);
    expect((await exhibit(['show', ids.arabic!], env)).stdout).toContain(`analyst-01 (command line: OS user ${me.osUser} on ${me.host})`);
    const zip = path.join(stateDir, 'c2.zip');
    expect((await exhibit(['package', 'C-CONTENT-2', '-o', zip, '--operator', 'prosecutor-01', '--json'], env)).code).toBe(0);
    // The new fields are covered by the signatures and hashes: the package verifies offline.
    const verified = await exhibit(['verify', zip, '--tsa-ca', tsa.caCertPath], env);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const store = await FsStore.open(path.join(stateDir, 'store'));
    const actors = [];
    for (const k of (await store.list(storeKeys.custody('C-CONTENT-2'))).filter((x) => /\/\d+\.json$/.test(x))) {
      const e = JSON.parse((await store.getBytes(k)).toString('utf8')) as { action: string; actor: Record<string, string> };
      actors.push([e.action, e.actor] as const);
    }
    expect(actors.find(([a]) => a === 'request-submitted')?.[1]).toMatchObject({ type: 'operator', id: 'analyst-01', osUser: me.osUser, host: me.host });
    expect(actors.find(([a]) => a === 'packaged')?.[1]).toMatchObject({ type: 'operator', id: 'prosecutor-01', osUser: me.osUser, host: me.host });
  });

  it('cases lists every case with captures, sealed, failed and the last capture time', async () => {
    const r = await exhibit(['cases', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ caseId: string; captures: number; sealed: number; failed: number; lastCaptureAt: string }>;
    expect(rows.map((x) => [x.caseId, x.captures, x.sealed, x.failed])).toEqual([
      ['C-CONTENT-1', 2, 2, 0],
      ['C-CONTENT-2', 1, 1, 0],
    ]);
    expect(rows[0]!.lastCaptureAt).toMatch(/Z$/);
    const human = await exhibit(['cases'], env);
    expect(human.stdout).toMatch(/C-CONTENT-1 +2 +2 +0 +\d{4}-/);
  });

  it('on a terminal no raw JSON log line appears, neither from a capture nor from a worker; with --log-format json they do, once per key', async () => {
    const cap = await exhibit(['capture', `${sample.url}/post/1`, '--case', 'C-CONTENT-3', '--operator', 'analyst-01', '--allow-private-network', '--wait'], env, { tty: true });
    expect(cap.code, cap.stdout).toBe(0);
    expect(jsonLogLines(cap.stdout + cap.stderr)).toEqual([]);
    expect(cap.stdout).toMatch(/sealed/);

    const worker = await exhibit(['worker'], { ...env, EXHIBIT_LOG_LEVEL: 'info' }, { tty: true, until: /workers started/, timeoutMs: 60_000 });
    expect(worker.stdout).toMatch(/info worker: workers started/);
    expect(jsonLogLines(worker.stdout + worker.stderr)).toEqual([]);

    // serve says where it serves once: a human line on a terminal, one JSON record off it.
    for (const tty of [true, false]) {
      const serve = await exhibit(['serve', '--port', '0'], env, { tty, until: /serving the API/, timeoutMs: 60_000 });
      const said = plainLines(serve.stdout + serve.stderr).filter((l) => l.includes('serving the API'));
      expect(said, serve.stdout + serve.stderr).toHaveLength(1);
      if (tty) expect(jsonLogLines(serve.stdout)).toEqual([]);
      else expect(JSON.parse(said[0]!)).toMatchObject({ context: 'api' });
    }

    const asked = await exhibit(['--log-format', 'json', 'worker'], { ...env, EXHIBIT_LOG_LEVEL: 'info' }, { tty: true, until: /workers started/, timeoutMs: 60_000 });
    const lines = jsonLogLines(asked.stdout);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect([...l.matchAll(/"context":/g)].length).toBeLessThanOrEqual(1);
  });

  it('off a terminal, package progress prints stage changes, not a line per packaged file', async () => {
    const out = path.join(stateDir, 'c1.zip');
    const r = await exhibit(['package', 'C-CONTENT-1', '-o', out, '--operator', 'prosecutor-01'], env);
    expect(r.code, r.stderr).toBe(0);
    const progress = plainLines(r.stderr).filter((l) => l.startsWith('C-CONTENT-1'));
    expect(progress.length).toBeGreaterThan(0);
    // Each line a new stage: no file names, no stage twice in a row.
    for (const l of progress) expect(l).not.toMatch(/\.(json|warc|png|jpg|pdf|html)/);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).not.toBe(progress[i - 1]);
  });
});
