/** The certificate's input, and the small HTML helpers every part of it uses (all text escaped). */
import type { AnnotationsDocument } from '../../schemas/annotation.js';
import type { Artifact } from '../../schemas/artifact.js';
import type { CustodyEvent, SignatureRecord, TimestampRecord } from '../../schemas/custody.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import type { PostDocument } from '../../schemas/post.js';

/** Image types that may be embedded as data: URIs. */
export const EMBEDDABLE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

export interface CertificateCapture {
  manifest: CaptureManifest;
  manifestDigest: string;
  signature: SignatureRecord | null;
  timestamps: TimestampRecord[];
  /** `data:image/...;base64,...` of the screenshot (or its thumbnail), or null when too large/absent. */
  screenshotDataUri: string | null;
  /**
   * Name of the sealed artifact the embedded image was made from, when it is not the screenshot
   * itself (multi-capture certificates show a JPEG rendering of the sealed thumbnail).
   */
  screenshotShownFrom?: string | null;
  /** The capture's sealed post.json, when a platform collector wrote one (author, text, published time, what the platform showed). */
  post?: PostDocument | null;
  /** Path of each artifact inside the bag, by artifact name. */
  bagPathOf: (a: Artifact) => string;
}

export interface CertificateInput {
  caseId: string;
  organization: string;
  generatedAt: string;
  generatedBy: string;
  captures: CertificateCapture[];
  events: CustodyEvent[];
  /** Events of the case log this package does not disclose (elided to their hashes). */
  elidedEvents?: number;
  head: { seq: number; hash: string; time: string; timestamps: TimestampRecord[] } | null;
  /** The plain-language verification text (VERIFY.txt), or the part of it shown in the certificate. */
  verifyText: string;
  /**
   * What authenticates the package: its content manifest digest (recorded in the signed custody
   * log), the signing key and the TSA root(s) a recipient must confirm independently.
   */
  authenticity?: { packageId: string; contentManifestDigest: string; signingKey: string; tsaRoots: Array<{ fingerprint: string; subject: string }> };
  /** Said above the verification text when it is abridged (e.g. commands shown for one capture of many). */
  verifyNote?: string;
  /** Analyst tags and notes of the captures (data/annotations.json): shown in a section of their own, apart from the evidence. */
  annotations?: AnnotationsDocument;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const t = (v: unknown) => `<span dir="auto">${escapeHtml(v)}</span>`;
export const code = (v: unknown) => `<code>${escapeHtml(v)}</code>`;
/** A timestamp that must not wrap. */
export const time = (v: unknown) => `<time>${escapeHtml(v)}</time>`;
/** Captured text as a block of its own. */
export const textBlock = (v: unknown, cls = 'captured') => `<p class="${cls}" dir="auto">${escapeHtml(v)}</p>`;

export function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${valueHtml}</td></tr>`;
}

/** Shorten long text: keep the start and the end, say how long it was. */
export function truncateMiddle(s: string, max = 140): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  const tail = Math.min(30, Math.floor(max / 4));
  return `${chars.slice(0, max - tail - 1).join('')}…${chars.slice(-tail).join('')} (${chars.length} characters)`;
}

export const groupDigits = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
export function formatSize(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? `${groupDigits(n)} bytes` : `${groupDigits(n)} bytes (${v.toFixed(1)} ${units[u]})`;
}

/** `2026-03-01 11:00:00.000 (Europe/Paris, GMT+1)`, or null for an unknown time zone or a UTC host. */
export function inZone(iso: string, timeZone: string): string | null {
  if (/^(utc|etc\/utc|gmt|z)$/i.test(timeZone)) return null;
  try {
    const parts = new Intl.DateTimeFormat('en-GB', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
      fractionalSecondDigits: 3, hourCycle: 'h23', timeZoneName: 'shortOffset',
    }).formatToParts(new Date(iso));
    const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? '';
    return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}:${p('second')}.${p('fractionalSecond')} (${timeZone}, ${p('timeZoneName')})`;
  } catch {
    return null;
  }
}

/** `sha256:<hex>` → `<hex>` (what sha256sum prints); anything else unchanged. */
export const hexOf = (digest: string) => digest.replace(/^sha(?:256|512):/, '');
