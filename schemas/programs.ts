import { z } from 'zod';

/** How a program is used: needed to run Exhibit, needed only by tests and benchmarks, or used when present. */
export const PROGRAM_USES = ['runtime', 'test', 'optional'] as const;
export type ProgramUse = (typeof PROGRAM_USES)[number];

/** A Debian package name (Debian policy: lowercase letters, digits, `+`, `-`, `.`). */
const DebianPackage = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'expected a Debian package name');

/** One line of the program list in ./exhibit: an external program Exhibit, its tests or its benchmarks run. */
export const ProgramLine = z.object({
  /** The name looked up on PATH, or an absolute path (a file that must be present, e.g. a font). */
  program: z.string().regex(/^(\/[^\s]+|[A-Za-z0-9][A-Za-z0-9._+-]*)$/, 'expected a command name or an absolute path'),
  use: z.enum(PROGRAM_USES),
  /** The Debian packages that provide it; empty when it does not come from Debian (the `why` says where from). */
  debian: z.array(DebianPackage),
  /** Arguments that make it print its version; null when it has none. */
  versionArgs: z.array(z.string().min(1)).nullable(),
  /** A config key (`capture.chromiumPath`) or environment variable (`EXHIBIT_MINIO_BIN`) naming its path instead. */
  setting: z.string().regex(/^([a-z][A-Za-z]*(\.[a-z][A-Za-z]*)+|EXHIBIT_[A-Z0-9_]+)$/, 'expected a config key or an EXHIBIT_ environment variable').nullable(),
  why: z.string().min(1),
});
export type ProgramLine = z.infer<typeof ProgramLine>;
