import { z } from 'zod';

/**
 * Intelligence exports (STIX 2.1, MISP): the informal channel between agencies. TLP 2.0 levels
 * (FIRST, 2022) as the command line and the API name them.
 */
export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
export const TlpLevel = z.enum(TLP_LEVELS);
export type TlpLevel = z.infer<typeof TlpLevel>;

export const INTEL_FORMATS = ['stix', 'misp'] as const;
export const IntelFormat = z.enum(INTEL_FORMATS);
export type IntelFormat = z.infer<typeof IntelFormat>;
