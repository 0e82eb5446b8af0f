import { z } from 'zod';
import type { ErrorCode } from './errors.js';

/** Longest capture URL, as given and once normalised (`new URL` escapes spaces: ` ` → `%20`). */
export const TARGET_URL_MAX_CHARS = 8192;

const MAX_QUOTED = 200;
/**
 * The user-info part of a URL as typed: after `//`, and after a scheme with any number of slashes
 * or backslashes, since URL parsers read `http:/u:p@h`, `https:\\u:p@h` and `ftp:u:p@h` as credentials too.
 */
const USERINFO = /(^\s*[a-z][a-z0-9+.-]*:[/\\]*|\/\/)[^/?#@\s\\]*@/i;

/** `text` with a `user:password@` part replaced by `***@`, for text that may not parse as a URL. */
export function maskUserinfo(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

/** User input quoted for an error message: credentials masked, truncated, JSON-escaped. */
function quote(input: string): string {
  const masked = maskUserinfo(input);
  return JSON.stringify(masked.length > MAX_QUOTED ? `${masked.slice(0, MAX_QUOTED)}…` : masked);
}

/** The error codes a capture target is refused with. */
export type TargetUrlCode = Extract<ErrorCode, 'INVALID_URL' | 'UNSUPPORTED_SCHEME'>;

/**
 * The issue of a refused {@link TargetUrl}: its error code (`INVALID_URL` when the string was empty,
 * too long or not a string), so a caller can answer with the same code whichever rule refused it.
 */
export function targetUrlIssueCode(issue: z.core.$ZodIssue): TargetUrlCode {
  const code = (issue as { params?: { code?: unknown } }).params?.code;
  return code === 'UNSUPPORTED_SCHEME' ? 'UNSUPPORTED_SCHEME' : 'INVALID_URL';
}

/** Whether an issue came from the target URL rule (as opposed to a field's shape). */
export const isTargetUrlIssue = (issue: z.core.$ZodIssue): boolean => typeof (issue as { params?: { code?: unknown } }).params?.code === 'string';

/** The rule itself, on a string within the length limit: the normalised href, or why not. */
function normalise(input: string): { ok: true; href: string } | { ok: false; code: TargetUrlCode; message: string } {
  if (input.trim() === '') return { ok: false, code: 'INVALID_URL', message: 'not a valid URL: the input is empty' };
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return { ok: false, code: 'INVALID_URL', message: `not a valid URL: ${quote(input)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, code: 'UNSUPPORTED_SCHEME', message: `unsupported scheme "${url.protocol}" in ${quote(input)}: only http and https can be captured` };
  }
  if (url.hostname === '') return { ok: false, code: 'INVALID_URL', message: `not a valid URL: ${quote(input)} has no host` };
  if (url.port === '0') return { ok: false, code: 'INVALID_URL', message: `not a valid URL: ${quote(input)} has port 0` };
  if (url.href.length > TARGET_URL_MAX_CHARS) {
    return { ok: false, code: 'INVALID_URL', message: `not a valid URL: ${quote(input)} is longer than ${TARGET_URL_MAX_CHARS} characters once normalised (${url.href.length})` };
  }
  return { ok: true, href: url.href };
}

/**
 * A capture target as given (a URL list line, an API field): a non-empty string of at most
 * {@link TARGET_URL_MAX_CHARS} characters. Where each URL of a list is answered on its own, the
 * list holds these and {@link TargetUrl} is applied per URL.
 */
export const TargetUrlText = z
  .string({ error: 'not a valid URL: not a string' })
  .min(1, { error: 'not a valid URL: the input is empty' })
  .max(TARGET_URL_MAX_CHARS, { error: (iss) => `not a valid URL: ${quote(String(iss.input))} is longer than ${TARGET_URL_MAX_CHARS} characters` });

/**
 * A capture target: an absolute http(s) URL with a host and a port other than 0, parsed to its
 * normalised href (the form deduplication, job ids, custody events and manifests use). It may carry
 * credentials: print it through `redactUrl`. Parse it where a request enters (submission, a
 * watch), then pass the href inward; a refused target's issue carries its error code in
 * `params.code` (see {@link targetUrlIssueCode}).
 */
export const TargetUrl = TargetUrlText.transform((input, ctx) => {
  const r = normalise(input);
  if (r.ok) return r.href;
  ctx.issues.push({ code: 'custom', message: r.message, input, params: { code: r.code } });
  return z.NEVER;
});
export type TargetUrl = z.output<typeof TargetUrl>;
