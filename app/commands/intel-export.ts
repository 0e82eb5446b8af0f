import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mispEvent, stixBundle } from '../../analysis/intel-export.js';
import { sha256Digest } from '../../evidence/canonical.js';
import { loadCapture } from '../../evidence/package/captures.js';
import { sealedCaptureIds } from '../../evidence/store.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { Tlp } from '../../schemas/share.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { cliOperator, err, out, withServices } from './common.js';
import { usableOutputPath } from './output-path.js';

/**
 * Intelligence export of a case or a selection (STIX 2.1 bundle or MISP event), from the sealed
 * manifests; each object names its capture id and manifest digest. Recorded as `exported`.
 */
export async function intelExportCommand(config: Config, caseId: string, opts: { format: 'stix' | 'misp'; captureIds?: string[]; tlp?: string; out?: string; operator?: string }): Promise<ExitCode> {
  const tlp = Tlp.safeParse((opts.tlp ?? 'amber').toLowerCase().replace(/^tlp:/, ''));
  if (!tlp.success) throw new PermanentError('INVALID_INPUT', `--tlp ${opts.tlp}: one of ${Tlp.options.join(', ')} (TLP 2.0)`);
  const outPath = opts.out ? path.resolve(opts.out) : null;
  if (outPath) usableOutputPath(outPath);
  const operator = cliOperator(opts.operator ?? os.userInfo().username);
  await withServices(config, async (s) => {
    const ids = opts.captureIds?.length ? [...new Set(opts.captureIds)] : await sealedCaptureIds(s.store, caseId);
    if (ids.length === 0) throw new PermanentError('NOT_FOUND', `case ${caseId} has no captures to export`);
    const captures = await Promise.all(ids.map(async (id) => {
      const c = await loadCapture(s.store, caseId, id);
      return { manifest: c.manifest, manifestDigest: c.digest };
    }));
    const o = { caseId, organization: 'Exhibit', tlp: tlp.data, now: new Date(s.clock.now()).toISOString() };
    const text = `${JSON.stringify(opts.format === 'stix' ? stixBundle(captures, o) : mispEvent(captures, o), null, 2)}\n`;
    if (outPath) await writeFile(outPath, text, { flag: 'wx' });
    else out(text.trimEnd());
    const digest = sha256Digest(Buffer.from(text));
    await s.custody.append({
      caseId,
      actor: { type: 'operator', id: operator.name, role: 'analyst', osUser: operator.osUser, host: operator.host },
      action: 'exported',
      subject: { digests: [digest] },
      details: { format: opts.format === 'stix' ? 'stix-2.1' : 'misp', tlp: tlp.data, captureIds: ids.sort(), sha256: digest, ...(outPath ? { file: path.basename(outPath) } : {}) },
    });
    if (outPath) err(`exported ${ids.length} capture(s) of ${caseId} as ${opts.format.toUpperCase()} (TLP:${tlp.data.toUpperCase()}) to ${outPath}; ${digest}`);
  });
  return EXIT.OK;
}
