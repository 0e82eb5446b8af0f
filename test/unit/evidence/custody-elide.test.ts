import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../evidence/canonical.js';
import { eventHash, genesisHash, verifyChain, type StoredEvent } from '../../../evidence/custody.js';
import { disclosesEvent, elideLog } from '../../../evidence/custody-elide.js';
import { CustodyEvent, type CustodyAction } from '../../../schemas/custody.js';

const caseId = 'C-UNIT-ELIDE';
const A = '0190f5d6-0000-7000-8000-00000000000a';
const B = '0190f5d6-0000-7000-8000-00000000000b';
const PKG = '0190f5d6-0000-7000-8000-0000000000ff';

type Spec = { action: CustodyAction; captureId?: string; details?: Record<string, unknown> };

/** A valid chain built by hand (no Redis), as stored events. */
function log(specs: Spec[]): StoredEvent[] {
  let prev = genesisHash(caseId);
  return specs.map((s, i) => {
    const e = {
      schemaVersion: 'exhibit.custody-event/1' as const,
      caseId,
      seq: i + 1,
      eventId: `0190f5d6-0000-7000-8000-${String(i + 1).padStart(12, '0')}`,
      time: '2026-03-01T10:00:00.000Z',
      actor: { type: 'operator' as const, id: 'analyst.one', role: 'analyst' },
      action: s.action,
      subject: s.captureId ? { captureId: s.captureId } : {},
      details: s.details ?? {},
      prevHash: prev,
    };
    const event = CustodyEvent.parse({ ...e, hash: eventHash(e) });
    prev = event.hash;
    return { event, bytes: canonicalBytes(event), key: `k${i}` };
  });
}

const SPECS: Spec[] = [
  { action: 'request-submitted', details: { captures: [{ captureId: A, url: 'https://a.example/1' }, { captureId: B, url: 'https://b.example/secret' }] } },
  { action: 'request-submitted', captureId: A, details: { url: 'https://a.example/1' } },
  { action: 'manifest-signed', captureId: A },
  { action: 'manifest-signed', captureId: B },
  { action: 'viewed', captureId: B, details: { view: 'post' } },
  { action: 'viewed', details: { view: 'capture-list', captureIds: [A, B] } },
  { action: 'packaged', details: { packageId: 'other', captureIds: [B] } },
  { action: 'packaged', details: { packageId: PKG, captureIds: [A] } },
];
const disclosure = { captureIds: new Set([A]), packageId: PKG };

describe('custody elision', () => {
  it('discloses the chosen capture, a request naming only it, and its own packaged event; elides everything else', () => {
    const events = log(SPECS);
    expect(events.map((s) => disclosesEvent(s.event, disclosure))).toEqual([false, true, true, false, false, false, false, true]);
    const { lines, elided } = elideLog(events, disclosure);
    expect(elided).toEqual([1, 4, 5, 6, 7]);
    const text = Buffer.concat(lines).toString('utf8');
    expect(text).not.toContain(B);
    expect(text).not.toContain('b.example');
    expect(text).toContain(A);
    // Elided lines carry nothing but seq and hashes.
    expect(Object.keys(JSON.parse(lines[0]!.toString('utf8'))).sort()).toEqual(['caseId', 'hash', 'prevHash', 'schemaVersion', 'seq']);
  });

  it('the elided log checks end to end; the stored log never accepts an elided line', () => {
    const { lines } = elideLog(log(SPECS), disclosure);
    expect(verifyChain(caseId, lines, { allowElided: true })).toEqual([]);
    expect(verifyChain(caseId, lines).length).toBeGreaterThan(0);
    // No disclosure: every line is the stored bytes.
    const all = elideLog(log(SPECS), null);
    expect(all.elided).toEqual([]);
    expect(verifyChain(caseId, all.lines)).toEqual([]);
  });

  it('a changed elided hash, a changed elided prevHash, a dropped elided line and added content all fail', () => {
    const { lines } = elideLog(log(SPECS), disclosure);
    const edit = (i: number, f: (o: Record<string, unknown>) => void): Buffer[] => {
      const copy = [...lines];
      const o = JSON.parse(copy[i]!.toString('utf8')) as Record<string, unknown>;
      f(o);
      copy[i] = canonicalBytes(o);
      return copy;
    };
    const hashed = verifyChain(caseId, edit(3, (o) => (o.hash = `sha256:${'0'.repeat(64)}`)), { allowElided: true });
    expect(hashed.map((p) => p.seq)).toEqual([5]); // the next line no longer links to it
    const linked = verifyChain(caseId, edit(4, (o) => (o.prevHash = `sha256:${'1'.repeat(64)}`)), { allowElided: true });
    expect(linked.map((p) => p.seq)).toEqual([5]);
    const dropped = verifyChain(caseId, [...lines.slice(0, 4), ...lines.slice(5)], { allowElided: true });
    expect(dropped.length).toBeGreaterThan(0);
    const padded = verifyChain(caseId, edit(0, (o) => (o.details = { url: 'x' })), { allowElided: true });
    expect(padded[0]?.message).toMatch(/not a custody event \(elided\)/);
  });
});
