import type { UserRecord } from '../../schemas/api.js';
import type { CustodyActor } from '../../schemas/custody.js';

/** How an API user appears in custody events. */
export const actorOf = (user: UserRecord): CustodyActor => ({ type: 'user', id: user.name, role: user.role });
