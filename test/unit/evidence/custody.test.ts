import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../evidence/canonical.js';
import { custodyKeys, eventHash, genesisHash, verifyChain } from '../../../evidence/custody.js';
import { CUSTODY_ACTIONS, CustodyEvent, PackageReport } from '../../../schemas/custody.js';

const caseId = 'C-UNIT-1';

/** A valid chain of n events, built by hand (no Redis). */
function chain(n: number, id = caseId): Buffer[] {
  let prev = genesisHash(id);
  const out: Buffer[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const e = {
      schemaVersion: 'exhibit.custody-event/1' as const,
      caseId: id,
      seq,
      eventId: `0190f5d6-0000-7000-8000-${String(seq).padStart(12, '0')}`,
      time: `2026-03-01T10:00:0${seq % 10}.000Z`,
      actor: { type: 'operator' as const, id: 'analyst.one', role: 'analyst' },
      action: 'viewed' as const,
      subject: {},
      details: { note: 'ملاحظة' },
      prevHash: prev,
    };
    const full = CustodyEvent.parse({ ...e, hash: eventHash(e) });
    out.push(canonicalBytes(full));
    prev = full.hash;
  }
  return out;
}

describe('custody chain rules', () => {
  it('genesis hash is sha256("exhibit.custody-genesis/1\\n" + caseId)', () => {
    const want = `sha256:${createHash('sha256').update(`exhibit.custody-genesis/1\n${caseId}`).digest('hex')}`;
    expect(genesisHash(caseId)).toBe(want);
    expect(genesisHash('C-OTHER')).not.toBe(want);
  });

  it('the event hash covers everything but the hash field', () => {
    const [first] = chain(1);
    const e = JSON.parse(first!.toString());
    const { hash, ...rest } = e;
    expect(hash).toBe(`sha256:${createHash('sha256').update(canonicalBytes(rest)).digest('hex')}`);
    expect(eventHash(e)).toBe(hash);
    expect(eventHash({ ...e, details: { note: 'x' } })).not.toBe(hash);
  });

  it('an intact chain has no problems', () => {
    expect(verifyChain(caseId, chain(20))).toEqual([]);
    expect(verifyChain(caseId, [])).toEqual([]);
  });

  it('names a removed event', () => {
    const c = chain(5);
    const problems = verifyChain(caseId, [c[0]!, c[1]!, c[3]!, c[4]!]);
    expect(problems.map((p) => p.index)).toEqual([2, 2, 3]);
    expect(problems[0]!.message).toBe('sequence gap or reorder: expected seq 3, found 4');
    expect(problems[1]!.message).toMatch(/does not link/);
  });

  it('names an edited event', () => {
    const c = chain(3);
    const edited = Buffer.from(c[1]!.toString().replace('"viewed"', '"downloaded"'));
    const problems = verifyChain(caseId, [c[0]!, edited, c[2]!]);
    expect(problems).toEqual([{ index: 1, seq: 2, message: expect.stringMatching(/event was altered: hash recomputes/) }]);
  });

  it('names non-canonical bytes, another case, and garbage', () => {
    const c = chain(2);
    const pretty = Buffer.from(JSON.stringify(JSON.parse(c[0]!.toString()), null, 2));
    expect(verifyChain(caseId, [pretty, c[1]!])[0]!.message).toMatch(/not the canonical/);
    expect(verifyChain('C-OTHER', chain(1)).map((p) => p.message)).toEqual(['event belongs to case C-UNIT-1, not C-OTHER', expect.stringMatching(/does not link/)]);
    expect(verifyChain(caseId, [Buffer.from('{nope')])[0]!.message).toMatch(/not JSON/);
    expect(verifyChain(caseId, [Buffer.from('{"seq":1}')])[0]!.message).toMatch(/not a custody event/);
  });

  it('store keys are zero-padded so listing order is seq order', () => {
    expect(custodyKeys.event('C-1', 7)).toBe('cases/C-1/custody/000000000007.json');
    expect(custodyKeys.head('C-1', 12)).toBe('cases/C-1/custody-heads/000000000012.json');
  });

  it('the action vocabulary is closed', () => {
    expect(CUSTODY_ACTIONS).toContain('packaged');
    const e = JSON.parse(chain(1)[0]!.toString());
    expect(CustodyEvent.safeParse({ ...e, action: 'deleted' }).success).toBe(false);
  });

  it('PackageReport schema accepts a report and rejects a malformed one', () => {
    const ok = {
      schemaVersion: 'exhibit.verify-report/1', ok: true, verdict: 'verified', consistent: true, source: 'x.zip', caseId: 'C', captureIds: [], custodyEvents: 0,
      trust: { signingKeys: [{ fingerprint: `sha256:${'a'.repeat(64)}`, subject: null, pinned: true, source: 'trust-store' }], tsaRoots: [], summary: 'Authentic' },
      verifiedAt: '2026-01-01T00:00:00.000Z', checks: [], failures: [],
    };
    expect(PackageReport.safeParse(ok).success).toBe(true);
    expect(PackageReport.safeParse({ ...ok, ok: 'yes' }).success).toBe(false);
    expect(PackageReport.safeParse({ ...ok, verdict: 'probably' }).success).toBe(false);
    expect(PackageReport.safeParse({ ...ok, trust: { ...ok.trust, signingKeys: [{ ...ok.trust.signingKeys[0], source: 'the package' }] } }).success).toBe(false);
  });
});
