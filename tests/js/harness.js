'use strict';
// A fake browser for the storefront tag: virtual clock and timers, localStorage, cookies,
// fetch with scripted answers, sendBeacon, and window/document event listeners. The tag runs
// unmodified inside a vm context whose global object is the fake window.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const ROOT = path.join(__dirname, '..', '..');
const TAG_SOURCE = fs.readFileSync(path.join(ROOT, 'services', 'collector', 'static', 'tag.js'), 'utf8');
const START = Date.UTC(2026, 0, 15, 12, 0, 0);

async function settle() {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

class Clock {
  constructor(start = START) {
    this.now = start;
    this.timers = [];
    this.seq = 0;
  }
  add(fn, ms, every) {
    const id = ++this.seq;
    this.timers.push({ id, at: this.now + Math.max(0, ms || 0), fn, every });
    return id;
  }
  clear(id) {
    this.timers = this.timers.filter((t) => t.id !== id);
  }
  /** Move time forward, firing due timers in order and letting promises settle after each. */
  async advance(ms) {
    const end = this.now + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.now = due.at;
      if (due.every) due.at += due.every;
      else this.clear(due.id);
      due.fn();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

class MemoryStorage {
  constructor() { this.map = new Map(); }
  getItem(key) { return this.map.has(key) ? this.map.get(key) : null; }
  setItem(key, value) { this.map.set(key, String(value)); }
  removeItem(key) { this.map.delete(key); }
}

class BrokenStorage {
  getItem() { throw new Error('SecurityError: storage disabled'); }
  setItem() { throw new Error('SecurityError: storage disabled'); }
  removeItem() { throw new Error('SecurityError: storage disabled'); }
}

class CookieJar {
  constructor() { this.values = new Map(); }
  get header() { return [...this.values].map(([k, v]) => `${k}=${v}`).join('; '); }
  set(line) {
    const [pair, ...attrs] = line.split(/;\s*/);
    const eq = pair.indexOf('=');
    const expired = attrs.some((a) => a.toLowerCase() === 'max-age=0');
    if (expired) this.values.delete(pair.slice(0, eq));
    else this.values.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
}

/** fetch answering from a script: numbers are statuses, 'network' rejects, objects carry headers. */
function scriptedFetch(script) {
  const calls = [];
  const fetch = (url, init) => {
    calls.push({ url, init, events: JSON.parse(init.body).events });
    const next = script.length ? script.shift() : 202;
    if (next === 'network') return Promise.reject(new TypeError('Failed to fetch'));
    const answer = typeof next === 'number' ? { status: next } : next;
    const headers = answer.headers || {};
    return Promise.resolve({
      status: answer.status,
      ok: answer.status >= 200 && answer.status < 300,
      headers: { get: (name) => (name in headers ? headers[name] : null) },
      text: async () => JSON.stringify(answer.body || {}),
    });
  };
  fetch.calls = calls;
  return fetch;
}

function listenerMap() {
  const map = {};
  return {
    add: (type, fn) => { (map[type] = map[type] || []).push(fn); },
    fire: (type, event) => { for (const fn of map[type] || []) fn(event || {}); },
  };
}

/**
 * Load the tag into a fresh page. Pass the same `storage`/`cookies`/`clock` to a second call to
 * simulate a reload in the same browser.
 */
function loadTag(opts = {}) {
  const clock = opts.clock || new Clock();
  const storage = opts.storage || new MemoryStorage();
  const cookies = opts.cookies || new CookieJar();
  const fetch = scriptedFetch(opts.answers || []);
  const beacons = [];
  const warnings = [];
  const winEvents = listenerMap();
  const docEvents = listenerMap();
  const root = { scrollHeight: opts.pageHeight || 4000, scrollTop: 0 };
  const document = {
    get cookie() { return cookies.header; },
    set cookie(line) { cookies.set(line); },
    referrer: opts.referrer === undefined ? 'https://search.example/results?q=shoes&email=a@b.example' : opts.referrer,
    visibilityState: 'visible',
    currentScript: { src: 'https://collector.example/tag.js' },
    documentElement: root,
    body: { scrollHeight: 0 },
    addEventListener: docEvents.add,
  };
  const win = {
    document,
    location: { href: opts.href || 'https://shop.example/p/42?color=red', protocol: 'https:' },
    navigator: {
      sendBeacon: opts.beacon === false ? undefined : (url, body) => { beacons.push({ url, body }); return true; },
    },
    innerWidth: opts.width || 1280,
    innerHeight: 800,
    pageYOffset: 0,
    crypto: globalThis.crypto,
    console: { warn: (...args) => warnings.push(args), log: () => {} },
    fetch,
    setTimeout: (fn, ms) => clock.add(fn, ms, 0),
    clearTimeout: (id) => clock.clear(id),
    setInterval: (fn, ms) => clock.add(fn, ms, ms),
    clearInterval: (id) => clock.clear(id),
    Date: class extends Date { static now() { return clock.now; } },
    addEventListener: winEvents.add,
    shoppulseConfig: Object.assign({ retryJitter: 0 }, opts.config || {}),
  };
  if (opts.preload) win.shoppulse = opts.preload;
  Object.defineProperty(win, 'localStorage', { get: () => storage });
  win.window = win;
  vm.createContext(win);
  vm.runInContext(TAG_SOURCE, win, { filename: 'tag.js' });
  return {
    api: win.shoppulse, win, document, clock, storage, cookies, fetch, beacons, warnings,
    fireWindow: winEvents.fire, fireDocument: docEvents.fire,
    sent: () => fetch.calls.flatMap((c) => c.events),
  };
}

module.exports = { loadTag, Clock, MemoryStorage, BrokenStorage, CookieJar, ROOT, START, settle };
