import { z } from 'zod';
import { CaseId, IsoUtc, Sha256Digest, Uuid } from './common.js';
import { CustodyActor } from './custody.js';

/**
 * Analyst annotations: tags and notes on a sealed capture. Each is a custody event
 * (`tag-added`, `tag-removed`, `note-added`) — who, when, what — and never a change to the capture's
 * sealed evidence. A package carries them, derived from those events, in `data/annotations.json`,
 * apart from the evidence.
 */

/** A tag as the analyst typed it (trimmed): 1–64 characters, no control characters or commas. */
export const TagName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f,]+$/u, 'a tag may not hold control characters or commas');

/** A note: 1–4000 characters of text, kept exactly as written. */
export const NoteText = z.string().min(1).max(4000).refine((s) => s.trim().length > 0, 'a note may not be blank');

/** `details` of a `tag-added` / `tag-removed` custody event. */
export const TagEventDetails = z.object({ tag: TagName, via: z.enum(['api', 'cli']) });
export type TagEventDetails = z.infer<typeof TagEventDetails>;

/** `details` of a `note-added` custody event. */
export const NoteEventDetails = z.object({ note: NoteText, via: z.enum(['api', 'cli']) });
export type NoteEventDetails = z.infer<typeof NoteEventDetails>;

/** Who wrote an annotation, when, and which custody event records it. */
const Attribution = z.object({
  by: CustodyActor,
  at: IsoUtc,
  /** Sequence number of the custody event, in the case's log. */
  seq: z.number().int().positive(),
  eventHash: Sha256Digest,
});

export const TagState = Attribution.extend({ tag: TagName });
export type TagState = z.infer<typeof TagState>;
export const NoteState = Attribution.extend({ note: z.string(), eventId: Uuid });
export type NoteState = z.infer<typeof NoteState>;

/** The annotations of one capture, as the custody log states them: current tags (each with the event that added it) and every note. */
export const CaptureAnnotations = z.object({
  captureId: Uuid,
  tags: z.array(TagState),
  notes: z.array(NoteState),
});
export type CaptureAnnotations = z.infer<typeof CaptureAnnotations>;

/** `data/annotations.json` in a package: analyst annotations of the packaged captures, not evidence. */
export const AnnotationsDocument = z.object({
  schemaVersion: z.literal('exhibit.annotations/1'),
  kind: z.literal('analyst-annotations'),
  /** A fixed sentence saying what this file is and is not. */
  statement: z.string(),
  caseId: CaseId,
  /** The custody log sequence number the annotations were read through (the package's signed head). */
  throughSeq: z.number().int().nonnegative(),
  captures: z.array(CaptureAnnotations),
});
export type AnnotationsDocument = z.infer<typeof AnnotationsDocument>;

/** API bodies. */
export const TagRequest = z.object({ tag: TagName });
export const NoteRequest = z.object({ note: NoteText });
