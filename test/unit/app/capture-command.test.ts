import { describe, expect, it } from 'vitest';
import { captureRequestCommon } from '../../../app/commands/capture.js';

describe('captureRequestCommon (what every URL of one `exhibit capture` shares)', () => {
  const base = { caseId: 'C-1', operator: 'analyst-01', allowPrivateNetwork: false, force: false };

  it('carries only what was asked for (what the bulk-submit benchmark submits)', () => {
    expect(captureRequestCommon(base)).toEqual({ caseId: 'C-1', requestedBy: 'analyst-01', options: {} });
  });

  it('carries every flag into the request options', () => {
    expect(captureRequestCommon({ ...base, legalBasis: 'Warrant 1', allowPrivateNetwork: true, force: true, timeoutMs: 5_000, account: 'acct-1', withProfile: true })).toEqual({
      caseId: 'C-1',
      requestedBy: 'analyst-01',
      legalBasis: 'Warrant 1',
      options: { allowPrivateNetwork: true, force: true, timeoutMs: 5_000, account: 'acct-1', withProfile: true },
    });
  });
});
