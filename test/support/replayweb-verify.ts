/**
 * ReplayWeb.page's own check of a WACZ signature, run outside the browser: the `verifyWACZSignature`
 * of the wabac.js bundled with the installed `replaywebpage` (its TypeScript source, under Node's
 * WebCrypto, as the service worker runs it). Reads the `signedData` JSON on stdin and prints the
 * results list (`[{id: 'signature', matched: true|false}, …]`); exits 1 when the import or the check throws.
 *
 *     node --import tsx test/support/replayweb-verify.ts < signedData.json
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const certutils = path.resolve('node_modules/@webrecorder/wabac/src/wacz/certutils.ts');
const { verifyWACZSignature } = (await import(pathToFileURL(certutils).href)) as { verifyWACZSignature(d: unknown): Promise<Array<{ id: string; expected: unknown; matched: unknown }>> };
try {
  const results = await verifyWACZSignature(JSON.parse(readFileSync(0, 'utf8')));
  process.stdout.write(`${JSON.stringify(results)}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
  process.exit(1);
}
