import { describe, expect, it } from 'vitest';
import { CaptureRequest } from '../../../schemas/capture.js';
import { CustodyActor } from '../../../schemas/custody.js';
import { submitter } from '../../../workers/submit.js';

const base = { url: 'https://example.org/p/1', caseId: 'C-1' };

describe('who the custody log names as submitter', () => {
  it('a signed-in web user is a user with their role, not an operator', () => {
    const actor = submitter(CaptureRequest.parse({ ...base, requestedBy: 'prosecutor-1', user: { kind: 'user', name: 'prosecutor-1', role: 'prosecutor' } }));
    expect(CustodyActor.parse(actor)).toEqual({ type: 'user', id: 'prosecutor-1', role: 'prosecutor' });
  });

  it('a command-line run is an operator with the OS user and host that ran it', () => {
    const actor = submitter(CaptureRequest.parse({ ...base, requestedBy: 'Dana', operator: { kind: 'cli', name: 'Dana', osUser: 'dana', host: 'lab-7' } }));
    expect(actor).toEqual({ type: 'operator', id: 'Dana', role: 'analyst', osUser: 'dana', host: 'lab-7' });
  });

  it('a request that names neither keeps the operator wording, without inventing an OS user', () => {
    expect(submitter(CaptureRequest.parse({ ...base, requestedBy: 'watch-owner' }))).toEqual({ type: 'operator', id: 'watch-owner', role: 'analyst' });
  });
});
