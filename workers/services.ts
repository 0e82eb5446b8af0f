import type { Redis } from 'ioredis';
import type { Clock, IdGenerator } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Software } from '../lib/software.js';
import type { Config } from '../schemas/config.js';
import type { CustodyLog } from '../evidence/custody.js';
import type { KeyStore } from '../evidence/keys.js';
import type { EvidenceStore } from '../evidence/store.js';
import type { Queues } from './queues.js';
import type { RedisTarget } from './redis.js';

/** Everything the faces (CLI, API) and the workers share: opened once, passed down explicitly. */
export interface Services {
  config: Config;
  logger: Logger;
  clock: Clock;
  newId: IdGenerator;
  software: Software;
  store: EvidenceStore;
  redisTarget: RedisTarget;
  redis: Redis;
  queues: Queues;
  custody: CustodyLog;
  keys: KeyStore;
  tsaTrustAnchors: string[];
  close(): Promise<void>;
}
