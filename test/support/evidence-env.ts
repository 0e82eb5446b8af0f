/**
 * Test environment for chain-of-custody integration tests: a temp FsStore and key store, a local
 * OpenSSL TSA, a CustodyLog on real Redis with a random prefix, and a Chromium PDF renderer.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { CustodyActor } from '../../schemas/custody.js';
import { CustodyLog } from '../../evidence/custody.js';
import { FsStore } from '../../evidence/fs-store.js';
import { KeyStore } from '../../evidence/keys.js';
import { buildPackage, type BuildPackageOptions, type BuiltPackage } from '../../evidence/package/build.js';
import type { TimestampDeps, TsaEndpoint } from '../../evidence/timestamp.js';
import { localAnchors, type TrustAnchors } from '../../evidence/trust.js';
import { startPdfRenderer } from './render-pdf.js';
import { makeSealedCapture, type ExtraArtifact, type SealedCapture } from './sealed-capture.js';
import { startLocalTsa, type LocalTsa } from './tsa.js';

export interface EvidenceEnv {
  dir: string;
  store: FsStore;
  keys: KeyStore;
  tsa: LocalTsa;
  redis: Redis;
  prefix: string;
  custody: CustodyLog;
  clock: Clock;
  tsas: TsaEndpoint[];
  timestamp: Omit<TimestampDeps, 'clock' | 'logger'>;
  renderPdf: (html: string, out: string) => Promise<void>;
  seal(caseId: string, opts?: { operator?: string; url?: string; extra?: ExtraArtifact[] }): Promise<SealedCapture>;
  pack(caseId: string, opts?: { captureIds?: string[]; name?: string; caseWacz?: boolean; analysis?: BuildPackageOptions['analysis'] }): Promise<BuiltPackage>;
  /** What this deployment pins: its own key store and its TSA CA (as `exhibit verify` on the same host). */
  anchors(): Promise<{ anchors: TrustAnchors }>;
  close(): Promise<void>;
}

export const PROSECUTOR: CustodyActor = { type: 'user', id: 'prosecutor.one', role: 'prosecutor' };

export async function startEvidenceEnv(redisUrl: string, opts: { pdf?: boolean } = {}): Promise<EvidenceEnv> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-evidence-'));
  const store = await FsStore.open(path.join(dir, 'store'));
  const keys = new KeyStore(path.join(dir, 'keys'));
  const tsa = await startLocalTsa();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const prefix = `t-${randomUUID()}`;
  const clock = systemClock;
  const custody = new CustodyLog({ redis, store, clock, prefix });
  const tsas = [{ url: tsa.url }];
  const timestamp = { trustAnchors: [tsa.caCertPem], attempts: 2, backoffMs: 50, timeoutMs: 10_000 };
  const renderer = opts.pdf === false ? null : await startPdfRenderer();
  const { writeFile } = await import('node:fs/promises');
  const renderPdf = renderer ? renderer.renderPdf : async (_html: string, out: string) => writeFile(out, '%PDF-1.4\n% placeholder\n');
  return {
    dir, store, keys, tsa, redis, prefix, custody, clock, tsas, timestamp, renderPdf,
    seal: (caseId, o = {}) => makeSealedCapture({ caseId, store, clock, custody, attest: { keys, tsas, timestamp }, ...o }),
    pack: (caseId, o = {}) =>
      buildPackage({
        caseId,
        ...(o.captureIds ? { captureIds: o.captureIds } : {}),
        ...(o.analysis ? { analysis: o.analysis } : {}),
        outPath: path.join(dir, `${o.name ?? `${caseId}-${randomUUID().slice(0, 8)}`}.zip`),
        actor: PROSECUTOR,
        store, custody, keys,
        headSigning: { tsas, timestamp },
        tsaCertFiles: [tsa.caCertPath],
        renderPdf, clock,
        organization: 'Exhibit Test Unit',
        exhibitVersion: '0.1.0-test',
        ...(o.caseWacz ? { caseWacz: true } : {}),
      }),
    anchors: async () => ({ anchors: await localAnchors({ trustFile: path.join(dir, 'trust.json'), keysDir: path.join(dir, 'keys'), tsaCaFiles: [tsa.caCertPath] }) }),
    close: async () => {
      await renderer?.close();
      redis.disconnect();
      await tsa.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
