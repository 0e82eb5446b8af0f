import { v7 as uuidv7 } from 'uuid';

/** Injected wherever time or ids end up in evidence, so tests can make manifests byte-stable. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export type IdGenerator = () => string;
export const newId: IdGenerator = () => uuidv7();

/** ISO-8601 UTC with `Z`. */
export function isoUtc(d: Date): string {
  return d.toISOString();
}
