import { z } from 'zod';
import { CaseId, Uuid } from './common.js';
import { Failure } from './errors.js';
import { INTEL_FORMATS } from './intel.js';
import { Tlp } from './share.js';

/** Data rows one intake accepts (a bigger sheet is refused whole, never cut silently). */
export const MAX_INTAKE_ROWS = 1000;
/** Bytes of sheet text one intake reads. */
export const MAX_INTAKE_BYTES = 2 * 1024 * 1024;
/** Tags per row, and characters per tag. */
export const MAX_ROW_TAGS = 20;
export const MAX_TAG_CHARS = 64;
export const MAX_NOTE_CHARS = 2000;

export const SHEET_FORMATS = ['auto', 'csv', 'tsv'] as const;

/** A sheet of URLs to capture: a CSV file, or cells pasted from a spreadsheet (tab-separated). */
export const IntakeRequest = z.object({
  text: z.string().min(1).max(MAX_INTAKE_BYTES),
  /** `auto`: tab-separated when the first line has a tab and no comma, else comma-separated. */
  format: z.enum(SHEET_FORMATS).default('auto'),
  /** Legal basis for rows whose own legal-basis cell is empty. */
  legalBasis: z.string().max(2000).optional(),
  force: z.boolean().optional(),
});
export type IntakeRequest = z.infer<typeof IntakeRequest>;

/**
 * What happened to tags and notes of a row: `none` (the row had none), `applied` (recorded as
 * custody events), `not-applied` (read and checked, but this installation records no annotations).
 */
export const ANNOTATION_STATES = ['none', 'applied', 'not-applied'] as const;

/** One data row of the sheet and what became of it. */
export const IntakeRow = z.object({
  /** Line of the sheet the row ends on (its only line, unless a quoted cell spans lines); 1 is the first line. */
  line: z.number().int().positive(),
  url: z.string().nullable(),
  status: z.enum(['accepted', 'rejected']),
  captureId: Uuid.nullable(),
  /** The same URL was already submitted into the case (or earlier in this sheet): the existing capture. */
  duplicate: z.boolean(),
  legalBasis: z.string().nullable(),
  tags: z.array(z.string()),
  note: z.string().nullable(),
  annotations: z.enum(ANNOTATION_STATES),
  failure: Failure.nullable(),
});
export type IntakeRow = z.infer<typeof IntakeRow>;

export const IntakeReport = z.object({
  caseId: CaseId,
  format: z.enum(['csv', 'tsv']),
  /** Recognised columns, as named in the header (`url` alone when the sheet has no header). */
  columns: z.array(z.string()),
  /** Header cells that are not a known column: read, not used. */
  ignoredColumns: z.array(z.string()),
  rows: z.array(IntakeRow),
  accepted: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  /** Why tags and notes were not applied, when some row had them and they were not. */
  annotationsNote: z.string().nullable(),
});
export type IntakeReport = z.infer<typeof IntakeReport>;

export const EXPORT_FORMATS = ['csv', 'xlsx', ...INTEL_FORMATS] as const;
export const ExportQuery = z.object({
  format: z.enum(EXPORT_FORMATS).default('csv'),
  /** TLP 2.0 marking of a STIX or MISP export. */
  tlp: Tlp.default('amber'),
  /** Comma-separated capture ids: export only these (STIX and MISP; default the whole case). */
  capture: z.string().max(20_000).optional(),
});
