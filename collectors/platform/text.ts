import * as cheerio from 'cheerio';

/**
 * Small, pure helpers platform extractors share: text direction, plain text from served markup,
 * counts as displayed, and published times.
 */

/** Strong right-to-left letters (Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic presentation forms). */
const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]|[\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;
/** A strong left-to-right letter: any letter that is not right-to-left. */
const LETTER = /\p{L}/u;

/** Direction of a text by its first strong character (Unicode bidi rule P2); null when it has none. */
export function textDirection(text: string): 'ltr' | 'rtl' | null {
  for (const ch of text) {
    if (RTL.test(ch)) return 'rtl';
    if (LETTER.test(ch)) return 'ltr';
  }
  return null;
}

/**
 * Plain text of an HTML fragment as a reader sees it: `<br>` as a newline, block ends (`</p>`)
 * as a blank line between paragraphs, entities decoded, nothing else changed.
 */
export function htmlToText(html: string): string {
  const $ = cheerio.load(`<div id="__x">${html}</div>`, null, false);
  const root = $('#__x');
  root.find('br').replaceWith('\n');
  root.find('p').each((i, el) => {
    const p = $(el);
    if (i > 0) p.before('\n\n');
  });
  return root.text();
}

const SUFFIX: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9 };

/**
 * A count as displayed (`1,234`, `1.2K`, `3M`, `١٢`) and its value when unambiguous. Abbreviated
 * counts are rounded by the platform, so their value is the displayed figure, marked by `display`.
 */
export function parseCount(display: string): { display: string; value: number | null } {
  const ascii = display
    .trim()
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06f0));
  const m = /^(\d{1,3}(?:[,\u066C]\d{3})+|\d+(?:\.\d+)?)\s*([KkMmBb])?$/.exec(ascii);
  if (!m) return { display, value: null };
  const n = Number(m[1]!.replace(/[,\u066C]/g, ''));
  const mult = m[2] ? SUFFIX[m[2].toLowerCase()]! : 1;
  const value = Math.round(n * mult);
  return { display, value: Number.isSafeInteger(value) ? value : null };
}

/** A numeric count served as a number (API JSON), shown as the platform would. */
export function exactCount(value: number): { display: string; value: number | null } {
  return { display: String(value), value: Number.isSafeInteger(value) && value >= 0 ? value : null };
}

/** A stated time (`2024-03-14T10:21:07+00:00`, `2024-03-14T10:21:07.000Z`) as the raw string and its UTC ISO form (null when it has no zone or does not parse). */
export function publishedTime(raw: string | null | undefined): { raw: string; utc: string | null } | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  // Only ISO 8601 instants with an explicit zone are unambiguous (Date.parse guesses at anything else).
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(raw.trim())) return { raw, utc: null };
  const t = Date.parse(raw.trim());
  return { raw, utc: Number.isNaN(t) ? null : new Date(t).toISOString() };
}

/** Hashtags written in a text (`#دمشق`, `#old_city`), without the `#`, in order, unique. */
export function hashtagsIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[^\p{L}\p{N}_&/])#([\p{L}\p{M}\p{N}_]+)/gu)) if (!out.includes(m[1]!)) out.push(m[1]!);
  return out;
}

/**
 * The inner markup of an element exactly as it stands in the served source (parsed with
 * `sourceCodeLocationInfo`), or the parser's re-serialisation when no location is known.
 */
export function innerSource($: cheerio.CheerioAPI, el: cheerio.Cheerio<never>, source: string): string {
  const node = el.get(0) as { sourceCodeLocation?: { startTag?: { endOffset: number }; endTag?: { startOffset: number } } } | undefined;
  const loc = node?.sourceCodeLocation;
  if (loc?.startTag && loc.endTag) return source.slice(loc.startTag.endOffset, loc.endTag.startOffset);
  return $(el).html() ?? '';
}
