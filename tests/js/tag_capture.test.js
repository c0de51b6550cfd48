'use strict';
// What the storefront tag captures: ids, sessions, automatic events, helpers, consent.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadTag, Clock, MemoryStorage, BrokenStorage, CookieJar } = require('./harness');

const QUIET = { autoPageView: false, trackScroll: false, trackClicks: false };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MINUTE = 60 * 1000;

async function sentAfterFlush(page) {
  await page.api.flush();
  return page.sent();
}

test('an automatic page_view opens the first session', async () => {
  const page = loadTag({ config: { trackScroll: false, trackClicks: false } });
  const events = await sentAfterFlush(page);
  assert.deepEqual(events.map((e) => e.event_type), ['session_start', 'page_view']);
  const view = events[1];
  assert.match(view.event_id, UUID);
  assert.match(view.anonymous_id, UUID);
  assert.match(view.session_id, UUID);
  assert.equal(view.event_time, page.clock.now);
  assert.equal(view.url, 'https://shop.example/p/42?color=red');
  assert.equal(view.device, 'desktop');
  assert.equal(view.referrer, 'https://search.example/results', 'the referrer loses its query string');
  assert.equal(events[0].session_id, view.session_id);
});

test('the anonymous id survives a reload; the session too within 30 minutes', async () => {
  const storage = new MemoryStorage();
  const clock = new Clock();
  const first = loadTag({ storage, clock, config: QUIET });
  first.api.search('shoes');
  const [start1, search1] = await sentAfterFlush(first);
  await clock.advance(10 * MINUTE);
  const second = loadTag({ storage, clock, config: QUIET });
  second.api.search('boots');
  const events = await sentAfterFlush(second);
  assert.deepEqual(events.map((e) => e.event_type), ['search'], 'no new session_start');
  assert.equal(events[0].anonymous_id, search1.anonymous_id);
  assert.equal(events[0].session_id, start1.session_id);
});

test('the session rotates after 30 minutes of inactivity, not before', async () => {
  const page = loadTag({ config: { ...QUIET, flushIntervalMs: 3600000 } });
  page.api.search('a');
  await page.clock.advance(29 * MINUTE);
  page.api.search('b'); // activity renews the session
  await page.clock.advance(29 * MINUTE);
  page.api.search('c');
  await page.clock.advance(30 * MINUTE + 1);
  page.api.search('d');
  const events = await sentAfterFlush(page);
  assert.deepEqual(events.map((e) => e.event_type), ['session_start', 'search', 'search', 'search', 'session_start', 'search']);
  const sessions = events.map((e) => e.session_id);
  assert.equal(new Set(sessions.slice(0, 4)).size, 1);
  assert.notEqual(sessions[4], sessions[0]);
  assert.equal(sessions[5], sessions[4]);
  assert.equal(new Set(events.map((e) => e.anonymous_id)).size, 1, 'the anonymous id never rotates');
});

test('without localStorage the ids live in a first-party cookie', async () => {
  const cookies = new CookieJar();
  const clock = new Clock();
  const first = loadTag({ storage: new BrokenStorage(), cookies, clock, config: QUIET });
  first.api.search('x');
  const [, a] = await sentAfterFlush(first);
  assert.equal(cookies.values.get('sp_aid'), a.anonymous_id);
  const second = loadTag({ storage: new BrokenStorage(), cookies, clock, config: QUIET });
  second.api.search('y');
  const [b] = await sentAfterFlush(second);
  assert.equal(b.anonymous_id, a.anonymous_id);
  assert.equal(b.session_id, a.session_id);
});

test('scroll depth is reported once per mark', async () => {
  const page = loadTag({ pageHeight: 4000, config: { autoPageView: false, trackClicks: false } });
  page.win.pageYOffset = 300; // (300 + 800) / 4000 = 27 %
  page.fireWindow('scroll');
  page.win.pageYOffset = 1300; // 52 %
  page.fireWindow('scroll');
  page.fireWindow('scroll');
  page.win.pageYOffset = 0;
  page.fireWindow('scroll');
  page.win.pageYOffset = 3200; // 100 %
  page.fireWindow('scroll');
  const depths = (await sentAfterFlush(page)).filter((e) => e.event_type === 'scroll').map((e) => e.scroll_depth);
  assert.deepEqual(depths, [25, 50, 75, 100]);
});

test('clicks inside data-sp-track elements are captured by name, others ignored', async () => {
  const page = loadTag({ config: { autoPageView: false, trackScroll: false } });
  const attrs = (map) => (name) => (name in map ? map[name] : null);
  const button = { tagName: 'BUTTON', getAttribute: attrs({ 'data-sp-track': 'hero-cta', 'data-sp-product-id': 'sku-9' }),
    parentNode: page.document };
  const icon = { tagName: 'SPAN', getAttribute: attrs({}), parentNode: button };
  const plain = { tagName: 'DIV', getAttribute: attrs({}), parentNode: page.document };
  page.fireDocument('click', { target: icon, pageX: 120.4, pageY: 640.6 });
  page.fireDocument('click', { target: plain, pageX: 1, pageY: 1 });
  const clicks = (await sentAfterFlush(page)).filter((e) => e.event_type === 'click');
  assert.equal(clicks.length, 1);
  assert.deepEqual(clicks[0].click, { x: 120, y: 641, element: 'hero-cta' });
  assert.deepEqual(clicks[0].product, { product_id: 'sku-9' });
});

test('commerce helpers fill the event fields', async () => {
  const page = loadTag({ config: QUIET });
  const line = { id: 77, price: 19.5, currency: 'EUR', category: 'home/lamps', brand: 'Lumo' };
  page.api.productView(line);
  page.api.addToCart(line, 2, [{ ...line, quantity: 2 }]);
  page.api.removeFromCart(line, 1, []);
  page.api.checkout([{ ...line, quantity: 1 }]);
  page.api.purchase('order-1', [{ ...line, quantity: 1 }]);
  const byType = Object.fromEntries((await sentAfterFlush(page)).map((e) => [e.event_type, e]));
  assert.deepEqual(byType.product_view.product,
    { product_id: '77', category: 'home/lamps', price: 19.5, currency: 'EUR', brand: 'Lumo' });
  assert.equal(byType.add_to_cart.quantity, 2);
  assert.deepEqual(byType.add_to_cart.cart,
    [{ product_id: '77', quantity: 2, price: 19.5, currency: 'EUR', category: 'home/lamps' }]);
  assert.deepEqual(byType.remove_from_cart.cart, []);
  assert.equal(byType.checkout_start.cart.length, 1);
  assert.equal(byType.purchase.order_id, 'order-1');
});

test('login links the user: the id on later events, an e-mail only on the login event', async () => {
  const page = loadTag({ config: QUIET });
  page.api.search('before');
  page.api.login({ email: 'Ann@Example.com' });
  page.api.search('after-email');
  page.api.login('user-42');
  page.api.search('after-id');
  page.api.logout();
  page.api.search('after-logout');
  const events = (await sentAfterFlush(page)).filter((e) => e.event_type !== 'session_start');
  const who = events.map((e) => [e.event_type, e.user_id || null, e.email || null]);
  assert.deepEqual(who, [
    ['search', null, null],
    ['login', null, 'Ann@Example.com'],
    ['search', null, null],
    ['login', 'user-42', null],
    ['search', 'user-42', null],
    ['search', null, null],
  ]);
});

test('logout forgets the ids: later events are a new anonymous shopper in a new session', async () => {
  const page = loadTag({ config: QUIET });
  page.api.login('user-42');
  page.api.search('signed-in');
  const before = page.api.anonymousId();
  page.api.logout();
  page.api.search('next-visitor');
  const events = await sentAfterFlush(page);
  const signedIn = events.find((e) => e.search_query === 'signed-in');
  const next = events.find((e) => e.search_query === 'next-visitor');
  assert.equal(signedIn.anonymous_id, before);
  assert.equal(signedIn.user_id, 'user-42');
  assert.notEqual(next.anonymous_id, before);
  assert.notEqual(next.session_id, signedIn.session_id);
  assert.equal(next.user_id, undefined);
  assert.equal(page.api.anonymousId(), next.anonymous_id);
  const starts = events.filter((e) => e.event_type === 'session_start').map((e) => e.anonymous_id);
  assert.deepEqual(starts, [before, next.anonymous_id]);
});

test('with requireConsent nothing is stored or sent until analytics is granted', async () => {
  const page = loadTag({ config: { requireConsent: true, trackScroll: false, trackClicks: false } });
  page.api.search('ignored');
  await page.clock.advance(10000);
  assert.equal(page.fetch.calls.length, 0);
  assert.equal(page.storage.map.size, 0, 'no id written without consent');
  page.api.setConsent({ analytics: true, marketing: false });
  const events = await sentAfterFlush(page);
  assert.deepEqual(events.map((e) => e.event_type), ['session_start', 'page_view'], 'the held-back page view');
  assert.deepEqual(events[1].consent, { analytics: true, personalization: false, marketing: false });
  page.api.setConsent({ analytics: false });
  assert.equal(page.storage.getItem('sp_aid'), null, 'revoking consent forgets the ids');
  assert.equal(page.api.track('search', { search_query: 'x' }), false);
});

test('calls queued before the tag loaded are replayed', async () => {
  const preload = [['identify', 'user-7'], ['productView', { id: 'p1' }]];
  const page = loadTag({ preload, config: { trackScroll: false, trackClicks: false } });
  const events = await sentAfterFlush(page);
  assert.deepEqual(events.map((e) => e.event_type), ['session_start', 'product_view', 'page_view']);
  assert.ok(events.every((e) => e.user_id === 'user-7'));
  assert.equal(typeof page.win.shoppulse.track, 'function');
});

test('device type follows the viewport width', async () => {
  const widths = { 375: 'mobile', 800: 'tablet', 1440: 'desktop' };
  for (const [width, device] of Object.entries(widths)) {
    const page = loadTag({ width: Number(width), config: { trackScroll: false, trackClicks: false } });
    const [, view] = await sentAfterFlush(page);
    assert.equal(view.device, device, `width ${width}`);
  }
});
