import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTargetUrl, redactUrl } from '../../../lib/target-url.js';
import { parseUrlList } from '../../../lib/url-list.js';
import { CaptureRequest } from '../../../schemas/capture.js';
import { fuzzParams, fuzzTimeout, isClearError } from '../../support/fuzz.js';

/** Strings shaped like URLs people paste: schemes, credentials, IPv6, ports, odd characters, control bytes. */
const urlish = fc
  .tuple(
    fc.constantFrom('http://', 'https://', 'HTTPS://', 'ftp://', 'ftp:/', 'ftp:', 'ws:', 'javascript:', 'file:///', 'data:text/html,', '//', '', 'http:/', 'http:', 'https:\\\\', ' http://', 'chrome://'),
    fc.option(fc.constantFrom('user:secret@', 'a@', ':@', 'u:p%40x@'), { nil: '' }),
    fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`), fc.constantFrom('', 'localhost', '0', '127.1', '0x7f.1', '[::ffff:127.0.0.1]', 'xn--', 'ex%41mple.org', 'exa mple.org', 'ex\u0000ample.org', 'مثال.إختبار')),
    fc.option(fc.oneof(fc.integer({ min: 0, max: 70000 }).map((p) => `:${p}`), fc.constantFrom(':', ':0', ':-1', ':65536', ':http')), { nil: '' }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  )
  .map((parts) => parts.join(''));
const anyInput = fc.oneof(urlish, fc.string({ unit: 'binary', maxLength: 200 }), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ minLength: 8185, maxLength: 8200 }).map((s) => `https://a.example/${s}`.slice(0, 8190 + (s.length % 6))));

function passwordOf(input: string): string | null {
  try {
    return new URL(input.trim()).password;
  } catch {
    return null;
  }
}

describe('fuzz: capture target URLs (parseTargetUrl, the request schema, URL lists)', () => {
  it(
    'any input is an http(s) URL with a host, or a typed INVALID_URL / UNSUPPORTED_SCHEME error that quotes it boundedly and never shows a password',
    () => {
      fc.assert(
        fc.property(anyInput, (input) => {
          let url: URL;
          try {
            url = parseTargetUrl(input);
          } catch (err) {
            expect(isClearError(err), String(err)).toBe(true);
            const e = err as Error & { code: string };
            expect(['INVALID_URL', 'UNSUPPORTED_SCHEME']).toContain(e.code);
            expect(e.message).toMatch(/^(not a valid URL: |unsupported scheme )/);
            expect(e.message.length).toBeLessThan(600);
            // A password the URL parser would read (any slashes, `http:/u:p@`, `https:\\u:p@`) is never echoed.
            if (passwordOf(input) === 'secret') expect(e.message).not.toContain('secret');
            return;
          }
          expect(['http:', 'https:']).toContain(url.protocol);
          expect(url.hostname).not.toBe('');
          expect(url.port).not.toBe('0');
          // Parsing is stable: what we store re-parses to itself.
          expect(parseTargetUrl(url.href).href).toBe(url.href);
          expect(redactUrl(url)).not.toContain(url.password ? `:${url.password}@` : '\u0000');
        }),
        fuzzParams(400),
      );
    },
    fuzzTimeout(400, 2),
  );

  it(
    'the request schema and parseTargetUrl agree: the schema refuses a url exactly when parseTargetUrl does',
    () => {
      fc.assert(
        fc.property(anyInput, (url) => {
          const r = CaptureRequest.safeParse({ url, caseId: 'C-1', requestedBy: 'analyst.one' });
          const urlIssues = r.success ? [] : r.error.issues.filter((i) => i.path[0] === 'url');
          for (const i of urlIssues) expect(i.message.length).toBeGreaterThan(0);
          let policyOk = true;
          try {
            parseTargetUrl(url);
          } catch (err) {
            expect(isClearError(err)).toBe(true);
            policyOk = false;
          }
          // One rule: the schema refuses exactly what parseTargetUrl refuses.
          expect(policyOk, `schema and parseTargetUrl disagree on ${JSON.stringify(url.slice(0, 80))} (${url.length} chars)`).toBe(urlIssues.length === 0);
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeout(300, 2),
  );

  it(
    'a URL list keeps exactly the non-blank, non-comment lines, trimmed',
    () => {
      const line = fc.oneof(fc.webUrl(), fc.constantFrom('', '   ', '# comment', '  #x', '\t'), fc.string({ unit: 'binary', maxLength: 40 }));
      fc.assert(
        fc.property(fc.array(line, { maxLength: 50 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
          const text = lines.join(eol);
          const got = parseUrlList(text);
          const want = text
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter((l) => l !== '' && !l.startsWith('#'));
          expect(got).toEqual(want);
          for (const u of got) expect(u).toBe(u.trim());
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeout(300, 2),
  );
});
