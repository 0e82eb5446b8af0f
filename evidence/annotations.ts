/**
 * Analyst annotations of sealed captures — tags and notes — kept as custody events and nothing
 * else: adding a tag appends `tag-added` (who, when, which tag, naming the capture and its signed
 * manifest's digest), removing one appends `tag-removed`, a note appends `note-added`. The sealed
 * capture is never touched. The current tags of a capture are what its events say, read in order.
 *
 * Tags are compared by a folded key (case, Arabic letter variants and diacritics: lib/text-fold.ts),
 * so `Weapons` and `weapons`, or `سوريا` with and without harakat, are one tag; the tag is shown as
 * it was first typed.
 */
import { PermanentError } from '../lib/errors.js';
import { foldForSearch } from '../lib/text-fold.js';
import { AnnotationsDocument, NoteEventDetails, TagEventDetails, type CaptureAnnotations, type NoteState, type TagState } from '../schemas/annotation.js';
import type { CustodyActor, CustodyEvent } from '../schemas/custody.js';
import type { AppendResult, CustodyLog } from './custody.js';

/** The key two tags are compared by. */
export const tagKey = (tag: string) => foldForSearch(tag).replace(/\s+/gu, ' ').trim();

export const ANNOTATION_ACTIONS = ['tag-added', 'tag-removed', 'note-added'] as const;

/** What `data/annotations.json` says of itself. */
export const ANNOTATIONS_STATEMENT =
  'Analyst annotations (tags and notes), not evidence: they were added after the captures were sealed, change nothing in them, and each is a custody event in data/custody/events.jsonl (who, when, what). This file is derived from those events.';

/** The annotations of each capture, from a case's custody events in log order. Captures without any are absent. */
export function annotationsOf(events: Iterable<CustodyEvent>): Map<string, CaptureAnnotations> {
  const out = new Map<string, { tags: Map<string, TagState>; notes: NoteState[] }>();
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  for (const e of ordered) {
    const captureId = e.subject.captureId;
    if (!captureId || !(ANNOTATION_ACTIONS as readonly string[]).includes(e.action)) continue;
    const cur = out.get(captureId) ?? { tags: new Map<string, TagState>(), notes: [] };
    const attribution = { by: e.actor, at: e.time, seq: e.seq, eventHash: e.hash };
    if (e.action === 'note-added') {
      const d = NoteEventDetails.safeParse(e.details);
      if (d.success) cur.notes.push({ ...attribution, note: d.data.note, eventId: e.eventId });
    } else {
      const d = TagEventDetails.safeParse(e.details);
      if (!d.success) continue;
      const key = tagKey(d.data.tag);
      if (e.action === 'tag-added' && !cur.tags.has(key)) cur.tags.set(key, { ...attribution, tag: d.data.tag });
      if (e.action === 'tag-removed') cur.tags.delete(key);
    }
    out.set(captureId, cur);
  }
  return new Map([...out].map(([captureId, v]) => [captureId, { captureId, tags: [...v.tags.values()], notes: v.notes }]));
}

export interface AnnotateInput {
  caseId: string;
  captureId: string;
  /** `sha256:` of the capture's signed manifest: the annotation names exactly what it is about. */
  manifestDigest: string;
  actor: CustodyActor;
  via: 'api' | 'cli';
}

/** Annotations of one capture from the log (empty when none). */
export async function captureAnnotations(custody: CustodyLog, caseId: string, captureId: string): Promise<CaptureAnnotations> {
  const events = (await custody.readLog(caseId)).map((e) => e.event).filter((e) => e.subject.captureId === captureId);
  return annotationsOf(events).get(captureId) ?? { captureId, tags: [], notes: [] };
}

/**
 * Add or remove a tag. Adding a tag the capture already has, or removing one it does not have,
 * appends nothing (`event` null) — the log records changes, not repeated clicks.
 */
export async function changeTag(custody: CustodyLog, input: AnnotateInput & { tag: string; remove?: boolean }): Promise<{ event: AppendResult['event'] | null; annotations: CaptureAnnotations }> {
  const parsed = TagEventDetails.safeParse({ tag: input.tag, via: input.via });
  if (!parsed.success) throw new PermanentError('INVALID_INPUT', `tag: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const details = parsed.data;
  const before = await captureAnnotations(custody, input.caseId, input.captureId);
  const has = before.tags.some((t) => tagKey(t.tag) === tagKey(details.tag));
  if (has !== Boolean(input.remove)) return { event: null, annotations: before };
  const { event } = await custody.append({
    caseId: input.caseId,
    actor: input.actor,
    action: input.remove ? 'tag-removed' : 'tag-added',
    subject: { captureId: input.captureId, digests: [input.manifestDigest] },
    details,
  });
  return { event, annotations: await captureAnnotations(custody, input.caseId, input.captureId) };
}

/** Add a note (every note is kept; a note is never edited or removed — write another). */
export async function addNote(custody: CustodyLog, input: AnnotateInput & { note: string }): Promise<{ event: AppendResult['event']; annotations: CaptureAnnotations }> {
  const parsed = NoteEventDetails.safeParse({ note: input.note, via: input.via });
  if (!parsed.success) throw new PermanentError('INVALID_INPUT', `note: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const { event } = await custody.append({
    caseId: input.caseId,
    actor: input.actor,
    action: 'note-added',
    subject: { captureId: input.captureId, digests: [input.manifestDigest] },
    details: parsed.data,
  });
  return { event, annotations: await captureAnnotations(custody, input.caseId, input.captureId) };
}

/** `data/annotations.json` for the packaged captures, from the events the package carries. */
export function annotationsDocument(caseId: string, events: CustodyEvent[], captureIds: string[]): AnnotationsDocument {
  const all = annotationsOf(events);
  const captures = [...captureIds].sort().flatMap((id) => {
    const a = all.get(id);
    return a && (a.tags.length || a.notes.length) ? [a] : [];
  });
  return AnnotationsDocument.parse({
    schemaVersion: 'exhibit.annotations/1',
    kind: 'analyst-annotations',
    statement: ANNOTATIONS_STATEMENT,
    caseId,
    throughSeq: events.reduce((m, e) => Math.max(m, e.seq), 0),
    captures,
  });
}
