// killswitch dashboard: progressive enhancement only. The pages work
// without this script; with it, the flag list filters as you type, a
// context can be built attribute by attribute, and every page follows new
// config versions live (server-sent events, else polling).
'use strict';

(function () {
  const body = document.body;

  // Filtering the flag list as you type.
  function applyFilter() {
    const input = document.getElementById('filter');
    const select = document.getElementById('state');
    const table = document.getElementById('flag-table');
    if (!input || !table) return;
    const needle = input.value.trim().toLowerCase();
    const state = select ? select.value : '';
    let shown = 0;
    const rows = table.querySelectorAll('tbody tr');
    rows.forEach((row) => {
      const ok = (!needle || row.dataset.key.toLowerCase().includes(needle)) &&
        (!state || row.dataset.state === state);
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    const count = document.getElementById('shown');
    if (count) count.textContent = 'Showing ' + shown + ' of ' + rows.length + ' flags';
    const url = new URL(window.location.href);
    if (needle) url.searchParams.set('q', input.value.trim()); else url.searchParams.delete('q');
    if (state) url.searchParams.set('state', state); else url.searchParams.delete('state');
    window.history.replaceState(null, '', url);
  }

  function wireFilter() {
    const input = document.getElementById('filter');
    const select = document.getElementById('state');
    if (input) input.addEventListener('input', applyFilter);
    if (select) select.addEventListener('change', applyFilter);
  }

  // Building a context: one row per attribute, kept in step with the JSON.
  function wireBuilder() {
    const builder = document.getElementById('builder');
    const rows = document.getElementById('builder-rows');
    const text = document.getElementById('context');
    const add = document.getElementById('add-attr');
    if (!builder || !rows || !text || !add) return;
    builder.hidden = false;
    let n = 0;
    function render(value) {
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
    function parse(value) {
      try { return JSON.parse(value); } catch (e) { return value; }
    }
    function sync() {
      const ctx = {};
      rows.querySelectorAll('.builder-row').forEach((row) => {
        const [name, value] = row.querySelectorAll('input');
        if (name.value.trim()) ctx[name.value.trim()] = parse(value.value);
      });
      text.value = JSON.stringify(ctx, null, 2);
    }
    function addRow(name, value) {
      n += 1;
      const row = document.createElement('div');
      row.className = 'builder-row';
      const k = document.createElement('input');
      k.type = 'text'; k.value = name; k.placeholder = 'attribute';
      k.setAttribute('aria-label', 'Attribute name ' + n);
      const v = document.createElement('input');
      v.type = 'text'; v.value = value; v.placeholder = 'value (text or JSON)';
      v.setAttribute('aria-label', 'Attribute value ' + n);
      const remove = document.createElement('button');
      remove.type = 'button'; remove.className = 'secondary'; remove.textContent = 'Remove';
      remove.setAttribute('aria-label', 'Remove attribute ' + n);
      remove.addEventListener('click', () => { row.remove(); sync(); });
      k.addEventListener('input', sync);
      v.addEventListener('input', sync);
      row.append(k, v, remove);
      rows.append(row);
      return k;
    }
    let initial = {};
    try { initial = JSON.parse(text.value); } catch (e) { initial = null; }
    if (initial && typeof initial === 'object' && !Array.isArray(initial)) {
      Object.entries(initial).forEach(([k, v]) => addRow(k, render(v)));
    }
    add.addEventListener('click', () => addRow('', '').focus());
    const result = document.getElementById('try-result');
    if (result) result.focus();
  }

  // Following new versions.
  const notice = document.getElementById('live-notice');
  function warn(message) {
    if (!notice) return;
    notice.textContent = message + ' ';
    const reload = document.createElement('button');
    reload.type = 'button'; reload.textContent = 'Reload';
    reload.addEventListener('click', () => window.location.reload());
    notice.append(reload);
    notice.hidden = false;
  }

  async function refresh() {
    const response = await fetch(window.location.href, { credentials: 'same-origin' });
    if (!response.ok) {
      warn('A new version was published and this page changed (' + response.status + ').');
      return;
    }
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const main = document.getElementById('main');
    const fresh = doc.getElementById('main');
    const bar = document.querySelector('.versionbar');
    const freshBar = doc.querySelector('.versionbar');
    if (!main || !fresh) return;
    const filter = document.getElementById('filter');
    const focused = document.activeElement && document.activeElement.id;
    const caret = filter && filter === document.activeElement ? filter.selectionStart : null;
    const typed = filter ? filter.value : null;
    main.innerHTML = fresh.innerHTML;
    if (bar && freshBar) bar.innerHTML = freshBar.innerHTML;
    body.dataset.version = doc.body.dataset.version;
    body.dataset.serving = doc.body.dataset.serving;
    wireFilter();
    wireBuilder();
    const newFilter = document.getElementById('filter');
    if (newFilter && typed !== null) {
      newFilter.value = typed;
      applyFilter();
    }
    if (focused) {
      const el = document.getElementById(focused);
      if (el) {
        el.focus();
        if (caret !== null && el.setSelectionRange) el.setSelectionRange(caret, caret);
      }
    }
  }

  let busy = false;
  function onServing(serving, healthy) {
    const changed = String(serving) !== body.dataset.serving ||
      (healthy === false) !== Boolean(document.querySelector('.health.bad'));
    if (!changed || busy) return;
    // A form being filled in is never replaced under the person's hands.
    const dirty = Array.from(document.querySelectorAll('#main input, #main textarea'))
      .some((el) => el.id !== 'filter' && el.type !== 'hidden' && el.value !== el.defaultValue);
    if (body.dataset.live === 'warn' || dirty || document.getElementById('try-result')) {
      body.dataset.serving = String(serving);
      warn('A new config version has been published since this page was loaded: acting on it will be refused as stale.');
      return;
    }
    busy = true;
    refresh().catch(() => warn('A new version was published; reload to see it.')).finally(() => { busy = false; });
  }

  function follow() {
    if (window.EventSource) {
      const events = new EventSource('/api/v1/events');
      events.addEventListener('version', (e) => {
        try {
          const data = JSON.parse(e.data);
          onServing(data.serving_version, data.healthy);
        } catch (err) { /* a malformed event is ignored */ }
      });
      return;
    }
    window.setInterval(async () => {
      try {
        const r = await fetch('/api/v1/status', { credentials: 'same-origin' });
        if (r.ok) {
          const s = await r.json();
          onServing(s.serving_version, s.healthy);
        }
      } catch (err) { /* try again on the next tick */ }
    }, 1000);
  }

  wireFilter();
  wireBuilder();
  follow();
})();
