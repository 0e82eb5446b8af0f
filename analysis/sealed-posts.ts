/**
 * Read a case's sealed post.json artifacts from the evidence store: every capture manifest under the
 * case, its `post` artifact read by content address, and the bytes checked against the manifest's
 * SHA-256 before anything is believed. A digest mismatch is an IntegrityError (never skipped); a
 * capture without a readable post.json is listed as skipped with the reason.
 */
import { mapLimit } from '../lib/concurrency.js';
import { IntegrityError } from '../lib/errors.js';
import { StoredCaptureManifest } from '../schemas/manifest.js';
import { PostDocument } from '../schemas/post.js';
import type { CustodyEvent } from '../schemas/custody.js';
import { sha256Digest } from '../evidence/canonical.js';
import { readStoredEvents } from '../evidence/custody.js';
import { storeKeys, type EvidenceStore } from '../evidence/store.js';
import { CaseGraph, type CaseGraphOptions, type SealedPost } from './case-graph.js';

/** post.json documents are small; anything larger is not read (bounded reads). */
export const MAX_POST_JSON_BYTES = 32 * 1024 * 1024;

export interface SkippedCapture {
  captureId: string;
  reason: string;
}

/** Capture ids with a sealed manifest in the case, sorted. */
export async function sealedCaptureIds(store: EvidenceStore, caseId: string): Promise<string[]> {
  const keys = await store.list(storeKeys.captures(caseId));
  return keys.filter((k) => k.endsWith('/manifest.json')).map((k) => k.split('/')[3]!).sort();
}

/** One capture's sealed post.json, or why there is none. */
export async function readSealedPost(store: EvidenceStore, caseId: string, captureId: string): Promise<SealedPost | SkippedCapture> {
  const manifest = StoredCaptureManifest.parse(JSON.parse((await store.getBytes(storeKeys.manifest(caseId, captureId))).toString('utf8')));
  const post = manifest.artifacts.find((a) => a.role === 'post');
  if (!post) return { captureId, reason: 'no post.json in the capture (not a platform capture)' };
  if (post.size > MAX_POST_JSON_BYTES) return { captureId, reason: `post.json is ${post.size} bytes, over the ${MAX_POST_JSON_BYTES}-byte limit for reading` };
  const bytes = await store.getBytes(post.storeKey);
  const actual = sha256Digest(bytes);
  if (actual !== post.sha256) throw new IntegrityError('HASH_MISMATCH', `post.json of capture ${captureId} reads as ${actual} from the store, but its manifest says ${post.sha256}`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { captureId, reason: `post.json is not JSON: ${(err as Error).message}` };
  }
  const doc = PostDocument.safeParse(json);
  if (!doc.success) return { captureId, reason: `post.json does not match the post schema: ${doc.error.issues[0]?.message ?? 'invalid'}` };
  const artifacts = new Map(manifest.artifacts.map((a) => [a.name, { sha256: a.sha256, perceptualHash: a.perceptualHash }]));
  return { caseId, captureId, artifact: post.name, sha256: post.sha256, doc: doc.data, artifacts };
}

export const isSkipped = (r: SealedPost | SkippedCapture): r is SkippedCapture => 'reason' in r;

/** The analyst assertions of a case, from its custody log. */
export async function identityAssertions(store: EvidenceStore, caseId: string): Promise<CustodyEvent[]> {
  return (await readStoredEvents(store, caseId)).map((e) => e.event).filter((e) => e.action === 'identity-asserted');
}

/** Build the graph of one or more cases from the store alone; `only` limits it to those captures (a package's). */
export async function buildCaseGraph(store: EvidenceStore, caseIds: string[], opts: CaseGraphOptions = {}, only?: ReadonlySet<string>): Promise<{ graph: CaseGraph; skipped: SkippedCapture[] }> {
  const graph = new CaseGraph(opts);
  const skipped: SkippedCapture[] = [];
  for (const caseId of caseIds) {
    const ids = (await sealedCaptureIds(store, caseId)).filter((id) => !only || only.has(id));
    const posts = await mapLimit(ids, 16, (id) => readSealedPost(store, caseId, id));
    for (const p of posts) {
      if (isSkipped(p)) skipped.push(p);
      else graph.addCapture(p);
    }
    for (const e of await identityAssertions(store, caseId)) graph.addAssertion(e);
  }
  return { graph, skipped };
}
