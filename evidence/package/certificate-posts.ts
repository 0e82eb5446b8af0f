/**
 * The post a certificate entry names (author, text, published time): read from the capture's sealed
 * post.json, checked against its digest. A post.json that is too large, unreadable or not of this
 * schema is left out, not fatal: the entry falls back to the page facts and the file is still in the package.
 */
import { mapLimit } from '../../lib/concurrency.js';
import { IntegrityError } from '../../lib/errors.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import { PostDocument } from '../../schemas/post.js';
import { sha256Digest } from '../canonical.js';
import type { EvidenceStore } from '../store.js';

/** Largest post.json (bytes) read for the certificate. @defaultValue 8 MiB */
export const MAX_CERTIFICATE_POST_BYTES = 8 * 1024 * 1024;

export async function certificatePost(store: EvidenceStore, m: CaptureManifest): Promise<PostDocument | null> {
  const a = m.artifacts.find((x) => x.role === 'post' && !x.derivedFrom && x.name.endsWith('post.json'));
  if (!a || a.size > MAX_CERTIFICATE_POST_BYTES) return null;
  const bytes = await store.getBytes(a.storeKey);
  if (sha256Digest(bytes) !== a.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${a.name} in the store does not match its manifest digest`);
  try {
    const doc = PostDocument.safeParse(JSON.parse(bytes.toString('utf8')));
    return doc.success ? doc.data : null;
  } catch {
    return null;
  }
}

/** Every capture's post, in order, a few at a time. */
export function certificatePosts(store: EvidenceStore, manifests: readonly CaptureManifest[]): Promise<Array<PostDocument | null>> {
  const p = mapLimit(manifests, 8, (m) => certificatePost(store, m));
  p.catch(() => undefined);
  return p;
}
