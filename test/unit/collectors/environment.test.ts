import { describe, expect, it } from 'vitest';
import { buildEnvironment, fetchEgressIp, localAddresses, parseEgressResponse, playwrightVersion } from '../../../collectors/browser/environment.js';
import { CaptureEnvironment } from '../../../schemas/capture.js';

describe('parseEgressResponse', () => {
  it.each([
    ['203.0.113.9\n', '203.0.113.9'],
    ['{"ip":"2001:db8::1"}', '2001:db8::1'],
    ['{"origin":"198.51.100.2, 10.0.0.1"}', '198.51.100.2'],
    ['  {"query": "192.0.2.44", "status": "success"} ', '192.0.2.44'],
  ])('reads %j', (body, ip) => {
    expect(parseEgressResponse(body)).toEqual({ ip });
  });
  it.each([
    ['<html>Your IP is 1.2.3.4</html>', /not an IP address/],
    ['{"ip":', /not valid JSON/],
    ['{"address":null}', /no "ip" field/],
    ['{"ip":"999.1.1.1"}', /not an IP address/],
    ['', /not an IP address/],
  ])('rejects %j', (body, why) => {
    const r = parseEgressResponse(body);
    expect('error' in r && r.error).toMatch(why);
  });
});

describe('localAddresses', () => {
  it('lists external addresses first and marks loopback ones', () => {
    const list = localAddresses({
      lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
      eth0: [
        { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
        { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
      ],
    });
    expect(list).toEqual(['eth0 192.0.2.2/24', 'eth0 fe80::1/64', 'lo 127.0.0.1/8 (loopback)']);
  });
});

describe('fetchEgressIp', () => {
  it('records egress as unknown when no endpoint is configured', async () => {
    expect(await fetchEgressIp(null, { upstreamProxy: null })).toEqual({ ip: null, source: null, error: 'no egress echo endpoint configured' });
  });
  it('never throws on a malformed endpoint URL', async () => {
    const r = await fetchEgressIp('not a url', { upstreamProxy: null, timeoutMs: 100 });
    expect(r.ip).toBeNull();
    expect(r.error).toMatch(/unreachable/);
  });
});

describe('buildEnvironment', () => {
  it('produces a schema-valid record with redacted proxy credentials', () => {
    const env = buildEnvironment({
      software: { exhibitVersion: '0.1.0', gitCommit: 'abc123' },
      collector: { id: 'web', version: '1.0.0' },
      browserVersion: '156.0.0.0',
      userAgent: 'UA',
      viewport: { width: 1280, height: 900 },
      locale: 'en-GB',
      timezone: 'UTC',
      operator: 'analyst-01',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:05.000Z',
      upstreamProxy: 'http://user:secret@proxy.example:3128',
      egress: { ip: '203.0.113.9', source: 'https://echo.example/ip', error: null },
      captureMethod: 'playwright-chromium+recording-proxy',
    });
    expect(CaptureEnvironment.parse(env)).toEqual(env);
    expect(env.network.proxy).toBe('http://***:***@proxy.example:3128/');
    expect(JSON.stringify(env)).not.toContain('secret');
    expect(env.playwrightVersion).toBe(playwrightVersion());
    expect(env.playwrightVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(env.nodeVersion).toBe(process.version);
  });
});
