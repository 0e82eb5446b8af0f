import { z } from 'zod';

/**
 * Intelligence exports (STIX 2.1, MISP): the informal channel between agencies. Their TLP 2.0
 * marking is the one a share carries (schemas/share.ts `Tlp`).
 */
export const INTEL_FORMATS = ['stix', 'misp'] as const;
export const IntelFormat = z.enum(INTEL_FORMATS);
export type IntelFormat = z.infer<typeof IntelFormat>;
