import type { Logger } from '../lib/logger.js';
import type { Config } from '../schemas/config.js';
import { FsStore } from './fs-store.js';
import { S3Store } from './s3-store.js';
import type { EvidenceStore } from './store.js';

/**
 * Open the evidence store the config names. `fsRoot` must already be absolute (lib/config.ts
 * resolves it against stateDir); a relative one is taken from the working directory.
 */
export async function openStore(store: Config['store'], opts: { logger?: Logger } = {}): Promise<EvidenceStore> {
  switch (store.kind) {
    case 'fs':
      return FsStore.open(store.fsRoot);
    case 's3':
      return S3Store.open(store.s3, opts);
  }
}
