import { describe, expect, it } from 'vitest';
import type { Collector } from '../../../collectors/collector.js';
import { COLLECTORS, collectorById, selectCollector } from '../../../collectors/registry.js';
import { webCollector } from '../../../collectors/web.js';

describe('registry', () => {
  it('ends with web, which takes any http(s) URL', () => {
    expect(COLLECTORS[COLLECTORS.length - 1]).toBe(webCollector);
    expect(selectCollector(new URL('https://example.org/post/1')).id).toBe('web');
    expect(selectCollector(new URL('http://127.0.0.1:8080/')).id).toBe('web');
    expect(collectorById('web')).toBe(webCollector);
    expect(collectorById('nope')).toBeUndefined();
  });
  it('refuses URLs no collector handles', () => {
    for (const u of ['ftp://example.org/x', 'file:///etc/passwd', 'javascript:alert(1)', 'chrome://settings']) {
      expect(() => selectCollector(new URL(u))).toThrow(expect.objectContaining({ name: 'PermanentError', code: 'UNSUPPORTED_SCHEME' }));
    }
  });
  it('asks collectors in order, so a platform collector placed before web wins', () => {
    const platform: Collector = { ...webCollector, id: 'murmur', matches: (u) => u.hostname === 'murmur.example' };
    expect(selectCollector(new URL('https://murmur.example/@a/post/1'), [platform, webCollector]).id).toBe('murmur');
    expect(selectCollector(new URL('https://other.example/'), [platform, webCollector]).id).toBe('web');
  });
  it('web declares what it produces', () => {
    expect([...webCollector.capabilities].sort()).toEqual(['media', 'mhtml', 'page', 'screenshot', 'warc']);
  });
});
