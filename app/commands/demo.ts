import path from 'node:path';
import { loadConfig } from '../../lib/config.js';
import { startLocalTsa } from '../../test/support/tsa.js';
import { startSampleSite } from '../../test/fixtures/sample-site/server.js';
import { openServices, startWorkers } from '../../workers/runtime.js';
import { submitCaptures } from '../../workers/submit.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { followCaptures } from './capture.js';
import { commandLogger, err, out } from './common.js';
import { packageCase } from './package.js';
import { showCommand } from './show.js';
import { verifyAndReport } from './verify.js';

interface DemoGlobals {
  config?: string;
  stateDir?: string;
  logLevel?: string;
}

/**
 * The whole story in one command, on the embedded default: a private Redis, the local store, a
 * local OpenSSL TSA and the bundled sample site on loopback. Capture → seal → package → verify.
 */
export async function demoCommand(g: DemoGlobals): Promise<ExitCode> {
  const config0 = loadConfig({ file: g.config, overrides: g.stateDir ? { stateDir: g.stateDir } : {} });
  // The demo TSA keeps its keys in the state dir, so heads and captures timestamped by earlier demo
  // runs still chain to the CA that later packages carry.
  const tsa = await startLocalTsa({ caName: 'Exhibit Demo TSA CA (local, not trusted anywhere else)', dir: path.join(config0.stateDir, 'demo-tsa') });
  const site = await startSampleSite();
  try {
    const config = loadConfig({
      file: g.config,
      overrides: {
        ...(g.stateDir ? { stateDir: g.stateDir } : {}),
        ...(g.logLevel ? { log: { level: g.logLevel } } : {}),
        store: { kind: 'fs' },
        tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
      },
    });
    const caseId = `DEMO-${new Date().toISOString().slice(0, 10)}`;
    const logger = commandLogger(config);
    const s = await openServices(config, logger);
    let captureId: string;
    try {
      err(`[demo] state directory ${config.stateDir}; evidence store ${s.store.location}`);
      err(`[demo] sample site ${site.url}, local RFC 3161 TSA ${tsa.url}, Redis ${s.redisTarget.describe}`);
      const url = `${site.url}/post/1`;
      const [outcome] = await submitCaptures(
        [{ url, caseId, requestedBy: 'demo-analyst', legalBasis: 'Demonstration only — no legal process', options: { allowPrivateNetwork: true, force: true } }],
        s,
      );
      if (!outcome?.ok) {
        err(`[demo] submission rejected: ${outcome ? JSON.stringify(outcome.failure) : 'no outcome'}`);
        return EXIT.INTERNAL;
      }
      captureId = outcome.captureId;
      err(`[demo] capturing ${url} into case ${caseId}`);
      const running = await startWorkers(s);
      let status;
      try {
        status = (await followCaptures(s, [captureId])).get(captureId)!;
      } finally {
        await running.close();
      }
      if (status.state !== 'sealed') {
        err(`[demo] capture ended ${status.state}: ${status.failure ? `${status.failure.code}: ${status.failure.message}` : ''}`);
        return EXIT.INTERNAL;
      }
    } finally {
      await s.close();
    }
    out();
    await showCommand(config, captureId, caseId, false);
    out();
    const zip = path.join(config.stateDir, 'packages', `${caseId}-${captureId}.zip`);
    const built = await packageCase(config, caseId, { captureIds: [captureId], outPath: zip, operator: 'demo-prosecutor', quiet: false });
    if (!built.sealed) {
      err(`[demo] the package is UNSEALED (${built.unsealedReason}); it cannot verify`);
      return EXIT.UNSEALED;
    }
    out();
    // The demo verifies as this deployment: its own key store and its configured (demo) TSA CA are
    // pinned, and the output says so; a recipient elsewhere would pin them with `exhibit trust add`.
    const code = await verifyAndReport(built.path, { json: false, local: config });
    out();
    out(built.path);
    return code;
  } finally {
    await site.close();
    await tsa.close();
  }
}
