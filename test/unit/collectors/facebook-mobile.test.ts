import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { facebookSpec, FacebookOptions } from '../../../collectors/facebook.js';
import { readMobileStory } from '../../../collectors/facebook-mobile.js';
import { NOT_SHOWN_STATES, Post } from '../../../schemas/post.js';
import { exchange, recordings } from '../../support/recorded.js';

/** Facebook's mobile (m.), basic (mbasic.) and permalink pages as served logged out: the fixture HTML of test/fixtures/facebook/pages. */
const PAGES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/facebook/pages');
const READ_AT = '2026-01-02T03:04:05.000Z';
const M = 'https://m.facebook.com';
const BASIC = 'https://mbasic.facebook.com';
const fixture = (file: string, origin: string): string => readFileSync(path.join(PAGES, file), 'utf8').replaceAll('{{origin}}', origin);
const { viewOf, ctx } = recordings('facebook-mobile', { observedAt: READ_AT });
const options = FacebookOptions.parse({});

const extract = (url: string, body: string) => facebookSpec.extract(ctx(viewOf([{ ex: exchange({ url }), body }], url)), new URL(url), options);

describe('facebook mobile and basic story markup', () => {
  it('m.facebook.com story.php: text with its line break, link and hashtag, author, exact time from data-ft, photos from i.img backgrounds, counts', () => {
    const url = `${M}/story.php?story_fbid=1122334455667801&id=100064000000001`;
    const r = readMobileStory(fixture('m-story.html', M), '1122334455667801', url, READ_AT);
    expect(r).not.toBeNull();
    const p = Post.parse(r!.post);
    expect(p.id).toBe('1122334455667801');
    expect(p.url).toBe(`${M}/sahel.news.page/posts/1122334455667801`);
    expect(p.author).toEqual({ id: '100064000000001', handle: 'sahel.news.page', displayName: 'أخبار الساحل Sahel News', profileUrl: `${M}/sahel.news.page` });
    expect(p.published).toEqual({ raw: '1710497000', utc: '2024-03-15T10:03:20.000Z' });
    expect(p.text).toEqual({ content: 'انقطاع المياه مستمر في حي السلام لليوم الرابع 💧🚰\nالتفاصيل: water.example/notice #الساحل\n\nصورتان من الصباح 📷', html: null, language: 'ar', direction: 'rtl' });
    expect(p.hashtags).toEqual(['الساحل']);
    expect(p.links).toEqual(['https://lm.facebook.com/l.php?u=https%3A%2F%2Fwater.example%2Fnotice&h=AT0fixture']);
    expect(p.media.map((m) => [m.type, m.sourceUrl, m.alt])).toEqual([
      ['image', `${M}/v/t39.30808-6/fb-photo-1.jpg?stp=dst-jpg_s640x640&_nc_cat=1&oh=00_m`, 'May be an image of water tank and street'],
      ['image', `${M}/v/t39.30808-6/fb-photo-2.jpg?stp=dst-jpg_s640x640&_nc_cat=1&oh=00_m`, 'May be an image of people standing in line'],
    ]);
    expect(p.engagement).toEqual({ readAt: READ_AT, counts: { reactions: { display: '1.2K', value: 1200 }, replies: { display: '24', value: 24 }, shares: { display: '87', value: 87 } } });
    expect(p.sources).toEqual({ id: 'dom', url: 'dom', author: 'dom', published: 'dom', text: 'dom', media: 'dom', links: 'dom', hashtags: 'dom', engagement: 'dom' });
    expect(r!.marker).toBe('#m_story_permalink_view data-ft top_level_post_id 1122334455667801');
  });

  it('mbasic.facebook.com story.php: the *s text block in Persian, the displayed time kept as stated (no UTC reading), the photo <img>, reaction link and comment count', () => {
    const url = `${BASIC}/story.php?story_fbid=1122334455667802&id=100064000000002`;
    const p = readMobileStory(fixture('mbasic-story.html', BASIC), '1122334455667802', url, READ_AT)!.post;
    expect(p.author).toMatchObject({ id: '100064000000002', handle: 'sahel.news.fa', displayName: 'ساحل نیوز' });
    expect(p.text?.content).toBe('صف طولانی نان در بازار قدیم امروز صبح 🍞⏳\n\nقیمت هر عدد به ۱۲ هزار تومان رسید. #نان');
    expect(p.text?.direction).toBe('rtl');
    expect(p.hashtags).toEqual(['نان']);
    expect(p.published).toEqual({ raw: '14 March at 13:05', utc: null });
    expect(p.media).toHaveLength(1);
    expect(p.media[0]).toMatchObject({ type: 'image', sourceUrl: `${BASIC}/v/t39.30808-6/fb-photo-2.jpg?stp=dst-jpg_s320x320&_nc_cat=1&oh=00_b`, alt: 'May be an image of people standing in line' });
    expect(p.engagement?.counts).toEqual({ reactions: { display: '340', value: 340 }, replies: { display: '12', value: 12 } });
    expect(p.links).toEqual([]);
  });

  it('permalink.php: a person (profile.php?id=) with an inline video named by data-store, the time from the abbr data-store', () => {
    const url = `${M}/permalink.php?story_fbid=1122334455667803&id=100001000000003`;
    const p = readMobileStory(fixture('m-permalink-video.html', M), '1122334455667803', url, READ_AT)!.post;
    expect(p.author).toEqual({ id: '100001000000003', handle: null, displayName: 'Hina Qureshi', profileUrl: `${M}/profile.php?id=100001000000003` });
    expect(p.published).toEqual({ raw: '1710583200', utc: '2024-03-16T10:00:00.000Z' });
    expect(p.text?.content).toBe('بندرگاہ پر پانی کی لمبی قطار 🎥🌊');
    expect(p.media.map((m) => [m.type, m.sourceUrl])).toEqual([['video', `${M}/o1/v/t2/f2/m69/fb-video.mp4?efg=sd&_nc_cat=1`]]);
    expect(p.engagement?.counts).toEqual({ reactions: { display: '56', value: 56 }, replies: { display: '3', value: 3 } });
  });

  it('a data-ft naming another post is not this one; pages without the markup give nothing', () => {
    expect(readMobileStory(fixture('m-story.html', M), '999', `${M}/story.php?story_fbid=999&id=1`, READ_AT)).toBeNull();
    // A pfbid token is not the numeric id the markup names: the markup is still the story.
    expect(readMobileStory(fixture('m-story.html', M), 'pfbid02abc', `${M}/story.php?story_fbid=pfbid02abc&id=1`, READ_AT)?.post.id).toBe('1122334455667801');
    for (const f of ['unknown-layout.html', 'm-login-wall.html', 'm-content-not-found.html']) expect(readMobileStory(fixture(f, M), '1122334455669999', M, READ_AT), f).toBeNull();
  });
});

describe('facebook extract on mobile, basic and permalink pages', () => {
  it('the three logged-out layouts are visible, read from the markup (before: "Facebook did not serve the post")', async () => {
    for (const [file, url] of [
      ['m-story.html', `${M}/story.php?story_fbid=1122334455667801&id=100064000000001`],
      ['mbasic-story.html', `${BASIC}/story.php?story_fbid=1122334455667802&id=100064000000002`],
      ['m-permalink-video.html', `https://www.facebook.com/permalink.php?story_fbid=1122334455667803&id=100001000000003`],
    ] as const) {
      const r = await extract(url, fixture(file, new URL(url).origin));
      expect(r?.visibility.state, file).toBe('visible');
      expect(r?.visibility.signals[0]).toMatchObject({ source: 'dom', detail: expect.stringContaining('#m_story_permalink_view') });
      expect(r?.post?.text?.content, file).toBeTruthy();
      expect(r?.post?.author?.displayName, file).toBeTruthy();
    }
  });
  it("login-wall and unavailable only on Facebook's own words", async () => {
    const wall = await extract(`${M}/story.php?story_fbid=1122334455660004&id=1`, fixture('m-login-wall.html', M));
    expect(wall?.visibility).toMatchObject({ state: 'login-wall', signals: [{ source: 'dom', detail: 'log-in wall message: "You must log in to continue"' }] });
    const gone = await extract(`${M}/story.php?story_fbid=1122334455660005&id=1`, fixture('m-content-not-found.html', M));
    expect(gone?.visibility).toMatchObject({ state: 'unavailable', signals: [{ detail: 'notice: Content Not Found' }] });
    expect(gone?.post).toBeNull();
  });
  it('a page holding the post in an unknown layout (og: tags, text, a login banner) is not-recognised, never a negative state', async () => {
    const r = await extract(`${M}/story.php?story_fbid=1122334455669999&id=100064000000001`, fixture('unknown-layout.html', M));
    expect(r?.visibility.state).toBe('not-recognised');
    expect(NOT_SHOWN_STATES).not.toContain(r?.visibility.state);
    expect(r?.visibility.signals.length).toBeGreaterThan(0);
  });
});
