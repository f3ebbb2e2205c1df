// minichain explorer: keeps the live part of a page current without a reload.
//
// A page with a live part marks it <div id="live" data-live="/live/home"
// data-key="...">. Every 2 s this script reads /live/state (a few bytes:
// a key naming the tip, the mempool and peer counts, the sync state and the
// blocks near the tip); when it differs from data-key, it fetches the part
// again, rendered and escaped by the server, and swaps it in. No other host
// is contacted, nothing is evaluated, and without this script the page is
// the same, only static.
'use strict';
(function () {
  var live = document.getElementById('live');
  var badge = document.getElementById('live-state');
  if (!live || !window.fetch) {
    return;
  }
  var src = live.getAttribute('data-live');
  var key = live.getAttribute('data-key');
  var busy = false;
  var refreshed = Date.now();

  function show(ok) {
    if (!badge) {
      return;
    }
    badge.hidden = false;
    badge.textContent = ok ? 'live' : 'offline';
    badge.classList.toggle('off', !ok);
  }

  function get(url, type) {
    return fetch(url, { cache: 'no-store', credentials: 'same-origin', headers: { Accept: type } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error(url + ': HTTP ' + r.status);
        }
        return type === 'application/json' ? r.json() : r.text();
      });
  }

  function refresh(k) {
    return get(src, 'text/html').then(function (html) {
      live.innerHTML = html; // the server's own, escaped, HTML
      key = k;
      refreshed = Date.now();
      live.classList.remove('flash');
      void live.offsetWidth; // restart the highlight animation
      live.classList.add('flash');
      document.dispatchEvent(new CustomEvent('explorer:refreshed', { detail: { key: k } }));
    });
  }

  function tick() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    get('/live/state', 'application/json')
      .then(function (s) {
        show(true);
        var k = s.key;
        // Refresh on a change, and every 30 s for the ages and rates.
        if (k !== key || Date.now() - refreshed > 30000) {
          return refresh(k);
        }
      })
      .catch(function () {
        show(false);
      })
      .then(function () {
        busy = false;
      });
  }

  show(true);
  setInterval(tick, 2000);
  document.addEventListener('visibilitychange', tick);
})();
