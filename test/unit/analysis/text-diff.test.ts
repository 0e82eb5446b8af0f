import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffAfter, diffBefore, MAX_DIFF_CELLS, tokenize, wordDiff } from '../../../analysis/text-diff.js';

describe('word diff', () => {
  it('an Arabic edit: the unchanged start stays, the replaced phrase is one removal and one addition, in reading order', () => {
    const before = 'فيديو قصير من السوق بعد الظهر. الوضع هادئ 🕊️';
    const after = 'فيديو قصير من السوق بعد الظهر. تجمّع الناس الآن قرب المسجد ⚠️';
    const { parts, coarse } = wordDiff(before, after);
    expect(coarse).toBe(false);
    expect(parts[0]).toEqual({ op: 'same', text: 'فيديو قصير من السوق بعد الظهر. ' });
    expect(parts.filter((p) => p.op === 'removed').map((p) => p.text).join('')).toContain('الوضع هادئ');
    expect(parts.filter((p) => p.op === 'added').map((p) => p.text).join('')).toContain('تجمّع الناس الآن قرب المسجد');
    // No alternating word-by-word noise: one removed and one added run.
    expect(parts.map((p) => p.op)).toEqual(['same', 'removed', 'added']);
    expect(diffBefore(parts)).toBe(before);
    expect(diffAfter(parts)).toBe(after);
  });

  it('keeps a word with its diacritics and joiners as one token (a changed harakah changes the word, not a letter)', () => {
    expect(tokenize('تجمّع الناس')).toEqual(['تجمّع', ' ', 'الناس']);
    const { parts } = wordDiff('كَتَبَ الولد', 'كتب الولد');
    expect(parts).toEqual([{ op: 'removed', text: 'كَتَبَ' }, { op: 'added', text: 'كتب' }, { op: 'same', text: ' الولد' }]);
  });

  it('equal texts are one same part; empty sides are a pure addition or removal', () => {
    expect(wordDiff('a b', 'a b').parts).toEqual([{ op: 'same', text: 'a b' }]);
    expect(wordDiff('', 'new text').parts).toEqual([{ op: 'added', text: 'new text' }]);
    expect(wordDiff('old', '').parts).toEqual([{ op: 'removed', text: 'old' }]);
  });

  it('past the table bound the diff is coarse (whole middle replaced), still exact', () => {
    const n = Math.ceil(Math.sqrt(MAX_DIFF_CELLS)) + 10;
    const a = Array.from({ length: n }, (_, i) => `a${i}`).join(' ');
    const b = Array.from({ length: n }, (_, i) => `b${i}`).join(' ');
    const r = wordDiff(`start ${a} end`, `start ${b} end`);
    expect(r.coarse).toBe(true);
    expect(diffBefore(r.parts)).toBe(`start ${a} end`);
    expect(diffAfter(r.parts)).toBe(`start ${b} end`);
  });

  it('property: the parts always give back both texts exactly, and never hold two neighbours of the same kind', () => {
    const word = fc.constantFrom('a', 'b', 'ال', 'سوق', 'هادئ', '🕊️', ' ', '\n', '.', 'x1', 'تجمّع', '\u200f');
    const text = fc.array(word, { maxLength: 30 }).map((w) => w.join(''));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const { parts } = wordDiff(a, b);
        expect(diffBefore(parts)).toBe(a);
        expect(diffAfter(parts)).toBe(b);
        for (let i = 1; i < parts.length; i++) expect(parts[i]!.op === parts[i - 1]!.op).toBe(false);
        for (const p of parts) expect(p.text.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
