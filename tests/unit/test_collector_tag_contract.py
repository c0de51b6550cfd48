"""Contract between the storefront tag and the collector: every request the tag makes (run in
node against the fake browser of tests/js/harness.js) is accepted whole by the collector's
parsing and validation, with the content type the collector expects from it."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from services.collector.app import TAG_TYPES
from services.collector.intake import context_for, take
from services.collector.payloads import events_payload
from services.collector.validation import EVENT_TYPES, Limits
from udfs.avro_codec import registry

ROOT = Path(__file__).resolve().parents[2]
DRIVE_TAG = """
const { loadTag } = require(process.argv[1]);
(async () => {
  const page = loadTag({ config: { maxBatch: 100, consent: { analytics: true, personalization: true } } });
  const sp = page.api;
  const phone = { id: 1004856, category: 'electronics/smartphone', price: 130.76, currency: 'usd',
                  brand: 'samsung' };
  const cart = [{ id: 1004856, quantity: 1, price: 130.76, currency: 'USD' }];
  sp.productView(phone);
  sp.addToCart(phone, 1, cart);
  sp.removeFromCart(phone, 1, []);
  sp.search('red shoes for ada@example.com');
  sp.filter('color', 'red');
  sp.track('favorite', { product: { product_id: 'sku-9' } });
  sp.track('rating', { rating: 5, product: { product_id: 'sku-9' } });
  sp.login({ email: 'Ada@Example.com' });
  sp.login({ userId: 'customer-7781' });
  sp.checkout(cart);
  sp.purchase('o-1', cart);
  page.win.pageYOffset = 4000;
  page.fireWindow('scroll', {});
  const attrs = { 'data-sp-track': 'hero', 'data-sp-product-id': 'sku-9' };
  const button = { getAttribute: (n) => attrs[n] ?? null, tagName: 'BUTTON', parentNode: null };
  page.fireDocument('click', { target: button, pageX: 120.4, pageY: 640.6 });
  await page.clock.advance(60000);
  sp.track('hover', { attributes: { slot: 'top' } });
  page.fireWindow('pagehide', {});
  page.fireDocument('visibilitychange', {});
  await page.clock.advance(1000);
  const requests = page.fetch.calls.map((c) => ({ type: c.init.headers['Content-Type'], body: c.init.body }));
  for (const b of page.beacons) {
    const text = typeof b.body === 'string' ? b.body : await b.body.text();
    requests.push({ type: typeof b.body === 'string' ? 'text/plain' : b.body.type, body: text });
  }
  console.log(JSON.stringify({ now: page.clock.now, requests }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def tag_requests() -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node (20+) is needed to run the storefront tag"
    harness = ROOT / "tests" / "js" / "harness.js"
    done = subprocess.run([node, "-e", DRIVE_TAG, str(harness)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_everything_the_tag_sends_is_accepted_by_the_collector() -> None:
    run = tag_requests()
    assert run["requests"], "the tag sent nothing"
    events: list[dict[str, Any]] = []
    for request in run["requests"]:
        assert request["type"].split(";")[0].strip() in TAG_TYPES
        payload = events_payload(request["body"].encode())
        intake = take(payload, context_for(payload, run["now"], b"contract-key", Limits()))
        assert intake.ok, intake.problems
        events += [registry().decode(value, "behavior_event") for _, value in intake.records]
    kinds = {e["event_type"] for e in events}
    assert kinds >= {"session_start", "page_view", "product_view", "add_to_cart", "remove_from_cart",
                     "search", "filter_applied", "favorite", "rating", "login", "checkout_start", "purchase",
                     "scroll", "click", "hover"}
    assert kinds <= EVENT_TYPES
    assert len({e["event_id"] for e in events}) == len(events), "each event is sent once"
    flat = json.dumps(events).lower()
    assert "ada@example.com" not in flat and "customer-7781" not in flat
