import { describe, expect, it } from 'vitest';
import { compareSides } from '../../../analysis/watch-changes.js';
import type { ChangeMedia, ChangeSide } from '../../../schemas/watch.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const img = (digest: string | null, sourceUrl = 'https://cdn.example/a.jpg?sig=1'): ChangeMedia => ({ type: 'image', digest, artifact: digest ? 'media/001.jpg' : null, sourceUrl });
function side(over: Partial<ChangeSide>): ChangeSide {
  return { captureId: '0190f0a0-0000-7000-8000-000000000001', state: 'sealed', observedAt: '2026-03-01T10:00:00.000Z', visibility: 'visible', visibilityReason: null, signals: [], author: null, published: null, text: 'a', direction: null, language: null, media: [], note: null, ...over };
}

describe('what changed between the two captures of a finding', () => {
  it('an edit: word diff, and media compared by the digest of their recorded bytes', () => {
    const r = compareSides('edited', side({ text: 'الوضع هادئ', media: [img(D('a')), img(D('b'))] }), side({ text: 'الوضع متوتر', media: [img(D('b')), img(D('c'))] }));
    expect(r.textDiff).toEqual([{ op: 'same', text: 'الوضع ' }, { op: 'removed', text: 'هادئ' }, { op: 'added', text: 'متوتر' }]);
    expect(r.mediaAdded.map((m) => m.digest)).toEqual([D('c')]);
    expect(r.mediaRemoved.map((m) => m.digest)).toEqual([D('a')]);
    expect(r.gone).toBeNull();
  });

  it('same bytes under a new signed URL are the same media; unrecorded media compare by URL without the query', () => {
    const r = compareSides('edited', side({ media: [img(D('a'), 'https://cdn.example/x.jpg?sig=1'), img(null, 'https://cdn.example/v.mp4?t=1')] }), side({ media: [img(D('a'), 'https://cdn.example/x.jpg?sig=2'), img(null, 'https://cdn.example/v.mp4?t=2')] }));
    expect(r.mediaAdded).toEqual([]);
    expect(r.mediaRemoved).toEqual([]);
  });

  it('no diff until both sides are sealed', () => {
    expect(compareSides('edited', side({}), side({ state: 'pending', text: null })).textDiff).toBeNull();
  });

  it("a deletion is confirmed only on the platform's positive signal on the post page", () => {
    const last = side({ text: 'post' });
    expect(compareSides('deleted', last, side({ visibility: 'unavailable', signals: ['.tgme_widget_message_error: Post not found'], text: null })).gone).toBe('confirmed');
    expect(compareSides('deleted', last, side({ visibility: 'deleted', signals: ['HTTP 410'], text: null })).gone).toBe('confirmed');
    // Left the list, but the page still shows it; a login wall or a rate limit says nothing about deletion.
    expect(compareSides('deleted', last, side({ visibility: 'visible', text: 'post' })).gone).toBe('unconfirmed');
    expect(compareSides('deleted', last, side({ visibility: 'login-wall', signals: ['HTTP 401'] })).gone).toBe('unconfirmed');
    expect(compareSides('deleted', last, side({ visibility: 'rate-limited', signals: ['HTTP 429'] })).gone).toBe('unconfirmed');
    // A state without the signal that decided it is not taken as a statement.
    expect(compareSides('deleted', last, side({ visibility: 'unavailable', signals: [] })).gone).toBe('unconfirmed');
    expect(compareSides('deleted', last, side({ state: 'pending', visibility: null })).gone).toBe('pending');
    expect(compareSides('deleted', last, side({ state: 'unreadable', visibility: null })).gone).toBe('unconfirmed');
    expect(compareSides('deleted', last, null).gone).toBe('unconfirmed');
  });
});
