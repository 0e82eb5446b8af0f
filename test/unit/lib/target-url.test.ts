import { describe, expect, it } from 'vitest';
import type { PermanentError } from '../../../lib/errors.js';
import { parseTargetUrl, redactUrl } from '../../../lib/target-url.js';
import { CaptureRequest } from '../../../schemas/capture.js';
import { LegalBasis } from '../../../schemas/common.js';
import { TargetUrl, targetUrlIssueCode } from '../../../schemas/target-url.js';
import { Watch, WatchInput } from '../../../schemas/watch.js';

function thrown(fn: () => unknown): { name: string; code: string; message: string } {
  try {
    fn();
  } catch (err) {
    const e = err as PermanentError;
    return { name: e.name, code: e.code, message: e.message };
  }
  throw new Error('expected a throw');
}

describe('parseTargetUrl', () => {
  it('accepts http and https URLs', () => {
    expect(parseTargetUrl('https://example.org/post/1?x=1').href).toBe('https://example.org/post/1?x=1');
    expect(parseTargetUrl('  http://EXAMPLE.org:8080/a  ').host).toBe('example.org:8080');
    expect(parseTargetUrl('http://[2001:db8::1]/').hostname).toBe('[2001:db8::1]');
  });

  it.each([
    ['file:///etc/passwd', 'file:'],
    ['javascript:alert(1)', 'javascript:'],
    ['data:text/html,<b>x</b>', 'data:'],
    ['chrome://settings', 'chrome:'],
    ['ftp://example.org/file', 'ftp:'],
    ['about:blank', 'about:'],
    ['blob:https://example.org/1234', 'blob:'],
    ['ws://example.org/socket', 'ws:'],
  ])('refuses %s as UNSUPPORTED_SCHEME naming %s', (input, scheme) => {
    const e = thrown(() => parseTargetUrl(input));
    expect(e.name).toBe('PermanentError');
    expect(e.code).toBe('UNSUPPORTED_SCHEME');
    expect(e.message).toContain(`"${scheme}"`);
    expect(e.message).toContain(JSON.stringify(input));
  });

  it.each(['', '   ', 'not a url', 'example.org/no-scheme', 'http://', 'https://:443/', 'http://exa mple.org/', 'http://example.org:99999/', 'http://example.org:0/', 'http://[::1/'])(
    'refuses %j as INVALID_URL and quotes it',
    (input) => {
      const e = thrown(() => parseTargetUrl(input));
      expect(e.name).toBe('PermanentError');
      expect(e.code).toBe('INVALID_URL');
      if (input.trim() !== '') expect(e.message).toContain(JSON.stringify(input));
    },
  );

  it('truncates very long input in the message', () => {
    const input = `http://exa mple.org/${'a'.repeat(5000)}`;
    const e = thrown(() => parseTargetUrl(input));
    expect(e.code).toBe('INVALID_URL');
    expect(e.message.length).toBeLessThan(400);
  });

  it('refuses input longer than 8192 characters', () => {
    expect(thrown(() => parseTargetUrl(`https://example.org/${'a'.repeat(9000)}`)).code).toBe('INVALID_URL');
  });

  it('never echoes credentials written without two slashes, which URL parsers still read (found by fuzzing)', () => {
    for (const input of ['ftp:/alice:s3cret@example.org/', 'https:\\\\alice:s3cret@example.org:0/', 'http:alice:s3cret@example.org:0', 'ws:alice:s3cret@h/', ' HTTP:/alice:s3cret@exa mple.org/']) {
      const e = thrown(() => parseTargetUrl(input));
      expect(e.message, input).not.toContain('s3cret');
      expect(e.message, input).toContain('***@');
    }
    expect(redactUrl('http:/alice:s3cret@exa mple.org/')).not.toContain('s3cret');
  });

  it('refuses input that is short enough but longer than 8192 characters once normalised (found by fuzzing)', () => {
    // 8190 characters as typed; each space becomes %20, so the URL that would be stored is ~24 000.
    const input = `https://a.example/${' '.repeat(8170)}!`;
    expect(input.length).toBeLessThanOrEqual(8192);
    const e = thrown(() => parseTargetUrl(input));
    expect(e.code).toBe('INVALID_URL');
    expect(e.message).toMatch(/longer than 8192 characters once normalised/);
    // At the limit after normalising, it is still accepted, and re-parses to itself.
    const fits = parseTargetUrl(`https://a.example/${' '.repeat((8192 - 'https://a.example/'.length) / 3 - 1)}`);
    expect(parseTargetUrl(fits.href).href).toBe(fits.href);
  });

  it('allows credentials but never echoes them', () => {
    const url = parseTargetUrl('https://alice:s3cret@example.org/x');
    expect(url.username).toBe('alice');
    expect(redactUrl(url)).toBe('https://***:***@example.org/x');
    expect(redactUrl('https://alice:s3cret@exa mple.org/')).not.toContain('s3cret');
    const e = thrown(() => parseTargetUrl('ftp://alice:s3cret@example.org/'));
    expect(e.message).not.toContain('s3cret');
    const e2 = thrown(() => parseTargetUrl('http://alice:s3cret@exa mple.org/'));
    expect(e2.message).not.toContain('s3cret');
  });
});

describe('TargetUrl (the schema every request and watch parses its URL with)', () => {
  it('gives the normalised href: what job ids, custody events and manifests use', () => {
    expect(TargetUrl.parse('  HTTPS://Example.ORG:443/a b?x=1  ')).toBe('https://example.org/a%20b?x=1');
    expect(TargetUrl.parse(TargetUrl.parse('http://EXAMPLE.org:8080/'))).toBe('http://example.org:8080/');
  });

  it.each([
    ['javascript:alert(1)', 'UNSUPPORTED_SCHEME'],
    ['not a url', 'INVALID_URL'],
    ['   ', 'INVALID_URL'],
    ['http://example.org:0/', 'INVALID_URL'],
    [`https://a.example/${' '.repeat(8170)}!`, 'INVALID_URL'],
  ])('refuses %j with the same code and message as parseTargetUrl (%s)', (input, code) => {
    const r = TargetUrl.safeParse(input);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(targetUrlIssueCode(issue)).toBe(code);
    const e = thrown(() => parseTargetUrl(input));
    expect({ code: e.code, message: e.message }).toEqual({ code, message: issue.message });
  });

  it('is the url of a capture request and of a watch, so each stores the normalised form', () => {
    expect(CaptureRequest.parse({ url: 'HTTP://Example.org', caseId: 'C-1', requestedBy: 'a' }).url).toBe('http://example.org/');
    expect(WatchInput.parse({ url: 'HTTP://Example.org', caseId: 'C-1', every: '1h', createdBy: 'a' }).url).toBe('http://example.org/');
    const r = CaptureRequest.safeParse({ url: 'ftp://example.org/', caseId: 'C-1', requestedBy: 'a' });
    expect(r.success ? null : r.error.issues.map((i) => [i.path.join('.'), targetUrlIssueCode(i)])).toEqual([['url', 'UNSUPPORTED_SCHEME']]);
  });
});

describe('LegalBasis (one rule for the CLI, the API and watches)', () => {
  it('an empty or blank legal basis is no legal basis; any other is kept, trimmed', () => {
    expect(LegalBasis.parse(undefined)).toBeUndefined();
    expect(LegalBasis.parse('')).toBeUndefined();
    expect(LegalBasis.parse(' \t\n ')).toBeUndefined();
    expect(LegalBasis.parse('  Warrant 17/2026 ')).toBe('Warrant 17/2026');
    expect(LegalBasis.safeParse('x'.repeat(2001)).success).toBe(false);
  });

  it('applies in the capture request and in the watch alike', () => {
    expect(CaptureRequest.parse({ url: 'https://example.org/', caseId: 'C-1', requestedBy: 'a', legalBasis: '' }).legalBasis).toBeUndefined();
    expect(WatchInput.parse({ url: 'https://example.org/', caseId: 'C-1', every: '1h', createdBy: 'a', legalBasis: ' ' }).legalBasis).toBeUndefined();
    // A watch stored before the rule, with an empty legal basis, reads as having none.
    const stored = { schemaVersion: 'exhibit.watch/1', id: '0190a4a0-0000-7000-8000-000000000000', url: 'https://example.org/', caseId: 'C-1', every: 3_600_000, createdBy: 'a', legalBasis: '', state: 'active', createdAt: '2026-03-01T00:00:00Z' };
    expect(Watch.parse(stored).legalBasis).toBeUndefined();
  });
});
