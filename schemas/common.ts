import { z } from 'zod';

/** `sha256:<64 lowercase hex>` — the only way a SHA-256 digest is written. */
export const Sha256Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>');
/** `sha512:<128 lowercase hex>`. */
export const Sha512Digest = z.string().regex(/^sha512:[0-9a-f]{128}$/, 'expected sha512:<128 hex>');
/** ISO-8601 UTC instant ending in `Z`. */
export const IsoUtc = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, 'expected ISO-8601 UTC ending in Z');
/** UUID (v7 for ids we mint). */
export const Uuid = z.string().uuid();
/** A case reference as analysts write it, e.g. `C-2026-001`. Safe as a path segment and a store key part. */
export const CaseId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'case id may hold letters, digits, ".", "_" and "-" and must start with a letter or digit');
/**
 * The legal basis an operator cites (warrant number, statute), carried into the manifest and the
 * package. Surrounding whitespace is dropped, and an empty or blank value is no legal basis at all
 * (absent, shown as "none given"), on every path a request takes.
 */
export const LegalBasis = z
  .string()
  .max(2000)
  .transform((s) => s.trim() || undefined)
  .optional();
export type LegalBasis = z.output<typeof LegalBasis>;
/** An operator or user handle. */
export const ActorId = z.string().min(1).max(200).regex(/^[^\s\u0000-\u001f]+$/, 'actor id must not contain whitespace or control characters');

/**
 * Who ran a CLI command: the name they gave (`--operator`) and the OS account and host the command
 * ran as. A command-line operator, never a signed-in web user (those are custody actors of type `user`).
 */
export const CliOperator = z.object({
  kind: z.literal('cli'),
  /** The name given with `--operator`. */
  name: ActorId,
  /** The operating-system account that ran the command. */
  osUser: z.string().min(1).max(200),
  /** The host name of the machine it ran on. */
  host: z.string().min(1).max(255),
});
export type CliOperator = z.infer<typeof CliOperator>;

/** A signed-in user of the web app or HTTP API who submitted a request: their account name and role. Never a command-line operator. */
export const WebUser = z.object({
  kind: z.literal('user'),
  name: ActorId,
  role: z.string().min(1).max(200),
});
export type WebUser = z.infer<typeof WebUser>;

export type Sha256Digest = z.infer<typeof Sha256Digest>;
export type Sha512Digest = z.infer<typeof Sha512Digest>;

/** A request the collector itself made through the recording browser context (beyond what the page loaded), and why; `status` null when it got no answer. */
export const CollectorRequest = z.object({ url: z.string(), purpose: z.string(), status: z.number().int().nullable() });
export type CollectorRequest = z.infer<typeof CollectorRequest>;
