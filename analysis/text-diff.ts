import type { TextDiffPart } from '../schemas/watch.js';

/**
 * Word-level diff of two texts for people reading an edit. Tokens are runs of letters, marks and
 * digits (any script: Arabic with its diacritics stays one word), runs of whitespace, and single
 * other characters (punctuation; an emoji with its variation selector and joiners). The texts are compared exactly as recorded (no
 * normalisation), so what is shown as unchanged is byte-for-byte unchanged. Nothing here reorders
 * text: parts come in reading order and the reader's bidi algorithm lays them out.
 */

/** Largest token-pair table computed (tokens(a) × tokens(b)); past it the diff is coarse. */
export const MAX_DIFF_CELLS = 4_000_000;

// An emoji keeps its variation selector and ZWJ sequence; any other character keeps its combining marks.
const TOKEN = /\s+|[\p{L}\p{M}\p{N}_]+|\p{Extended_Pictographic}\p{M}*(?:\u200d\p{Extended_Pictographic}\p{M}*)*|[\s\S]\p{M}*/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

function push(parts: TextDiffPart[], op: TextDiffPart['op'], text: string): void {
  if (!text) return;
  const last = parts[parts.length - 1];
  if (last && last.op === op) last.text += text;
  else parts.push({ op, text });
}

/**
 * The parts of `before` → `after`: `same` text, `removed` text (only in before), `added` text
 * (only in after). Concatenating same+removed gives `before`; same+added gives `after`.
 */
export function wordDiff(before: string, after: string): { parts: TextDiffPart[]; coarse: boolean } {
  const a = tokenize(before);
  const b = tokenize(after);
  // Common prefix and suffix first: edits are usually small, and this keeps the table small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const parts: TextDiffPart[] = [];
  push(parts, 'same', a.slice(0, start).join(''));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  let coarse = false;
  if (n * m > MAX_DIFF_CELLS) {
    coarse = true;
    push(parts, 'removed', midA.join(''));
    push(parts, 'added', midB.join(''));
  } else if (n && m) {
    // Longest common subsequence, lengths from the end so the walk below goes forward.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = midA[i] === midB[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (midA[i] === midB[j]) {
        push(parts, 'same', midA[i]!);
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) push(parts, 'removed', midA[i++]!);
      else push(parts, 'added', midB[j++]!);
    }
    while (i < n) push(parts, 'removed', midA[i++]!);
    while (j < m) push(parts, 'added', midB[j++]!);
  } else {
    push(parts, 'removed', midA.join(''));
    push(parts, 'added', midB.join(''));
  }
  push(parts, 'same', a.slice(endA).join(''));
  return { parts: tidy(parts), coarse };
}

/**
 * Within each changed stretch, removed text before added text; a lone whitespace between two
 * changes of one stretch is folded into both sides, so a replaced phrase reads as one removed and
 * one added run instead of alternating words.
 */
function tidy(parts: TextDiffPart[]): TextDiffPart[] {
  const out: TextDiffPart[] = [];
  let removed = '';
  let added = '';
  const flush = () => {
    if (removed) out.push({ op: 'removed', text: removed });
    if (added) out.push({ op: 'added', text: added });
    removed = '';
    added = '';
  };
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (p.op === 'same') {
      const next = parts[k + 1];
      if (/^\s+$/.test(p.text) && (removed || added) && next && next.op !== 'same') {
        removed += p.text;
        added += p.text;
        continue;
      }
      flush();
      const last = out[out.length - 1];
      if (last?.op === 'same') last.text += p.text;
      else out.push({ ...p });
    } else if (p.op === 'removed') removed += p.text;
    else added += p.text;
  }
  flush();
  return out;
}

/** The old text back from a diff (same + removed). */
export const diffBefore = (parts: TextDiffPart[]) => parts.filter((p) => p.op !== 'added').map((p) => p.text).join('');
/** The new text back from a diff (same + added). */
export const diffAfter = (parts: TextDiffPart[]) => parts.filter((p) => p.op !== 'removed').map((p) => p.text).join('');
