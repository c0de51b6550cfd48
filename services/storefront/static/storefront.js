/*
 * Storefront page logic: the consent bar, live push (Server-Sent Events) and the
 * recommendations strip. Runs after the collector's tag (both scripts are deferred).
 *
 * The page listens on /api/live with its anonymous id; the server adds the logged-in
 * shopper's pseudonym from the login cookie. Triggers show as the offer banner
 * (repeated_browse_offer) or the personalized banner (UI hints); every trigger refreshes
 * the recommendations strip, read through /api/recs/{user key}.
 */
(function () {
  'use strict';
  const body = document.body;
  const tag = window.shoppulse && typeof window.shoppulse.anonymousId === 'function' ? window.shoppulse : null;
  const shown = new Set();
  let source = null;

  function anonymousId() { return tag ? tag.anonymousId() : null; }
  function userKey() { return body.dataset.userKey || anonymousId(); }

  function showBanner(id, view) {
    const el = document.getElementById(id);
    if (!el || !view) return;
    el.textContent = view.text;
    el.href = view.url || '/';
    if (view.category) el.dataset.category = view.category;
    if (view.kind) el.dataset.kind = view.kind;
    el.dataset.shownAt = String(Date.now());
    el.hidden = false;
  }

  function renderRecs(answer) {
    const strip = document.getElementById('recs');
    if (!strip) return;
    strip.dataset.source = answer.source || '';
    strip.replaceChildren();
    for (const item of answer.items || []) {
      const a = document.createElement('a');
      a.className = 'card';
      a.href = item.url;
      a.dataset.spTrack = 'recommendation';
      a.dataset.spProductId = item.product_id;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = item.name;
      const price = document.createElement('span');
      price.className = 'price';
      price.textContent = item.price.toFixed(2);
      a.append(name, price);
      strip.append(a);
    }
    if (answer.hints && Object.keys(answer.hints).length) body.dataset.hints = JSON.stringify(answer.hints);
  }

  function refreshRecs() {
    const key = userKey() || 'anonymous';
    fetch('/api/recs/' + encodeURIComponent(key) + '?limit=8', { credentials: 'same-origin' })
      .then((res) => (res.ok ? res.json() : null))
      .then((answer) => { if (answer) renderRecs(answer); })
      .catch(() => {});
  }

  function onTrigger(message) {
    if (shown.has(message.trigger_id)) return;
    shown.add(message.trigger_id);
    if (message.offer) showBanner('offer-banner', message.offer);
    if (message.banner) showBanner('personal-banner', message.banner);
    refreshRecs();
  }

  function connect() {
    const anon = anonymousId();
    if (source || (!anon && !body.dataset.loggedIn)) return;
    source = new EventSource('/api/live' + (anon ? '?anon=' + encodeURIComponent(anon) : ''));
    source.addEventListener('hello', () => { body.dataset.live = 'connected'; });
    source.addEventListener('hints', (e) => { showBanner('personal-banner', JSON.parse(e.data).banner); });
    source.addEventListener('trigger', (e) => onTrigger(JSON.parse(e.data)));
    source.onerror = () => { body.dataset.live = 'reconnecting'; };
  }

  function choose(choice) {
    document.cookie = 'sf_consent=' + choice + '; path=/; max-age=31536000; SameSite=Lax';
    document.getElementById('consent-bar').hidden = true;
    if (!tag) return;
    const all = choice === 'all';
    tag.setConsent({ analytics: all, personalization: all, marketing: false });
    if (!all) return;
    const calls = (window.shoppulsePageCalls || []);
    for (const call of calls) {
      if (typeof tag[call[0]] === 'function') tag[call[0]].apply(null, call.slice(1));
    }
    connect();
    refreshRecs();
  }

  const accept = document.getElementById('consent-accept');
  const decline = document.getElementById('consent-decline');
  if (accept) accept.addEventListener('click', () => choose('all'));
  if (decline) decline.addEventListener('click', () => choose('none'));
  const consent = window.shoppulseConfig && window.shoppulseConfig.consent;
  if (consent && consent.personalization) connect();
  refreshRecs();
})();
