/**
 * Matching keys for handles, names and hashtags. The raw value is always kept as observed; the key
 * only decides what "the same text" means when searching or comparing, and the rules are written
 * into every export (`NORMALISATION`) so a reader knows what was folded together.
 */

import { ARABIC_DIACRITICS, BASE_LETTER_RE, BASE_LETTERS, INVISIBLE, TATWEEL } from '../lib/text-fold.js';

/** The rules, in the order applied, as recorded in export metadata. */
export const NORMALISATION =
  'exhibit.match-key/1: Unicode NFKC; Arabic diacritics (U+0610–U+061A, U+064B–U+065F, U+0670, U+06D6–U+06ED) and tatweel (U+0640) removed; ' +
  'alef forms (آ أ إ ٱ) → ا; alef maksura ى → ي; Farsi yeh ی → ي; teh marbuta ة → ه; keheh ک → ك; ' +
  'zero-width and bidi controls removed; Unicode lower case; leading @ and # removed; whitespace collapsed';

const LETTER_RE = BASE_LETTER_RE;
const LETTERS = BASE_LETTERS;
const DIACRITICS = ARABIC_DIACRITICS;

/** The matching key of a handle, name or hashtag (see {@link NORMALISATION}). */
export function matchKey(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .replace(DIACRITICS, '')
    .replace(TATWEEL, '')
    .replace(LETTER_RE, (c) => LETTERS[c]!)
    .toLowerCase()
    .replace(/^[@#]+/u, '')
    .replace(/\s+/gu, ' ')
    .trim();
}
