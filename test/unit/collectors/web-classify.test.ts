import { describe, expect, it } from 'vitest';
import { classifyNavigation, failureKind, refusedNavigation } from '../../../collectors/web.js';
import { exchange } from '../../support/recorded.js';

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
    // The target passed the policy before the browser started: a blocked end is a redirect's.
    expect(classifyNavigation({ ...base, navError: null, final: blocked })).toMatchObject({ code: 'NAVIGATION_BLOCKED', kind: 'permanent', message: expect.stringContaining('redirected to http://10.0.0.1/') });
    const rebound = exchange({ url: base.requestedUrl, status: null, error: { code: 'BLOCKED_ADDRESS', message: 'refused' } });
    expect(classifyNavigation({ ...base, navError: null, final: rebound })).toMatchObject({ code: 'BLOCKED_ADDRESS', kind: 'permanent' });
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

describe('refusedNavigation', () => {
  const page = exchange({ url: 'https://a.example/p', status: 200 });
  const refused = exchange({ url: 'http://10.0.0.1/x', status: null, error: { code: 'BLOCKED_ADDRESS', message: 'refused' } });
  const failed = exchange({ url: 'https://gone.example/', status: null, error: { code: 'CONNECTION_FAILED', message: 'ECONNREFUSED' } });
  const nav = (url: string, method = 'GET') => ({ url, method });

  it('finds a later main-frame navigation the policy refused, whatever the browser shows', () => {
    const r = refusedNavigation([nav('https://a.example/p'), nav('http://10.0.0.1/x#frag')], [page, refused], 'https://a.example/p');
    expect(r?.exchange.id).toBe(refused.id);
  });
  it('counts another failed navigation only once the browser shows it (a cancelled one leaves the page)', () => {
    const navs = [nav('https://a.example/p'), nav('https://gone.example/')];
    expect(refusedNavigation(navs, [page, failed], 'https://a.example/p')).toBeNull();
    expect(refusedNavigation(navs, [page, failed], 'https://gone.example/')?.exchange.id).toBe(failed.id);
  });
  it('is null when the page stayed, or the last navigation was served, or the method differs', () => {
    expect(refusedNavigation([nav('https://a.example/p')], [page], 'https://a.example/p')).toBeNull();
    expect(refusedNavigation([], [refused], 'http://10.0.0.1/x')).toBeNull();
    expect(refusedNavigation([nav('http://10.0.0.1/x', 'POST')], [page, refused], 'http://10.0.0.1/x')).toBeNull();
  });
});
