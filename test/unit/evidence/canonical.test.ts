import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, sha256Digest } from '../../../evidence/canonical.js';

describe('canonicalBytes (RFC 8785)', () => {
  it('reproduces the RFC 8785 §3.2.2 example exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    const want = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalBytes(input).toString('utf8')).toBe(want);
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    const keys = Object.keys(JSON.parse(canonicalBytes(input).toString('utf8')) as object);
    // JSON.parse reorders integer-like keys first; compare the serialised order instead.
    const text = canonicalBytes(input).toString('utf8');
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => text.indexOf(JSON.stringify(k) + ':'));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(keys).toHaveLength(7);
  });

  it('is independent of insertion order and drops undefined members', () => {
    expect(canonicalBytes({ b: 1, a: { d: [1, 2], c: undefined } }).equals(canonicalBytes({ a: { d: [1, 2] }, b: 1 }))).toBe(true);
    expect(canonicalBytes({ b: 1, a: 2 }).toString()).toBe('{"a":2,"b":1}');
  });

  it('refuses NaN and Infinity', () => {
    expect(() => canonicalBytes({ x: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => canonicalBytes([Number.POSITIVE_INFINITY])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => canonicalBytes(undefined)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('sha256Digest equals sha256sum of the same bytes', () => {
    const bytes = canonicalBytes({ caseId: 'C-2026-001', text: 'مرحبا' });
    const want = execFileSync('sha256sum', { input: bytes, encoding: 'utf8' }).split(' ')[0];
    expect(sha256Digest(bytes)).toBe(`sha256:${want}`);
  });
});
