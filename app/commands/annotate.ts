import type { Config } from '../../schemas/config.js';
import type { CustodyActor } from '../../schemas/custody.js';
import { addNote, changeTag } from '../../evidence/annotations.js';
import { sha256Digest } from '../../evidence/canonical.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { isolate } from '../post-view.js';
import { cliOperator, out, withServices } from './common.js';
import { findCaptureCase, readManifest } from './show.js';

export interface AnnotateOptions {
  caseId?: string;
  /** Who annotates (recorded with the OS user and host); default the OS user. */
  operator?: string;
  json?: boolean;
}

function actorFor(name: string | undefined): CustodyActor {
  const op = cliOperator(name ?? 'unknown');
  return { type: 'operator', id: name ?? op.osUser, role: 'analyst', osUser: op.osUser, host: op.host };
}

/** `exhibit tag <capture> <tag> [--remove]`: a tag-added (or tag-removed) custody event; the capture is not changed. */
export async function tagCommand(config: Config, captureId: string, tag: string, remove: boolean, opts: AnnotateOptions): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const caseId = opts.caseId ?? (await findCaptureCase(s, captureId));
    const { bytes } = await readManifest(s, caseId, captureId);
    const r = await changeTag(s.custody, { caseId, captureId, manifestDigest: sha256Digest(bytes), actor: actorFor(opts.operator), via: 'cli', tag, remove });
    if (opts.json) out(JSON.stringify({ recorded: r.event !== null, seq: r.event?.seq ?? null, annotations: r.annotations }, null, 2));
    else if (r.event) out(`${remove ? 'removed' : 'tagged'}: ${isolate(tag)} ${remove ? 'from' : 'on'} capture ${captureId} (custody event ${r.event.seq}, ${r.event.hash})`);
    else out(`nothing to record: capture ${captureId} ${remove ? 'does not have' : 'already has'} the tag ${isolate(tag)}`);
    return EXIT.OK;
  });
}

/** `exhibit note <capture> "<text>"`: a note-added custody event. */
export async function noteCommand(config: Config, captureId: string, note: string, opts: AnnotateOptions): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const caseId = opts.caseId ?? (await findCaptureCase(s, captureId));
    const { bytes } = await readManifest(s, caseId, captureId);
    const r = await addNote(s.custody, { caseId, captureId, manifestDigest: sha256Digest(bytes), actor: actorFor(opts.operator), via: 'cli', note });
    if (opts.json) out(JSON.stringify({ recorded: true, seq: r.event.seq, annotations: r.annotations }, null, 2));
    else out(`note added to capture ${captureId} (custody event ${r.event.seq}, ${r.event.hash})`);
    return EXIT.OK;
  });
}
