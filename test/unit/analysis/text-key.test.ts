import { describe, expect, it } from 'vitest';
import { matchKey, NORMALISATION } from '../../../analysis/text-key.js';

describe('matchKey (Arabic-aware matching keys)', () => {
  it.each([
    ['alef with hamza above / below / madda / wasla → bare alef', ['أحمد', 'إحمد', 'آحمد', 'ٱحمد', 'احمد'], 'احمد'],
    ['alef maksura and Farsi yeh → yeh', ['مصطفى', 'مصطفي', 'مصطفی'], 'مصطفي'],
    ['teh marbuta → heh', ['فاطمة', 'فاطمه'], 'فاطمه'],
    ['keheh → kaf', ['کريم', 'كريم'], 'كريم'],
    ['diacritics (harakat, shadda, sukun, superscript alef) removed', ['مُحَمَّد', 'محمد', 'مُحْمَّدٌ'], 'محمد'],
    ['tatweel removed', ['عـــاجل', 'عاجل'], 'عاجل'],
    ['presentation forms folded by NFKC', ['\uFEE3\uFEA4\uFEE4\uFEAA', 'محمد'], 'محمد'],
    ['bidi marks and zero-width characters removed', ['\u200Fليلى\u200C', 'ليلى'], 'ليلي'],
    ['Latin: case, leading @ and full-width letters', ['@Layla', 'layla', 'ＬＡＹＬＡ'], 'layla'],
  ])('%s', (_why, variants, key) => {
    for (const v of variants) expect(matchKey(v), v).toBe(key);
  });

  it('keeps letters that are different letters apart (ha vs heh, dal vs thal)', () => {
    expect(matchKey('حسن')).not.toBe(matchKey('هسن'));
    expect(matchKey('دار')).not.toBe(matchKey('ذار'));
  });

  it('is idempotent and names every rule it applies in the recorded description', () => {
    for (const s of ['أَحْمَدُ', 'عـاجل', '@ＡＢＣ', 'فاطمة']) expect(matchKey(matchKey(s))).toBe(matchKey(s));
    for (const rule of ['NFKC', 'tatweel', 'alef', 'maksura', 'teh marbuta', 'keheh', 'diacritics']) expect(NORMALISATION).toContain(rule);
  });
});
