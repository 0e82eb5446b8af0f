import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { captureRequestCommon } from '../../../app/commands/capture.js';
import { CaptureRequest } from '../../../schemas/capture.js';

describe('captureRequestCommon (what every URL of one `exhibit capture` shares)', () => {
  const base = { caseId: 'C-1', operator: 'analyst-01', allowPrivateNetwork: false, force: false };
  const operator = { kind: 'cli', name: 'analyst-01', osUser: os.userInfo().username, host: os.hostname() };

  it('carries only what was asked for (what the bulk-submit benchmark submits)', () => {
    expect(captureRequestCommon(base)).toEqual({ caseId: 'C-1', requestedBy: 'analyst-01', operator, options: {} });
  });

  it('carries every flag into the request options', () => {
    expect(captureRequestCommon({ ...base, legalBasis: 'Warrant 1', allowPrivateNetwork: true, force: true, timeoutMs: 5_000, account: 'acct-1', withProfile: true })).toEqual({
      caseId: 'C-1',
      requestedBy: 'analyst-01',
      operator,
      legalBasis: 'Warrant 1',
      options: { allowPrivateNetwork: true, force: true, timeoutMs: 5_000, account: 'acct-1', withProfile: true },
    });
  });

  it('records the operator for what it is: the name given, and the OS user and host that ran the command', () => {
    const r = CaptureRequest.parse({ url: 'https://example.org/', ...captureRequestCommon({ ...base, operator: 'dana.q' }) });
    expect(r.requestedBy).toBe('dana.q');
    expect(r.operator).toEqual({ kind: 'cli', name: 'dana.q', osUser: os.userInfo().username, host: os.hostname() });
    // A request without it (a web user, an older job) still parses.
    expect(CaptureRequest.parse({ url: 'https://example.org/', caseId: 'C-1', requestedBy: 'web-user' }).operator).toBeUndefined();
  });
});
