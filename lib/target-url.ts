import { maskUserinfo, TargetUrl, targetUrlIssueCode } from '../schemas/target-url.js';
import { PermanentError } from './errors.js';

/**
 * A capture target as a URL, by the {@link TargetUrl} rule, for code that takes a target outside a
 * request (a collector called directly, a redirect it is about to follow).
 * @throws PermanentError `INVALID_URL` for malformed input, `UNSUPPORTED_SCHEME` for any scheme but http(s).
 */
export function parseTargetUrl(input: unknown): URL {
  const r = TargetUrl.safeParse(input);
  if (r.success) return new URL(r.data);
  const issue = r.error.issues[0]!;
  throw new PermanentError(targetUrlIssueCode(issue), issue.message);
}

/**
 * The URL with any username and password replaced by `***`, safe for logs and error messages.
 * Accepts unparseable strings too (masks a `//user:pass@` prefix textually).
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return maskUserinfo(String(url));
  }
  if (u.username) u.username = '***';
  if (u.password) u.password = '***';
  return u.href;
}
