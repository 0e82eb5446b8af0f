import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCollectorDocs } from '../../../app/collector-docs.js';
import { collectorOverrides, parseOptionValue, rewriteCollectorFlags } from '../../../app/collector-options.js';
import { configureCollectors } from '../../../collectors/registry.js';
import { loadConfig } from '../../../lib/config.js';

describe('--collectors.<id>.<opt> and --collector-option', () => {
  it('rewrites the dotted form (space or =) into --collector-option, leaving everything else and anything after -- alone', () => {
    expect(rewriteCollectorFlags(['node', 'cli', 'capture', 'u', '--collectors.mastodon.hosts', '["a:1"]', '--case', 'C', '--collectors.x.syndication=http://s:2', '--', '--collectors.y.z', '1'])).toEqual([
      'node', 'cli', 'capture', 'u', '--collector-option', 'mastodon.hosts=["a:1"]', '--case', 'C', '--collector-option', 'x.syndication=http://s:2', '--', '--collectors.y.z', '1',
    ]);
    expect(() => rewriteCollectorFlags(['--collectors.mastodon.hosts'])).toThrow(/missing value/);
  });

  it('parses values as JSON when they parse, else as strings', () => {
    expect(parseOptionValue('true')).toBe(true);
    expect(parseOptionValue('3')).toBe(3);
    expect(parseOptionValue('["a","b"]')).toEqual(['a', 'b']);
    expect(parseOptionValue('http://x.example')).toBe('http://x.example');
    expect(parseOptionValue('[broken')).toBe('[broken');
  });

  it('folds flags into a collectors tree; later flags win; malformed specs are INVALID_CONFIG', () => {
    expect(collectorOverrides(['mastodon.hosts=["a"]', 'mastodon.activityPub=false', 'x.syndication=http://s', 'mastodon.hosts=["b"]', 'generic.deep.key=1'])).toEqual({
      mastodon: { hosts: ['b'], activityPub: false },
      x: { syndication: 'http://s' },
      generic: { deep: { key: 1 } },
    });
    for (const bad of ['mastodon', 'mastodon=1', '.hosts=1', 'mastodon.=1', '__proto__.polluted=1', 'mastodon.__proto__=1']) {
      expect(() => collectorOverrides([bad]), bad).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('precedence: CLI > EXHIBIT_COLLECTORS > YAML, merged per option; the registry validates the result', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-copts-'));
    try {
      const yaml = path.join(dir, 'exhibit.yaml');
      writeFileSync(yaml, 'collectors:\n  mastodon:\n    hosts: ["yaml.example"]\n    activityPub: false\n  x:\n    hosts: ["x-yaml.example"]\n');
      const env = { EXHIBIT_COLLECTORS: JSON.stringify({ mastodon: { hosts: ['env.example'] }, telegram: { hosts: ['t-env.example'] } }) };
      const c = loadConfig({ file: yaml, env, overrides: { collectors: collectorOverrides(['mastodon.hosts=["cli.example"]']) } });
      expect(c.collectors).toEqual({ mastodon: { hosts: ['cli.example'], activityPub: false }, x: { hosts: ['x-yaml.example'] }, telegram: { hosts: ['t-env.example'] } });
      const mastodon = configureCollectors(c.collectors).find((x) => x.id === 'mastodon')!;
      expect(mastodon.matches(new URL('https://cli.example/@a/1'))).toBe(true);
      expect(mastodon.matches(new URL('https://yaml.example/@a/1'))).toBe(false);
      expect(() => loadConfig({ file: yaml, env: { EXHIBIT_COLLECTORS: '{nope' } })).toThrow(/EXHIBIT_COLLECTORS: expected a JSON object, got invalid JSON/);
      expect(() => loadConfig({ file: yaml, env: { EXHIBIT_COLLECTORS: '["a"]' } })).toThrow(/EXHIBIT_COLLECTORS: expected a JSON object/);
      expect(() => configureCollectors(collectorOverrides(['mastodon.hosts=notalist']))).toThrow(/collectors\.mastodon: hosts/);
      expect(() => configureCollectors(collectorOverrides(['nosuch.opt=1']))).toThrow(/collectors\.nosuch: no collector has this id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/collectors.md', () => {
  it('matches the collectors\' configSchemas (run npm run docs:cli when this fails)', () => {
    expect(readFileSync(path.resolve('docs/collectors.md'), 'utf8')).toBe(renderCollectorDocs());
  });
  it('documents every option of every collector with its default and description', () => {
    const md = renderCollectorDocs();
    expect(md).toContain('| `collectors.mastodon.hosts` | string[] |');
    expect(md).toMatch(/\| `collectors\.mastodon\.activityPub` \| boolean \| `true` \| Also fetch the ActivityPub representation of the status\. \|/);
    expect(md).toMatch(/## `web` \(version [\d.]+\)\n\nCapabilities: [^\n]+\n\nNo options\./);
    expect(md).toContain('may show what a logged-out visitor cannot in these states: `login-wall`');
    for (const line of md.split('\n').filter((l) => l.startsWith('| `collectors.'))) expect(line, line).not.toMatch(/\|\s*\|$/);
  });
});
