import { describe, expect, it } from 'vitest';
import { pickSealedVersion } from '../../../evidence/s3-store.js';

const v = (versionId: string, modified: number, o: { deleteMarker?: boolean; latest?: boolean; size?: number } = {}) => ({
  versionId,
  modified,
  deleteMarker: o.deleteMarker ?? false,
  latest: o.latest ?? false,
  size: o.size ?? 10,
});

describe('pickSealedVersion', () => {
  it('a single version is the sealed one, with nothing above', () => {
    expect(pickSealedVersion([v('a', 1, { latest: true })])).toEqual({ sealed: v('a', 1, { latest: true }), above: [] });
  });

  it('the oldest version is the sealed one whatever order the listing gives; newer versions and markers are above it, newest first', () => {
    // The client lists versions before delete markers, not in time order.
    const listed = [v('new', 3), v('sealed', 1), v('marker', 5, { deleteMarker: true, latest: true })];
    const got = pickSealedVersion(listed);
    expect(got?.sealed.versionId).toBe('sealed');
    expect(got?.above.map((x) => x.versionId)).toEqual(['marker', 'new']);
  });

  it('on a timestamp tie the latest version is the newer one', () => {
    expect(pickSealedVersion([v('forged', 7, { latest: true }), v('sealed', 7)])?.sealed.versionId).toBe('sealed');
    expect(pickSealedVersion([v('sealed', 7), v('forged', 7, { latest: true })])?.above.map((x) => x.versionId)).toEqual(['forged']);
  });

  it('the version recorded at seal wins over the listing order', () => {
    expect(pickSealedVersion([v('x', 1), v('recorded', 1, { latest: true })], 'recorded')?.sealed.versionId).toBe('recorded');
  });

  it('only delete markers: no sealed object (a key never written by the application)', () => {
    expect(pickSealedVersion([v('m', 1, { deleteMarker: true, latest: true })])).toBeNull();
    expect(pickSealedVersion([])).toBeNull();
  });
});
