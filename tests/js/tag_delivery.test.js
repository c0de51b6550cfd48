'use strict';
// Delivery behaviour of the storefront tag: batching, retries, exit beacons.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadTag } = require('./harness');

const QUIET = { autoPageView: false, trackScroll: false, trackClicks: false };

test('events are batched until the flush interval', async () => {
  const page = loadTag({ config: { ...QUIET, maxBatch: 20, flushIntervalMs: 5000 } });
  page.api.search('shoes');
  page.api.filter('color', 'red');
  await page.clock.advance(4999);
  assert.equal(page.fetch.calls.length, 0, 'nothing is posted before the interval');
  await page.clock.advance(1);
  assert.equal(page.fetch.calls.length, 1);
  const call = page.fetch.calls[0];
  assert.equal(call.url, 'https://collector.example/v1/events');
  assert.equal(call.init.method, 'POST');
  assert.equal(call.init.keepalive, true);
  assert.match(call.init.headers['Content-Type'], /^text\/plain/, 'no CORS preflight');
  assert.deepEqual(call.events.map((e) => e.event_type), ['session_start', 'search', 'filter_applied']);
  assert.equal(page.api.queued(), 0);
});

test('a full batch is posted at once, the rest waits for the next flush', async () => {
  const page = loadTag({ config: { ...QUIET, maxBatch: 3 } });
  for (let i = 0; i < 4; i++) page.api.track('click', { click: { x: i, y: 0, element: 'b' } });
  await page.clock.advance(0);
  assert.equal(page.fetch.calls.length, 1);
  assert.equal(page.fetch.calls[0].events.length, 3);
  assert.equal(page.api.queued(), 2);
  await page.clock.advance(5000);
  assert.equal(page.fetch.calls.length, 2);
  assert.equal(page.sent().length, 5, 'session_start + 4 clicks, each once');
  assert.equal(new Set(page.sent().map((e) => e.event_id)).size, 5);
});

test('a 503 is retried with backoff and the same events, then succeeds', async () => {
  const page = loadTag({ answers: [503, 202], config: { ...QUIET, retryBaseMs: 1000 } });
  page.api.productView({ id: 'sku-1', price: 20, currency: 'EUR' });
  await page.api.flush();
  assert.equal(page.fetch.calls.length, 1);
  assert.equal(page.api.queued(), 2, 'the batch is back in the queue');
  await page.clock.advance(999);
  assert.equal(page.fetch.calls.length, 1, 'waits for the backoff');
  await page.clock.advance(1);
  assert.equal(page.fetch.calls.length, 2);
  assert.deepEqual(page.fetch.calls[1].events, page.fetch.calls[0].events, 'identical retry (same event_ids)');
  assert.equal(page.api.queued(), 0);
  await page.clock.advance(60000);
  assert.equal(page.fetch.calls.length, 2, 'nothing more to send');
});

test('backoff doubles on repeated failures and honours Retry-After', async () => {
  const answers = ['network', 500, { status: 503, headers: { 'Retry-After': '10' } }, 202];
  const page = loadTag({ answers, config: { ...QUIET, retryBaseMs: 1000, flushIntervalMs: 600000 } });
  page.api.search('lamp');
  const t0 = page.clock.now;
  await page.api.flush();
  const times = [];
  while (page.fetch.calls.length < 4 && page.clock.now - t0 < 120000) {
    const before = page.fetch.calls.length;
    await page.clock.advance(100);
    if (page.fetch.calls.length > before) times.push(page.clock.now - t0);
  }
  // retries after 1 s (network error), +2 s (500), then +10 s (Retry-After beats the 4 s backoff)
  assert.deepEqual(times, [1000, 3000, 13000]);
  assert.equal(page.api.queued(), 0);
});

test('a 400 is not retried and is reported; later events still go out', async () => {
  const errors = [];
  const answers = [{ status: 400, body: { problems: [{ index: 1, field: 'event_type', problem: 'unknown' }] } }];
  const page = loadTag({ answers, config: { ...QUIET, onError: (info) => errors.push(info) } });
  page.api.track('not_a_type', {});
  await page.api.flush();
  await page.clock.advance(120000);
  assert.equal(page.fetch.calls.length, 1, 'the rejected batch is not sent again');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].reason, 'rejected');
  assert.equal(errors[0].status, 400);
  assert.match(errors[0].body, /event_type/);
  page.api.search('chair');
  await page.clock.advance(5000);
  assert.equal(page.fetch.calls.length, 2);
  assert.deepEqual(page.fetch.calls[1].events.map((e) => e.event_type), ['search']);
});

test('pagehide sends the queue with sendBeacon as text', async () => {
  const page = loadTag({ config: { ...QUIET, maxBatch: 2, flushIntervalMs: 600000 } });
  page.api.search('a');
  await page.clock.advance(0); // session_start + search: a full batch goes by fetch
  page.api.search('b');
  page.api.search('c');
  page.api.search('d');
  await page.api.flush();
  page.api.search('e');
  page.fireWindow('pagehide');
  assert.equal(page.api.queued(), 0);
  const beaconed = page.beacons.flatMap((b) => JSON.parse(b.body).events);
  assert.ok(page.beacons.every((b) => typeof b.body === 'string' && b.url.endsWith('/v1/events')));
  const all = [...page.sent(), ...beaconed];
  assert.deepEqual(all.filter((e) => e.event_type === 'search').map((e) => e.search_query).sort(), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(new Set(all.map((e) => e.event_id)).size, all.length, 'nothing sent twice');
  assert.ok(page.beacons.every((b) => JSON.parse(b.body).events.length <= 2), 'beacons respect the batch size');
});

test('without sendBeacon the exit flush falls back to fetch keepalive', async () => {
  const page = loadTag({ beacon: false, config: { ...QUIET, flushIntervalMs: 600000 } });
  page.api.search('lamp');
  page.document.visibilityState = 'hidden';
  page.fireDocument('visibilitychange');
  assert.equal(page.fetch.calls.length, 1);
  assert.equal(page.fetch.calls[0].init.keepalive, true);
  assert.deepEqual(page.fetch.calls[0].events.map((e) => e.event_type), ['session_start', 'search']);
});

test('the queue is bounded and overflow is reported, not silent', async () => {
  const errors = [];
  const page = loadTag({ answers: Array(50).fill('network'),
    config: { ...QUIET, maxQueue: 5, maxBatch: 100, onError: (i) => errors.push(i) } });
  for (let i = 0; i < 8; i++) page.api.search('q' + i);
  assert.equal(page.api.queued(), 5);
  assert.equal(errors[0].reason, 'queue_full');
  assert.ok(page.warnings.length >= 1);
});
