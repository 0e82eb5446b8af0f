import type { Config } from '../../schemas/config.js';
import { KeyStore } from '../../evidence/keys.js';
import { rotateSigningKey } from '../../evidence/key-rotation.js';
import { systemClock } from '../../lib/clock.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

/**
 * The Ed25519 signing keys. `rotate` makes a new active key and a rotation statement signed by the
 * outgoing key; old public keys stay in the store so everything they signed still verifies
 * (packages carry every key their signatures name, and the rotation statements).
 * Running workers keep the key they loaded until restarted.
 */
export async function keysCommand(config: Config, action: string, json: boolean): Promise<ExitCode> {
  const keys = new KeyStore(config.keys.dir);
  if (action === 'rotate') {
    const { key, rotation } = await rotateSigningKey(keys, systemClock);
    if (json) out(JSON.stringify({ active: key.fingerprint, previous: rotation?.rotation.previous ?? null }));
    else {
      out(key.fingerprint);
      if (rotation) err(`rotation from ${rotation.rotation.previous} signed by the outgoing key; packages carry it, so recipients who pinned the old key authenticate the new one`);
      err('new signing key active; restart running workers so they sign with it');
    }
    return EXIT.OK;
  }
  await keys.activeKey();
  const all = await keys.publicKeys();
  if (json) out(JSON.stringify(all.map(({ fingerprint, active, pem }) => ({ fingerprint, active, pem })), null, 2));
  else for (const k of all) out(`${k.fingerprint}${k.active ? '  (active)' : ''}`);
  return EXIT.OK;
}
