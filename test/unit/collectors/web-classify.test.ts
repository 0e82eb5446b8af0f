import { describe, expect, it } from 'vitest';
import { classifyNavigation, failureKind } from '../../../collectors/web.js';
import { exchange } from './exchange-fixture.js';

const base = { requestedUrl: 'https://user:pw@a.example/p', navigationTimeoutMs: 5000 };

describe('classifyNavigation', () => {
  it('is null for a page that loaded with 2xx/3xx', () => {
    expect(classifyNavigation({ ...base, navError: null, final: exchange({ url: base.requestedUrl, status: 200 }) })).toBeNull();
  });
  it.each([
    [404, 'permanent'],
    [410, 'permanent'],
    [451, 'permanent'],
    [500, 'permanent'],
    [429, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
  ] as const)('HTTP %i is an HTTP_ERROR (%s)', (status, kind) => {
    const f = classifyNavigation({ ...base, navError: null, final: exchange({ url: base.requestedUrl, status, statusText: 'X' }) });
    expect(f).toMatchObject({ code: 'HTTP_ERROR', kind });
    expect(f!.message).toContain(`HTTP ${status}`);
    expect(f!.message).not.toContain('pw@');
  });
  it('names the final URL when the error came after redirects', () => {
    const f = classifyNavigation({ ...base, requestedUrl: 'http://a.example/r', navError: null, final: exchange({ url: 'http://a.example/gone', status: 404 }) });
    expect(f!.message).toContain('http://a.example/gone');
  });
  it("takes the proxy's recorded reason over Chromium's (the proxy saw the network)", () => {
    const final = exchange({ url: base.requestedUrl, status: null, error: { code: 'CONNECTION_FAILED', message: 'connecting to a.example:443 failed: ECONNREFUSED' } });
    expect(classifyNavigation({ ...base, navError: null, final })).toMatchObject({ code: 'CONNECTION_FAILED', kind: 'transient' });
    const dns = exchange({ url: base.requestedUrl, status: null, error: { code: 'DNS_FAILURE', message: 'DNS lookup of a.example failed: ENOTFOUND' } });
    expect(classifyNavigation({ ...base, navError: null, final: dns })).toMatchObject({ code: 'DNS_FAILURE', kind: 'permanent' });
    const tls = exchange({ url: base.requestedUrl, status: null, error: { code: 'TLS_ERROR', message: 'TLS handshake failed: wrong version number' } });
    expect(classifyNavigation({ ...base, navError: { name: 'Error', message: 'net::ERR_EMPTY_RESPONSE' }, final: tls })).toMatchObject({ code: 'TLS_ERROR', kind: 'permanent' });
    const blocked = exchange({ url: 'http://10.0.0.1/', status: null, error: { code: 'BLOCKED_ADDRESS', message: 'refused' } });
    expect(classifyNavigation({ ...base, navError: null, final: blocked })).toMatchObject({ code: 'BLOCKED_ADDRESS', kind: 'permanent', message: expect.stringContaining('at http://10.0.0.1/') });
  });
  it('reports a load timeout, saying whether the server had answered', () => {
    const navError = { name: 'TimeoutError', message: 'page.goto: Timeout 5000ms exceeded.' };
    expect(classifyNavigation({ ...base, navError, final: exchange({ url: base.requestedUrl, status: 200, completedAt: null }) })).toMatchObject({
      code: 'TIMEOUT',
      kind: 'transient',
      message: expect.stringContaining('answered HTTP 200 but the page never finished loading'),
    });
    expect(classifyNavigation({ ...base, navError, final: null })).toMatchObject({ code: 'TIMEOUT' });
  });
  it.each([
    ['net::ERR_NAME_NOT_RESOLVED', 'DNS_FAILURE'],
    ['net::ERR_CONNECTION_REFUSED', 'CONNECTION_FAILED'],
    ['net::ERR_TUNNEL_CONNECTION_FAILED', 'CONNECTION_FAILED'],
    ['net::ERR_CERT_AUTHORITY_INVALID', 'TLS_ERROR'],
    ['net::ERR_SSL_PROTOCOL_ERROR', 'TLS_ERROR'],
    ['net::ERR_CONNECTION_TIMED_OUT', 'TIMEOUT'],
    ['net::ERR_ABORTED', 'BROWSER_ERROR'],
  ])("maps Chromium's %s to %s when nothing was recorded", (err, code) => {
    expect(classifyNavigation({ ...base, navError: { name: 'Error', message: `page.goto: ${err} at https://a.example/p` }, final: null })).toMatchObject({ code });
  });
  it('treats a port Chromium refuses as permanent', () => {
    expect(classifyNavigation({ ...base, navError: { name: 'Error', message: 'page.goto: net::ERR_UNSAFE_PORT at http://a.example:25/' }, final: null })).toMatchObject({ code: 'CONNECTION_FAILED', kind: 'permanent' });
  });
});

describe('failureKind', () => {
  it('separates names that do not exist from resolver hiccups', () => {
    expect(failureKind('DNS_FAILURE', 'DNS lookup of x failed: ENOTFOUND')).toBe('permanent');
    expect(failureKind('DNS_FAILURE', 'DNS lookup of x failed: EAI_AGAIN')).toBe('transient');
    expect(failureKind('TOO_LARGE')).toBe('permanent');
    expect(failureKind('TIMEOUT')).toBe('transient');
  });
});
