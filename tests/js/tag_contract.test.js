'use strict';
// The tag's events against the event contract in avro_schemas/behavior_event.avsc: only fields
// the collector knows, valid enum symbols, nested records with their schema's fields, and no
// empty or null values (the collector rejects empty strings).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadTag, ROOT } = require('./harness');

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'avro_schemas', 'behavior_event.avsc'), 'utf8'));
const fieldOf = (name) => schema.fields.find((f) => f.name === name);
const recordFields = (name) => {
  const branch = [].concat(fieldOf(name).type).find((t) => t !== 'null');
  const record = branch.type === 'array' ? branch.items : branch;
  return new Set(record.fields.map((f) => f.name));
};
const EVENT_TYPES = new Set(fieldOf('event_type').type.symbols);
// received_time and channel are set by the collector; url and email are its input conveniences.
const TOP_LEVEL = new Set([...schema.fields.map((f) => f.name), 'url', 'email']);
TOP_LEVEL.delete('received_time');
TOP_LEVEL.delete('channel');
const NESTED = { product: recordFields('product'), click: recordFields('click'), filter: recordFields('filter'),
  consent: recordFields('consent') };
const CART_LINE = recordFields('cart');

function everyHelper(api) {
  const line = { id: 'sku-1', price: 10, currency: 'EUR', category: 'toys', brand: 'Acme', quantity: 1 };
  api.setConsent({ analytics: true, personalization: true, marketing: false });
  api.productView(line);
  api.addToCart(line, 1, [line]);
  api.removeFromCart(line, 1, []);
  api.search('red shoes');
  api.filter('size', 42);
  api.checkout([line]);
  api.purchase(991, [line]);
  api.login({ userId: 'u-1' });
  api.login({ email: 'a@b.example' });
  api.track('favorite', { product: { product_id: 'sku-2' } });
  api.track('rating', { product: { product_id: 'sku-2' }, rating: 4 });
}

function assertNoEmpty(value, where) {
  assert.notEqual(value, null, `${where} is null`);
  assert.notEqual(value, '', `${where} is an empty string`);
  if (Array.isArray(value)) value.forEach((v, i) => assertNoEmpty(v, `${where}[${i}]`));
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) assertNoEmpty(v, `${where}.${k}`);
}

test('every event the tag builds fits the behavior_event contract', async () => {
  const page = loadTag({ pageHeight: 1000, config: { maxBatch: 100 } });
  everyHelper(page.api);
  page.win.pageYOffset = 500;
  page.fireWindow('scroll');
  const target = { tagName: 'A', getAttribute: (n) => (n === 'data-sp-track' ? '' : null), parentNode: page.document };
  page.fireDocument('click', { target, pageX: 5, pageY: 6 });
  await page.api.flush();
  const events = page.sent();
  const types = new Set(events.map((e) => e.event_type));
  for (const t of ['page_view', 'product_view', 'add_to_cart', 'remove_from_cart', 'search', 'filter_applied',
    'checkout_start', 'purchase', 'login', 'scroll', 'click', 'session_start', 'favorite', 'rating']) {
    assert.ok(types.has(t), `no ${t} event was produced`);
  }
  for (const [i, event] of events.entries()) {
    assertNoEmpty(event, `event ${i}`);
    assert.ok(EVENT_TYPES.has(event.event_type), event.event_type);
    for (const key of Object.keys(event)) assert.ok(TOP_LEVEL.has(key), `event ${i}: unknown field ${key}`);
    assert.ok(Number.isInteger(event.event_time));
    for (const [name, allowed] of Object.entries(NESTED)) {
      for (const key of Object.keys(event[name] || {})) assert.ok(allowed.has(key), `${name}.${key}`);
    }
    for (const line of event.cart || []) {
      for (const key of Object.keys(line)) assert.ok(CART_LINE.has(key), `cart line field ${key}`);
      assert.ok(Number.isInteger(line.quantity) && line.quantity >= 1);
    }
  }
  const click = events.find((e) => e.event_type === 'click');
  assert.equal(click.click.element, 'a', 'an unnamed data-sp-track falls back to the tag name');
  const filter = events.find((e) => e.event_type === 'filter_applied');
  assert.deepEqual(filter.filter, { name: 'size', value: '42' }, 'filter values are strings');
  assert.equal(events.find((e) => e.event_type === 'purchase').order_id, '991');
});
