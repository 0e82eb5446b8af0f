/**
 * What every check of a package shares: the report the checks add to, and the bag they read.
 * Each check is reported by the bag-relative path of the item it is about.
 */
import type { FileRegion } from './bag-files.js';
import type { PackageReport, VerifyCheck } from '../../schemas/custody.js';

export class Report {
  readonly checks: VerifyCheck[] = [];
  add(item: string, check: string, ok: boolean, message: string): boolean {
    this.checks.push({ item, check, ok, message });
    return ok;
  }
  pass(item: string, check: string, message = 'ok') {
    return this.add(item, check, true, message);
  }
  fail(item: string, check: string, message: string) {
    return this.add(item, check, false, message);
  }
}

export const errMsg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** What verify has found so far, kept when a later check stops verification. */
export interface VerifyResult {
  caseId: string | null;
  captureIds: string[];
  events: number;
  /** What a share record states, once checked. */
  share?: PackageReport['share'];
  custodyHead?: { seq: number; hash: string } | null;
  handOvers?: NonNullable<PackageReport['handOvers']>;
}

/** The bag being checked: its files (bag-relative POSIX paths) and the report. */
export interface BagContext {
  files: string[];
  fileSet: Set<string>;
  /** Files under data/. */
  payloadFiles: string[];
  read(p: string): Promise<Buffer>;
  /** See BagFiles.region. */
  region(p: string): Promise<FileRegion | null>;
  /** See BagFiles.stream. */
  stream(p: string): AsyncIterable<Uint8Array>;
  report: Report;
}
