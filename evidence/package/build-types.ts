/** What building a package takes, what it returns, and the state its steps share (build.ts). */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import type { CustodyActor, CustodyEvent } from '../../schemas/custody.js';
import type { ShareRecord } from '../../schemas/share.js';
import type { CustodyLog, SignHeadOptions } from '../custody.js';
import type { KeyStore } from '../keys.js';
import type { EvidenceStore } from '../store.js';
import type { ReceivedPart } from './build-received.js';
import type { ShareSpec } from './build-share.js';
import type { RenderPdf } from './certificate.js';
import type { PathClaims } from './captures.js';
import type { CertificateImages } from './images.js';
import type { PackageProgress, PayloadEntry, PayloadZip } from './payload-zip.js';

/**
 * Payload files up to this size are read whole (several at once, ahead of the zip writer), checked
 * against their sealed digests and handed to the zip as one buffer; larger ones stream through the
 * hasher. Reading small files one by one, each through a chain of streams, cost ~1.5 ms a file.
 * @defaultValue 4 MiB
 */
export const BUFFERED_ENTRY_MAX_BYTES = 4 * 1024 * 1024;

/** A derived analysis product to carry under data/analysis/ (a case graph): files, and what it is. */
export interface DerivedProduct {
  kind: 'case-graph';
  /** One sentence: what was derived, from what. Recorded in the content manifest. */
  description: string;
  /** Files, by name under data/analysis/. */
  files: Array<{ name: string; bytes: Buffer }>;
}

export interface BuildPackageOptions {
  caseId: string;
  /** Subset of captures; all captures of the case when absent. */
  captureIds?: string[];
  /** Zip file to write; refused if it exists. */
  outPath: string;
  /** The package's id (a UUID), e.g. the API's package job id. @defaultValue a new UUIDv7 */
  packageId?: string;
  /** Who builds the package (recorded in the `packaged` event and bag-info.txt). */
  actor: CustodyActor;
  store: EvidenceStore;
  custody: CustodyLog;
  keys: KeyStore;
  /** TSAs and their trust for timestamping the custody head. */
  headSigning: Omit<SignHeadOptions, 'keys'>;
  /** Trust anchors of the TSAs (PEM files) copied to data/tsa/ca.pem (config `tsa.caFiles`). */
  tsaCertFiles: string[];
  renderPdf: RenderPdf;
  clock: Clock;
  logger?: Logger;
  /** bag-info.txt Source-Organization. @defaultValue `Exhibit` */
  organization?: string;
  /** Exhibit version for Bag-Software-Agent. @defaultValue `unknown` */
  exhibitVersion?: string;
  onProgress?: (p: PackageProgress) => void;
  /** Build the package for a partner agency: withheld artifacts and a signed share record (build-share.ts). */
  share?: ShareSpec;
  /**
   * Derived analysis products, built from exactly the captures the package holds (called once
   * they are chosen); their files go under data/analysis/, listed in the content manifest and
   * covered by the package seal like every other file.
   */
  analysis?: (captureIds: string[]) => Promise<DerivedProduct[]>;
  /** Payload files up to this size are read whole; larger ones stream. @defaultValue {@link BUFFERED_ENTRY_MAX_BYTES} */
  bufferedEntryMaxBytes?: number;
  /**
   * Also carry one WACZ of every packaged capture's WARCs at `data/case.wacz` (case-wacz.ts).
   * @defaultValue false
   */
  caseWacz?: boolean;
}

export interface BuiltPackage {
  path: string;
  packageId: string;
  /** `sha256:` of data/package-content.json, recorded in the `packaged` custody event. */
  contentManifestDigest: string;
  /**
   * True when the head covering the `packaged` event and the package seal both carry a TSA token.
   * False: the package was written but is UNSEALED (no TSA answered) and will not verify.
   */
  sealed: boolean;
  /** Why the package is unsealed (TSA failures), when it is. */
  unsealedReason: string | null;
  /** Captures the log records as sealed that a whole-case package leaves out, and why. */
  omitted: Array<{ captureId: string; reason: string }>;
  /** `sha256:` of the zip file. */
  sha256: string;
  size: number;
  bagName: string;
  captureIds: string[];
  /** The signed head the bag ends with. */
  headSeq: number;
  /** The `packaged` custody event (inside the package, covered by the head it ends with). */
  event: CustodyEvent;
  /** The `exported` custody event appended after writing, with the zip's SHA-256 (necessarily outside the zip). */
  exported: CustodyEvent;
  /** Layout description (also data/README.txt). */
  layout: string;
  /** For a share: the share record and its digest (also in the `shared` custody event). */
  share: { record: ShareRecord; digest: string; event: CustodyEvent } | null;
}

/** What every build step reads: the options, resolved, and the zip being written. */
export interface BuildState {
  opts: BuildPackageOptions;
  caseId: string;
  store: EvidenceStore;
  clock: Clock;
  /** Absolute path of the zip. */
  outPath: string;
  /** The top-level folder in the zip. */
  bagName: string;
  log: Logger | undefined;
  bufferedMax: number;
  /** The captures packaged, deduplicated (this deployment's own). */
  captureIds: string[];
  /** Packages received from partners that the package carries whole (build-received.ts). */
  received: ReceivedPart[];
  /** More than one capture: the certificate shows thumbnails. */
  multi: boolean;
  progress: (p: PackageProgress) => void;
  writer: PayloadZip;
  images: CertificateImages;
  claims: PathClaims;
  /** The case WACZ's zip entry, once built (listed in the content manifest). */
  caseWacz?: PayloadEntry | null;
}
