/*
 * shoppulse storefront tag: captures shopper behaviour and posts it to the collector.
 *
 * Plain ES2017, no dependencies, no build step. Include it with
 *   <script src="https://collector.example/tag.js" async></script>
 * and optionally configure it before it loads with window.shoppulseConfig = {...}
 * (see DEFAULTS). Calls made before it loads can be queued as
 *   window.shoppulse = window.shoppulse || []; shoppulse.push(['addToCart', product, 1]);
 *
 * - anonymous id: stable per browser (localStorage, cookie when storage is unavailable);
 * - session id: rotated after 30 minutes without activity (a session_start event marks it);
 * - logout forgets both ids: the next visitor on a shared browser is a new anonymous shopper,
 *   never attributed to (or messaged as) the user who logged out;
 * - events are queued and posted as {"events": [...]} when the queue is full, on an interval,
 *   and with navigator.sendBeacon (else fetch keepalive) when the page is hidden or left;
 * - network errors and 5xx/408/429 answers are retried with exponential backoff (Retry-After
 *   honoured); other 4xx answers mean the batch is invalid and are not retried (onError hook);
 * - consent flags set by the page travel with every event; with requireConsent nothing is
 *   stored or sent until analytics consent is granted, and revoking it forgets the ids.
 * Personal data: raw user ids / e-mails are sent only after login/identify and are
 * pseudonymized by the collector; element text is never captured, only data-sp-track names.
 */
(function (global) {
  'use strict';

  const DEFAULTS = {
    endpoint: null, // default: /v1/events on the origin the tag was loaded from
    maxBatch: 20,
    maxQueue: 1000,
    flushIntervalMs: 5000,
    sessionTimeoutMs: 30 * 60 * 1000,
    retryBaseMs: 1000,
    retryMaxMs: 60000,
    retryJitter: 0.2,
    autoPageView: true,
    trackScroll: true,
    trackClicks: true,
    requireConsent: false,
    consent: null,
    onError: null,
  };
  const AID_KEY = 'sp_aid';
  const SESSION_KEY = 'sp_sid';
  const ONE_YEAR_S = 365 * 24 * 3600;
  const SCROLL_MARKS = [25, 50, 75, 100];

  const doc = global.document;
  const nav = global.navigator || {};
  const previous = global.shoppulse;
  const cfg = Object.assign({}, DEFAULTS, global.shoppulseConfig || {});
  cfg.endpoint = cfg.endpoint || defaultEndpoint();

  let consent = cfg.consent ? normalizeConsent(cfg.consent) : null;
  let identity = null;
  let ids = null;
  let pageViewSent = false;
  const queue = [];
  let inflight = false;
  let retryTimer = null;
  let attempt = 0;
  const scrollReached = {};

  function defaultEndpoint() {
    const script = doc && doc.currentScript;
    const src = script && script.src;
    const match = src && /^(https?:\/\/[^/]+)/.exec(src);
    return (match ? match[1] : '') + '/v1/events';
  }

  // ---- storage: localStorage, else a first-party cookie ----
  function storageGet(key) {
    try { return global.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { global.localStorage.setItem(key, value); return true; } catch (e) { return false; }
  }
  function cookieGet(key) {
    const parts = (doc && doc.cookie ? doc.cookie : '').split(/;\s*/);
    for (const part of parts) {
      if (part.indexOf(key + '=') === 0) return decodeURIComponent(part.slice(key.length + 1));
    }
    return null;
  }
  function cookieSet(key, value, maxAgeS) {
    if (!doc) return;
    const secure = global.location && global.location.protocol === 'https:' ? '; Secure' : '';
    doc.cookie = key + '=' + encodeURIComponent(value) + '; path=/; max-age=' + maxAgeS + '; SameSite=Lax' + secure;
  }
  function persistGet(key) { return storageGet(key) || cookieGet(key); }
  function persistSet(key, value) { if (!storageSet(key, value)) cookieSet(key, value, ONE_YEAR_S); }
  function persistRemove(key) {
    try { global.localStorage.removeItem(key); } catch (e) { /* storage unavailable */ }
    if (cookieGet(key) !== null) cookieSet(key, '', 0);
  }

  function uuid4() {
    const c = global.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // ---- identity and session ----
  function currentIds(now) {
    if (!ids) {
      let aid = persistGet(AID_KEY);
      if (!aid) { aid = uuid4(); persistSet(AID_KEY, aid); }
      ids = { anonymousId: aid, sessionId: null, lastActivity: 0 };
      const saved = (persistGet(SESSION_KEY) || '').split('|');
      if (saved.length === 2 && saved[0]) { ids.sessionId = saved[0]; ids.lastActivity = Number(saved[1]) || 0; }
    }
    let started = false;
    if (!ids.sessionId || now - ids.lastActivity > cfg.sessionTimeoutMs) {
      ids.sessionId = uuid4();
      started = true;
    }
    ids.lastActivity = now;
    persistSet(SESSION_KEY, ids.sessionId + '|' + now);
    return started;
  }

  function allowed() {
    return !cfg.requireConsent || (consent !== null && consent.analytics === true);
  }
  function normalizeConsent(flags) {
    return { analytics: !!flags.analytics, personalization: !!flags.personalization, marketing: !!flags.marketing };
  }
  function deviceType() {
    const w = global.innerWidth || 0;
    if (!w) return undefined;
    return w < 768 ? 'mobile' : w < 1024 ? 'tablet' : 'desktop';
  }
  function compact(obj) {
    const out = {};
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (v !== undefined && v !== null && v !== '') out[key] = v;
    }
    return out;
  }

  // ---- capture ----
  function track(type, props) {
    if (!allowed()) return false;
    const now = Date.now();
    if (currentIds(now)) enqueue(buildEvent('session_start', {}, now));
    enqueue(buildEvent(type, props || {}, now));
    return true;
  }

  function buildEvent(type, props, now) {
    const loc = global.location;
    const base = compact({
      event_id: uuid4(),
      event_type: type,
      anonymous_id: ids.anonymousId,
      session_id: ids.sessionId,
      event_time: now,
      url: loc && loc.href,
      referrer: doc && doc.referrer ? String(doc.referrer).split(/[?#]/)[0] : undefined,
      device: deviceType(),
      consent: consent || undefined,
    });
    return Object.assign(base, identity || {}, compact(props));
  }

  function enqueue(event) {
    queue.push(event);
    if (queue.length > cfg.maxQueue) {
      const dropped = queue.splice(0, queue.length - cfg.maxQueue);
      report({ reason: 'queue_full', dropped: dropped.length });
    }
    if (queue.length >= cfg.maxBatch) flush();
  }

  function report(info) {
    if (global.console && global.console.warn) global.console.warn('shoppulse:', info);
    if (typeof cfg.onError === 'function') {
      try { cfg.onError(info); } catch (e) { /* the page's hook must not break the tag */ }
    }
  }

  // ---- delivery ----
  function retryable(status) {
    return status >= 500 || status === 408 || status === 429;
  }

  async function post(batch) {
    const res = await global.fetch(cfg.endpoint, {
      method: 'POST',
      body: JSON.stringify({ events: batch }),
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      keepalive: true,
      credentials: 'omit',
    });
    return res;
  }

  async function flush() {
    if (inflight || retryTimer || queue.length === 0 || !allowed()) return;
    const batch = queue.splice(0, cfg.maxBatch);
    inflight = true;
    let res = null;
    try { res = await post(batch); } catch (e) { res = null; }
    inflight = false;
    if (!res || retryable(res.status)) {
      Array.prototype.unshift.apply(queue, batch);
      scheduleRetry(res);
      return;
    }
    attempt = 0;
    if (res.status >= 300) {
      let body = '';
      try { body = await res.text(); } catch (e) { /* no body */ }
      report({ reason: 'rejected', status: res.status, events: batch.length, body: body });
    }
    if (queue.length >= cfg.maxBatch) flush();
  }

  function scheduleRetry(res) {
    attempt += 1;
    let delay = Math.min(cfg.retryMaxMs, cfg.retryBaseMs * Math.pow(2, attempt - 1));
    const header = res && res.headers && res.headers.get ? res.headers.get('Retry-After') : null;
    const seconds = header ? Number(header) : NaN;
    if (seconds > 0) delay = Math.min(cfg.retryMaxMs, Math.max(delay, seconds * 1000));
    delay = Math.round(delay * (1 - cfg.retryJitter * Math.random()));
    retryTimer = global.setTimeout(() => { retryTimer = null; flush(); }, delay);
  }

  function flushOnExit() {
    if (!allowed()) return;
    while (queue.length) {
      const body = JSON.stringify({ events: queue.splice(0, cfg.maxBatch) });
      let sent = false;
      try { sent = typeof nav.sendBeacon === 'function' && nav.sendBeacon(cfg.endpoint, body); } catch (e) { sent = false; }
      if (!sent && typeof global.fetch === 'function') {
        global.fetch(cfg.endpoint, {
          method: 'POST', body: body, keepalive: true, credentials: 'omit',
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        }).catch(() => {});
      }
    }
  }

  // ---- automatic capture ----
  function pageView(props) {
    if (track('page_view', props)) pageViewSent = true;
  }

  function onScroll() {
    const root = doc.documentElement || {};
    const height = Math.max(root.scrollHeight || 0, doc.body ? doc.body.scrollHeight || 0 : 0);
    const viewport = global.innerHeight || 0;
    const top = global.pageYOffset || root.scrollTop || 0;
    const depth = height <= viewport ? 100 : Math.min(100, Math.round(((top + viewport) / height) * 100));
    for (const mark of SCROLL_MARKS) {
      if (depth >= mark && !scrollReached[mark]) {
        scrollReached[mark] = true;
        track('scroll', { scroll_depth: mark });
      }
    }
  }

  function onClick(e) {
    let el = e.target;
    while (el && el !== doc && !(el.getAttribute && el.getAttribute('data-sp-track') !== null)) el = el.parentNode;
    if (!el || el === doc) return;
    const name = el.getAttribute('data-sp-track') || String(el.tagName || 'element').toLowerCase();
    const productId = el.getAttribute('data-sp-product-id');
    track('click', {
      click: { x: Math.max(0, Math.round(e.pageX || 0)), y: Math.max(0, Math.round(e.pageY || 0)), element: name },
      product: productId ? { product_id: productId } : undefined,
    });
  }

  // ---- public API ----
  function product(p) {
    p = p || {};
    const id = p.product_id !== undefined ? p.product_id : p.id;
    return compact({ product_id: id === undefined ? undefined : String(id), category: p.category,
      price: p.price, currency: p.currency, brand: p.brand });
  }
  function cartLines(lines) {
    if (!Array.isArray(lines)) return undefined;
    return lines.map((l) => {
      const p = product(l);
      return compact({ product_id: p.product_id, quantity: l.quantity === undefined ? 1 : l.quantity,
        price: p.price, currency: p.currency, category: p.category });
    });
  }
  // The user id travels with every later event; an e-mail only with the login event itself.
  function loginFields(user) {
    const u = user !== null && typeof user === 'object' ? user : { userId: user };
    const userId = u.userId !== undefined ? u.userId : u.user_id;
    if (userId !== undefined && userId !== null && userId !== '') return { user_id: String(userId) };
    return u.email ? { email: String(u.email) } : {};
  }
  function setIdentity(user) {
    const fields = user === null || user === undefined ? {} : loginFields(user);
    identity = fields.user_id ? fields : null;
    return fields;
  }
  function logout() {
    setIdentity(null);
    ids = null; // queued events keep the ids they were captured with
    persistRemove(AID_KEY);
    persistRemove(SESSION_KEY);
  }
  function setConsent(flags) {
    consent = normalizeConsent(Object.assign({}, consent || {}, flags || {}));
    if (cfg.requireConsent && !consent.analytics) {
      queue.length = 0;
      ids = null;
      persistRemove(AID_KEY);
      persistRemove(SESSION_KEY);
    } else if (cfg.autoPageView && !pageViewSent) {
      pageView();
    }
  }

  const api = {
    version: '1',
    config: cfg,
    track: track,
    page: pageView,
    productView: (p, props) => track('product_view', Object.assign({ product: product(p) }, props)),
    addToCart: (p, quantity, cart) => track('add_to_cart', { product: product(p), quantity: quantity || 1, cart: cartLines(cart) }),
    removeFromCart: (p, quantity, cart) => track('remove_from_cart', { product: product(p), quantity: quantity || 1, cart: cartLines(cart) }),
    search: (query, props) => track('search', Object.assign({ search_query: String(query) }, props)),
    filter: (name, value) => track('filter_applied', { filter: { name: String(name), value: String(value) } }),
    checkout: (cart, props) => track('checkout_start', Object.assign({ cart: cartLines(cart) }, props)),
    purchase: (orderId, cart, props) => track('purchase', Object.assign({ order_id: String(orderId), cart: cartLines(cart) }, props)),
    login: (user, props) => track('login', Object.assign({}, props, setIdentity(user))),
    identify: setIdentity,
    logout: logout,
    setConsent: setConsent,
    flush: flush,
    anonymousId: () => (ids ? ids.anonymousId : persistGet(AID_KEY)),
    sessionId: () => (ids ? ids.sessionId : null),
    queued: () => queue.length,
  };
  global.shoppulse = api;

  global.setInterval(flush, cfg.flushIntervalMs);
  if (global.addEventListener) {
    global.addEventListener('pagehide', flushOnExit);
    if (cfg.trackScroll) global.addEventListener('scroll', onScroll, { passive: true });
  }
  if (doc && doc.addEventListener) {
    doc.addEventListener('visibilitychange', () => { if (doc.visibilityState === 'hidden') flushOnExit(); });
    if (cfg.trackClicks) doc.addEventListener('click', onClick, true);
  }
  if (Array.isArray(previous)) {
    for (const call of previous) {
      if (Array.isArray(call) && typeof api[call[0]] === 'function') api[call[0]].apply(null, call.slice(1));
    }
  }
  if (cfg.autoPageView && !pageViewSent) pageView();
})(typeof window !== 'undefined' ? window : this);
