/**
 * data/annotations.json (analyst tags and notes, not evidence) must say exactly what the bag's
 * custody log says: the file is derived from the `tag-added`, `tag-removed` and `note-added` events,
 * so it is recomputed from them and compared. A package without the file (made before annotations
 * existed) has nothing to check here; removing it from a newer one breaks the package seal.
 */
import { AnnotationsDocument } from '../../schemas/annotation.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import { annotationsDocument } from '../annotations.js';
import { canonicalBytes } from '../canonical.js';
import { errMsg, type BagContext } from './checks.js';
import { bagPaths } from './layout.js';

export async function checkAnnotations(ctx: BagContext, opts: { caseId: string | null; events: CustodyEvent[]; captureIds: string[] }): Promise<void> {
  const p = bagPaths.annotations;
  if (!ctx.fileSet.has(p) || !opts.caseId) return;
  let doc: AnnotationsDocument;
  try {
    doc = AnnotationsDocument.parse(JSON.parse((await ctx.read(p)).toString('utf8')));
  } catch (err) {
    ctx.report.fail(p, 'annotations', `not an annotations document: ${errMsg(err)}`);
    return;
  }
  const expected = annotationsDocument(opts.caseId, opts.events, opts.captureIds);
  if (doc.caseId !== opts.caseId) {
    ctx.report.fail(p, 'annotations', `annotations are for case ${doc.caseId}, the package for ${opts.caseId}`);
    return;
  }
  const same = canonicalBytes(doc.captures).equals(canonicalBytes(expected.captures));
  const n = expected.captures.reduce((s, c) => s + c.tags.length + c.notes.length, 0);
  if (same) ctx.report.pass(p, 'annotations', `${n} analyst annotation(s) of ${expected.captures.length} capture(s), each matching its custody event`);
  else ctx.report.fail(p, 'annotations', `the tags and notes listed differ from those the custody log records (${n} annotation(s) of ${expected.captures.length} capture(s) there)`);
}
