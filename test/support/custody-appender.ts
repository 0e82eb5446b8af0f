/**
 * Child process for the custody concurrency test: its own Redis connection and its own FsStore
 * instance on the shared store directory, appending N events to one case as fast as it can.
 * argv: redisUrl storeDir prefix caseId count workerId
 */
import { Redis } from 'ioredis';
import { systemClock } from '../../lib/clock.js';
import { CustodyLog } from '../../evidence/custody.js';
import { FsStore } from '../../evidence/fs-store.js';

const [redisUrl, storeDir, prefix, caseId, countRaw, workerId] = process.argv.slice(2);
if (!redisUrl || !storeDir || !prefix || !caseId || !countRaw || !workerId) throw new Error('usage: custody-appender redisUrl storeDir prefix caseId count workerId');
const redis = new Redis(redisUrl);
const store = await FsStore.open(storeDir);
const log = new CustodyLog({ redis, store, clock: systemClock, prefix });
// Start together: wait for the go signal on stdin.
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.destroy();
for (let i = 0; i < Number(countRaw); i++) {
  await log.append({
    caseId,
    actor: { type: 'service', id: `worker-${workerId}`, role: 'sealer', authorisedBy: 'analyst.one' },
    action: 'artifact-sealed',
    subject: { digests: [`sha256:${String(i).padStart(64, '0')}`] },
    details: { worker: workerId, i },
    idempotencyKey: `w${workerId}:${i}`,
  });
}
redis.disconnect();
process.stdout.write('done\n');
