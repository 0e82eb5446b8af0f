/**
 * Matching keys for handles, names and hashtags. The raw value is always kept as observed; the key
 * only decides what "the same text" means when searching or comparing, and the rules are written
 * into every export (`NORMALISATION`) so a reader knows what was folded together.
 */

/** The rules, in the order applied, as recorded in export metadata. */
export const NORMALISATION =
  'exhibit.match-key/1: Unicode NFKC; Arabic diacritics (U+0610–U+061A, U+064B–U+065F, U+0670, U+06D6–U+06ED) and tatweel (U+0640) removed; ' +
  'alef forms (آ أ إ ٱ) → ا; alef maksura ى → ي; Farsi yeh ی → ي; teh marbuta ة → ه; keheh ک → ك; ' +
  'zero-width and bidi controls removed; Unicode lower case; leading @ and # removed; whitespace collapsed';

const DIACRITICS = /[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED]/gu;
const TATWEEL = /\u0640/gu;
// ZWSP/ZWNJ/ZWJ, LRM/RLM/ALM, bidi embeddings, overrides and isolates, BOM: invisible, used to dodge matching.
const INVISIBLE = /[\u200B-\u200F\u061C\u202A-\u202E\u2066-\u2069\uFEFF]/gu;
const LETTERS: Record<string, string> = {
  '\u0622': '\u0627', // آ alef with madda
  '\u0623': '\u0627', // أ alef with hamza above
  '\u0625': '\u0627', // إ alef with hamza below
  '\u0671': '\u0627', // ٱ alef wasla
  '\u0649': '\u064A', // ى alef maksura → yeh
  '\u06CC': '\u064A', // ی Farsi yeh → yeh
  '\u0629': '\u0647', // ة teh marbuta → heh
  '\u06A9': '\u0643', // ک keheh → kaf
};
const LETTER_RE = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'gu');

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
