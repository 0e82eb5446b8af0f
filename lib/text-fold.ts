/**
 * Text folding for matching only: what counts as "the same text" when comparing a handle, a tag or
 * a search word with what was recorded. The recorded value is never changed; only the key made
 * from it is folded, and the rules are written into every export and the README so a reader knows
 * what was folded together.
 *
 * Two levels. `matchKey` (analysis/text-key.ts, case-graph exports) uses the base letter table;
 * `foldForSearch` adds the Persian and Urdu letter forms, the hamza carriers, the native digits and
 * Latin accents, because a searcher types on whatever keyboard they have.
 */

/** Arabic harakat, Quranic marks and superscript alef: written by some, never typed by most. */
export const ARABIC_DIACRITICS = /[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED]/gu;
/** Tatweel (kashida): a stretch of the line, not a letter. */
export const TATWEEL = /\u0640/gu;
/** ZWSP/ZWNJ/ZWJ, LRM/RLM/ALM, bidi embeddings, overrides and isolates, BOM: invisible, used to dodge matching. */
export const INVISIBLE = /[\u200B-\u200F\u061C\u202A-\u202E\u2066-\u2069\uFEFF]/gu;

/** Letter variants folded by every key. */
export const BASE_LETTERS: Readonly<Record<string, string>> = {
  '\u0622': '\u0627', // آ alef with madda
  '\u0623': '\u0627', // أ alef with hamza above
  '\u0625': '\u0627', // إ alef with hamza below
  '\u0671': '\u0627', // ٱ alef wasla
  '\u0649': '\u064A', // ى alef maksura → yeh
  '\u06CC': '\u064A', // ی Farsi yeh → yeh
  '\u0629': '\u0647', // ة teh marbuta → heh
  '\u06A9': '\u0643', // ک keheh → kaf
};

/** Further variants folded for search: hamza carriers, Persian and Urdu heh and yeh forms, native digits. */
const SEARCH_LETTERS: Readonly<Record<string, string>> = {
  ...BASE_LETTERS,
  '\u0624': '\u0648', // ؤ waw with hamza → waw
  '\u0626': '\u064A', // ئ yeh with hamza → yeh
  '\u06D2': '\u064A', // ے yeh barree (Urdu) → yeh
  '\u06C0': '\u0647', // ۀ heh with yeh above (Persian ezafe) → heh
  '\u06C1': '\u0647', // ہ heh goal (Urdu) → heh
  '\u06C3': '\u0647', // ۃ teh marbuta goal (Urdu) → heh
  '\u06BE': '\u0647', // ھ heh doachashmee (Urdu aspirates) → heh
  ...Object.fromEntries(Array.from({ length: 10 }, (_, d) => [String.fromCharCode(0x0660 + d), String(d)])), // ٠–٩
  ...Object.fromEntries(Array.from({ length: 10 }, (_, d) => [String.fromCharCode(0x06f0 + d), String(d)])), // ۰–۹
};

const classOf = (table: Readonly<Record<string, string>>) => new RegExp(`[${Object.keys(table).join('')}]`, 'gu');
export const BASE_LETTER_RE = classOf(BASE_LETTERS);
const SEARCH_LETTER_RE = classOf(SEARCH_LETTERS);
/** Combining accents of Latin, Greek and Cyrillic (after NFD): café → cafe. Other scripts' marks (Devanagari vowel signs) are letters and stay. */
const LATIN_ACCENTS = /[\u0300-\u036F]/gu;

/** The search folding rules, in the order applied (recorded in the README and in search results). */
export const SEARCH_NORMALISATION =
  'exhibit.search-fold/1: Unicode NFKC; zero-width and bidi controls removed; Arabic diacritics (U+0610–U+061A, U+064B–U+065F, U+0670, U+06D6–U+06ED) and tatweel (U+0640) removed; ' +
  'alef forms (آ أ إ ٱ) → ا; hamza carriers ؤ → و, ئ → ي; alef maksura ى, Farsi yeh ی and yeh barree ے → ي; teh marbuta ة, heh with yeh ۀ, heh goal ہ, teh marbuta goal ۃ and heh doachashmee ھ → ه; keheh ک → ك; ' +
  'Arabic-Indic and Persian digits → 0–9; Latin, Greek and Cyrillic combining accents removed (NFD, then NFC); Unicode lower case; ' +
  'then per word: a word that starts with the Arabic article or a proclitic with it (ال وال بال كال فال لل) before at least two letters is indexed with and without it, and a query word matches as typed or without it, so الانفجار, والانفجار and انفجار find each other';

/** The article and its common proclitics (the prefixes of Lucene's light Arabic stemmer), longest first. */
const ARTICLE = /^(?:وال|بال|كال|فال|ال|لل)(?=\p{L}{2})/u;

/** A folded word without the Arabic article, or null when it has none. */
export function withoutArticle(word: string): string | null {
  const m = ARTICLE.exec(word);
  return m ? word.slice(m[0].length) : null;
}

/** Fold text for search matching (see {@link SEARCH_NORMALISATION}); never used on a value that is stored or shown. */
export function foldForSearch(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .replace(ARABIC_DIACRITICS, '')
    .replace(TATWEEL, '')
    .replace(SEARCH_LETTER_RE, (c) => SEARCH_LETTERS[c]!)
    .normalize('NFD')
    .replace(LATIN_ACCENTS, '')
    .normalize('NFC')
    .toLowerCase();
}
