// lakevec web UI: plain JavaScript, no framework, no build step.
//
// Rules (see cmd/lakevec/server/doc.go, "Web UI"): every piece of text
// that comes from the API is inserted with textContent or as a text node,
// never as HTML (no innerHTML, insertAdjacentHTML, document.write, eval);
// styles are set through the CSSOM (element.style), never through style
// attributes, so the page runs under Content-Security-Policy
// "default-src 'self'".
(() => {
  'use strict';

  const KEY = 'lakevec.apiKey';
  const $ = (id) => document.getElementById(id);

  // el builds an element. props: class, text, dataset, on<event>, or any
  // DOM property (id, type, href, value, disabled, ...); children are
  // nodes or strings (inserted as text).
  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k in e) e[k] = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of kids.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // ---- API ----------------------------------------------------------

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, opts = {}) {
    const headers = { Accept: 'application/json' };
    const key = sessionStorage.getItem(KEY);
    if (key) headers.Authorization = 'Bearer ' + key;
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const res = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'omit' });
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const msg = (data && data.error) || res.status + ' ' + res.statusText;
      if (res.status === 401) showKeyPanel(key ? 'The key was refused: ' + msg : 'This server needs an API key.');
      throw new APIError(res.status, msg);
    }
    return data;
  }

  // encPath encodes a document id for a URL path, segment by segment.
  const encPath = (id) => id.split('/').map(encodeURIComponent).join('/');

  // ---- status, key ----------------------------------------------------

  function showStatus(msg, kind) {
    const s = $('status');
    s.textContent = msg;
    s.className = kind || '';
    s.hidden = !msg;
  }

  function showError(e) {
    if (e instanceof APIError && e.status === 401) return; // the key panel says it
    showStatus(e instanceof APIError ? e.message + ' (' + e.status + ')' : String(e), 'error');
  }

  function showKeyPanel(msg) {
    $('key-label').textContent = msg || 'API key for this server.';
    $('key-panel').hidden = false;
    $('key-input').focus();
  }

  function setupKey() {
    $('key-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const k = $('key-input').value.trim();
      if (k) sessionStorage.setItem(KEY, k);
      $('key-input').value = '';
      $('key-panel').hidden = true;
      boot();
    });
    $('key-clear').addEventListener('click', () => {
      sessionStorage.removeItem(KEY);
      $('key-input').value = '';
      showStatus('Key forgotten.', 'info');
    });
    $('key-button').addEventListener('click', () => {
      if ($('key-panel').hidden) showKeyPanel(sessionStorage.getItem(KEY) ? 'A key is set for this tab; replace it:' : 'API key for this server.');
      else $('key-panel').hidden = true;
    });
  }

  // ---- time -----------------------------------------------------------

  // fmtTime shows a date alone when the time is UTC midnight.
  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const s = d.toISOString();
    if (s.endsWith('T00:00:00.000Z')) return s.slice(0, 10);
    return s.slice(0, 19).replace('T', ' ') + 'Z';
  }

  const ms = (iso) => new Date(iso).getTime();

  // ---- routing --------------------------------------------------------

  let gen = 0; // render generation: a stale async render stops touching the DOM

  function parseHash() {
    const h = location.hash.replace(/^#/, '') || '/search';
    const i = h.indexOf('?');
    return { path: i < 0 ? h : h.slice(0, i), params: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
  }

  async function route() {
    const my = ++gen;
    const { path, params } = parseHash();
    $('nav-search').classList.toggle('active', !path.startsWith('/collections'));
    $('nav-collections').classList.toggle('active', path.startsWith('/collections'));
    showStatus('');
    const view = $('view');
    view.replaceChildren();
    view.dataset.page = '';
    try {
      if (path.startsWith('/doc/')) {
        await renderDoc(view, decodeURIComponent(path.slice('/doc/'.length)), params, my);
      } else if (path === '/collections') {
        await renderCollections(view, my);
      } else {
        await renderSearch(view, params, my);
      }
    } catch (e) {
      if (my === gen) showError(e);
    }
  }

  // ---- search ---------------------------------------------------------

  const search = { q: '', mode: 'current', idx: -1 };
  let searchSeq = 0;

  async function renderSearch(view, params, my) {
    if (params.has('q')) search.q = params.get('q');
    const tl = await api('/api/v1/timeline');
    if (my !== gen) return;
    const changes = tl.changes || [];
    if (params.has('as_of')) {
      search.mode = 'asof';
      const t = ms(params.get('as_of'));
      search.idx = changes.reduce((best, c, i) => (ms(c.at) <= t ? i : best), 0);
    }
    if (search.idx < 0 || search.idx >= changes.length) search.idx = Math.max(0, changes.length - 1);

    const q = el('input', { id: 'q', type: 'search', value: search.q, placeholder: 'Search the documents by meaning…', autocomplete: 'off' });
    const current = el('input', { id: 'mode-current', type: 'radio', name: 'mode', value: 'current', checked: search.mode === 'current' });
    const asof = el('input', { id: 'mode-asof', type: 'radio', name: 'mode', value: 'asof', checked: search.mode === 'asof', disabled: changes.length === 0 });
    const slider = el('input', {
      id: 'asof-slider', type: 'range', min: 0, max: Math.max(0, changes.length - 1), step: 1,
      value: search.idx, disabled: search.mode !== 'asof' || changes.length === 0,
      'aria-label': 'as-of time',
    });
    const label = el('output', { id: 'asof-label', htmlFor: 'asof-slider' });
    const results = el('ol', { id: 'results', class: 'results' });
    const ticks = el('div', { class: 'ticks', 'aria-hidden': 'true' });
    changes.forEach((c, i) => {
      const t = el('span', { class: 'tick', title: fmtTime(c.at) + ': ' + c.docs + ' document(s) changed' });
      t.style.left = changes.length > 1 ? (100 * i) / (changes.length - 1) + '%' : '50%';
      ticks.append(t);
    });

    const updateLabel = () => {
      if (search.mode !== 'asof' || !changes.length) {
        label.textContent = 'current versions';
        return;
      }
      const c = changes[search.idx];
      label.textContent = 'as of ' + fmtTime(c.at) + ' (change ' + (search.idx + 1) + ' of ' + changes.length + ')';
    };
    let timer = 0;
    const run = () => {
      clearTimeout(timer);
      runSearch(q.value, changes, results).catch(showError);
    };
    const setMode = (m) => {
      search.mode = m;
      slider.disabled = m !== 'asof';
      updateLabel();
      run();
    };
    current.addEventListener('change', () => setMode('current'));
    asof.addEventListener('change', () => setMode('asof'));
    slider.addEventListener('input', () => {
      search.idx = Number(slider.value);
      updateLabel();
      clearTimeout(timer);
      timer = setTimeout(run, 120);
    });

    const form = el('form', { id: 'search-form', class: 'search-form', onsubmit: (ev) => { ev.preventDefault(); run(); } },
      el('div', { class: 'row' }, q, el('button', { type: 'submit', id: 'search-button', text: 'Search' })),
      el('div', { class: 'row mode' },
        el('label', { class: 'radio' }, current, ' current'),
        el('label', { class: 'radio' }, asof, ' as of'),
        label),
      el('div', { class: 'slider' },
        el('span', { class: 'muted end', id: 'asof-first', text: changes.length ? fmtTime(changes[0].at) : '' }),
        el('div', { class: 'track' }, slider, ticks),
        el('span', { class: 'muted end', id: 'asof-last', text: changes.length ? fmtTime(changes[changes.length - 1].at) : '' })));
    view.dataset.page = 'search';
    view.append(form, results);
    if (!changes.length) results.append(el('li', { class: 'empty', text: 'The collection holds no documents yet.' }));
    updateLabel();
    q.focus();
    if (search.q) run();
  }

  async function runSearch(text, changes, results) {
    const q = text.trim();
    search.q = text;
    const seq = ++searchSeq;
    const hp = new URLSearchParams();
    if (q) hp.set('q', q);
    let asOf = null;
    if (search.mode === 'asof' && changes.length) {
      asOf = changes[search.idx].at;
      hp.set('as_of', asOf);
    }
    history.replaceState(null, '', '#/search' + (hp.toString() ? '?' + hp : ''));
    if (!q) {
      results.replaceChildren();
      return;
    }
    const p = new URLSearchParams({ q, k: '10' });
    if (asOf) p.set('as_of', asOf);
    results.setAttribute('aria-busy', 'true');
    const res = await api('/api/v1/search?' + p);
    if (seq !== searchSeq) return; // a later search answers
    results.removeAttribute('aria-busy');
    renderResults(results, res.hits || [], q, asOf);
  }

  function renderResults(ul, hits, q, asOf) {
    ul.replaceChildren();
    ul.dataset.asOf = asOf || 'now';
    if (!hits.length) {
      ul.append(el('li', { class: 'empty', text: asOf ? 'No results as of ' + fmtTime(asOf) + '.' : 'No results.' }));
      return;
    }
    for (const h of hits) {
      const href = '#/doc/' + encodeURIComponent(h.doc_id) + (asOf ? '?at=' + encodeURIComponent(asOf) : '');
      ul.append(el('li', { class: 'result', dataset: { docId: h.doc_id } },
        el('div', { class: 'result-head' },
          el('a', { class: 'doc-link', href, text: h.doc_id }),
          el('span', { class: 'score', title: 'cosine similarity', text: 'score ' + h.score.toFixed(3) })),
        el('p', { class: 'snippet' }, snippet(h.text, q)),
        el('div', { class: 'validity', title: 'validity interval of this chunk version' },
          'valid ', el('time', { text: fmtTime(h.valid_from) }), ' → ',
          h.valid_to ? el('time', { text: fmtTime(h.valid_to) }) : el('span', { class: 'now', text: 'now' }))));
    }
  }

  const termsOf = (q) => [...new Set(q.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1))];
  const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  // snippet returns the passage of a chunk that matches the query best
  // (the sentence with the most query words, with its neighbours up to
  // about 320 characters), the query words marked.
  function snippet(text, q) {
    const terms = termsOf(q);
    const parts = text.split(/(?<=[.!?])\s+|\n+/).filter((s) => s.trim());
    let best = 0;
    let bestScore = -1;
    parts.forEach((s, i) => {
      const low = s.toLowerCase();
      const score = terms.filter((t) => low.includes(t)).length;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    });
    let lo = best;
    let hi = best + 1;
    let len = (parts[best] || '').length;
    while (len < 320 && (lo > 0 || hi < parts.length)) {
      if (hi < parts.length) len += parts[hi++].length + 1;
      else len += parts[--lo].length + 1;
    }
    let passage = parts.slice(lo, hi).join(' ');
    if (passage.length > 480) passage = passage.slice(0, 480) + '…';
    if (lo > 0) passage = '… ' + passage;
    if (hi < parts.length && !passage.endsWith('…')) passage += ' …';
    return marked(passage, terms);
  }

  // marked returns text nodes and <mark> elements: the terms highlighted.
  function marked(text, terms) {
    if (!terms.length) return [text];
    const re = new RegExp('(' + terms.map(escapeRe).join('|') + ')', 'giu');
    const out = [];
    let last = 0;
    for (const m of text.matchAll(re)) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(el('mark', { text: m[0] }));
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  // ---- document -------------------------------------------------------

  async function renderDoc(view, id, params, my) {
    const hist = await api('/api/v1/history/' + encPath(id));
    if (my !== gen) return;
    const vs = hist.versions || [];
    let sel = vs.length - 1;
    if (params.has('at')) {
      const t = ms(params.get('at'));
      sel = vs.reduce((best, v, i) => (ms(v.at) <= t ? i : best), 0);
    }
    view.dataset.page = 'doc';
    const t0 = ms(vs[0].at);
    const t1 = ms(vs[vs.length - 1].at);
    const maxChanged = Math.max(1, ...vs.map((v) => v.changed || 0));

    const timeline = el('div', { id: 'timeline', class: 'timeline', role: 'group', 'aria-label': 'versions on a time axis' },
      el('div', { class: 'axis' }));
    const marks = vs.map((v, i) => {
      const size = 12 + 26 * Math.sqrt((v.changed || 0) / maxChanged);
      const what = v.op === 'delete' ? 'deleted' : (v.changed || 0) + ' chunk(s) changed';
      const b = el('button', {
        type: 'button', class: 'mark op-' + v.op, dataset: { idx: String(i), at: v.at },
        title: 'v' + (i + 1) + ' · ' + fmtTime(v.at) + ' · ' + v.op + ': ' + what,
        'aria-label': 'version ' + (i + 1) + ', ' + fmtTime(v.at) + ', ' + v.op + ', ' + what,
        onclick: () => select(i),
      });
      b.style.left = t1 > t0 ? (100 * (ms(v.at) - t0)) / (t1 - t0) + '%' : '50%';
      b.style.width = b.style.height = size.toFixed(1) + 'px';
      timeline.append(b);
      return b;
    });
    timeline.append(
      el('span', { class: 'axis-label start', text: fmtTime(vs[0].at) }),
      el('span', { class: 'axis-label end', text: fmtTime(vs[vs.length - 1].at) }));

    const rows = vs.map((v, i) => el('tr', { dataset: { idx: String(i) }, onclick: () => select(i) },
      el('td', { text: 'v' + (i + 1) }),
      el('td', {}, el('time', { text: fmtTime(v.at) })),
      el('td', { class: 'op op-' + v.op, text: v.op }),
      el('td', { class: 'num', text: String(v.chunks) }),
      el('td', { class: 'num', text: String(v.changed || 0) })));
    const table = el('table', { id: 'versions', class: 'versions' },
      el('thead', {}, el('tr', {}, ['version', 'valid from', 'change', 'chunks', 'changed'].map((h) => el('th', { text: h })))),
      el('tbody', {}, rows));

    const heading = el('h3', { id: 'text-heading' });
    const pre = el('pre', { id: 'doc-text', class: 'doc-text' });

    const opt = (v, i) => el('option', { value: String(i), text: 'v' + (i + 1) + ' · ' + fmtTime(v.at) + ' · ' + v.op });
    const from = el('select', { id: 'diff-from', 'aria-label': 'from version' }, vs.map(opt));
    const to = el('select', { id: 'diff-to', 'aria-label': 'to version' }, vs.map(opt));
    const diffOut = el('div', { id: 'diff', class: 'diff' });
    const diffButton = el('button', { type: 'button', id: 'diff-button', text: 'Show diff', onclick: () => showDiff().catch(showError) });

    view.append(
      el('h2', { id: 'doc-id', class: 'doc-id', text: id }),
      el('p', { class: 'muted', text: vs.length + ' version(s), ' + fmtTime(vs[0].at) + ' → ' + fmtTime(vs[vs.length - 1].at) + '. Mark size: how much each version changed.' }),
      timeline, table,
      el('section', { class: 'text' }, heading, pre),
      el('section', { class: 'compare' },
        el('h3', { text: 'Compare versions' }),
        el('div', { class: 'row' }, el('label', {}, 'from ', from), el('label', {}, 'to ', to), diffButton),
        diffOut));

    let textSeq = 0;
    async function select(i) {
      sel = i;
      marks.forEach((m, j) => m.classList.toggle('selected', j === i));
      rows.forEach((r, j) => r.classList.toggle('selected', j === i));
      const v = vs[i];
      history.replaceState(null, '', '#/doc/' + encodeURIComponent(id) + '?at=' + encodeURIComponent(v.at));
      heading.textContent = 'Text as of v' + (i + 1) + ' (' + fmtTime(v.at) + ')';
      pre.dataset.at = v.at;
      const seq = ++textSeq;
      if (v.op === 'delete') {
        pre.textContent = '';
        pre.append(el('em', { text: 'Deleted at ' + fmtTime(v.at) + '.' }));
        return;
      }
      pre.setAttribute('aria-busy', 'true');
      const d = await api('/api/v1/documents/' + encPath(id) + '?as_of=' + encodeURIComponent(v.at));
      if (seq !== textSeq) return;
      pre.removeAttribute('aria-busy');
      pre.textContent = d.text;
    }

    async function showDiff() {
      const a = vs[Number(from.value)];
      const b = vs[Number(to.value)];
      const p = new URLSearchParams({ from: a.at, to: b.at });
      const d = await api('/api/v1/diff/' + encPath(id) + '?' + p);
      renderDiff(diffOut, d.lines || [], a, b);
    }

    await select(sel);
    if (vs.length > 1) {
      from.value = String(Math.max(0, sel - 1));
      to.value = String(sel > 0 ? sel : 1);
      await showDiff();
    } else {
      diffOut.append(el('p', { class: 'muted diff-summary', text: 'Only one version: nothing to compare yet.' }));
    }
  }

  // renderDiff shows the engine's paragraph diff; a run of removed
  // paragraphs followed by added ones is compared word by word, so the
  // words that changed are highlighted within them.
  function renderDiff(out, lines, a, b) {
    out.replaceChildren();
    const ins = lines.filter((l) => l.op === '+').length;
    const del = lines.filter((l) => l.op === '-').length;
    out.append(el('p', { class: 'muted diff-summary', text: fmtTime(a.at) + ' → ' + fmtTime(b.at) + ': ' + ins + ' paragraph(s) added or changed, ' + del + ' removed or changed' }));
    if (!ins && !del) out.append(el('p', { class: 'empty', text: 'No differences.' }));
    for (let i = 0; i < lines.length;) {
      if (lines[i].op === '=') {
        out.append(diffLine('eq', ' ', [lines[i].text]));
        i++;
        continue;
      }
      const dels = [];
      const adds = [];
      while (i < lines.length && lines[i].op === '-') dels.push(lines[i++].text);
      while (i < lines.length && lines[i].op === '+') adds.push(lines[i++].text);
      const n = Math.min(dels.length, adds.length);
      const delNodes = [];
      const addNodes = [];
      for (let j = 0; j < n; j++) {
        const [dn, an] = wordDiff(dels[j], adds[j]);
        delNodes.push(dn);
        addNodes.push(an);
      }
      for (let j = n; j < dels.length; j++) delNodes.push([el('del', { text: dels[j] })]);
      for (let j = n; j < adds.length; j++) addNodes.push([el('ins', { text: adds[j] })]);
      delNodes.forEach((nodes) => out.append(diffLine('del', '−', nodes)));
      addNodes.forEach((nodes) => out.append(diffLine('ins', '+', nodes)));
    }
  }

  function diffLine(kind, sign, nodes) {
    return el('div', { class: 'diff-line ' + kind }, el('span', { class: 'sign', 'aria-hidden': 'true', text: sign }), el('span', { class: 'body' }, nodes));
  }

  // wordDiff compares two paragraphs by words (an LCS over tokens that
  // keep their white space) and returns the nodes of each side, with
  // <del> around words only in a, <ins> around words only in b.
  function wordDiff(a, b) {
    const ta = a.split(/(\s+)/).filter((t) => t !== '');
    const tb = b.split(/(\s+)/).filter((t) => t !== '');
    if (ta.length * tb.length > 4e6) return [[el('del', { text: a })], [el('ins', { text: b })]];
    const n = ta.length;
    const m = tb.length;
    const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        dp[i][j] = ta[i] === tb[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
      }
    }
    const left = [];
    const right = [];
    // push appends a token, merging it with the previous one of the same kind.
    const push = (list, kind, tok) => {
      const prev = list[list.length - 1];
      if (prev && prev.kind === kind) prev.text += tok;
      else list.push({ kind, text: tok });
    };
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && ta[i] === tb[j]) {
        push(left, 'eq', ta[i++]);
        push(right, 'eq', tb[j++]);
      } else if (i < n && (j === m || dp[i + 1][j] >= dp[i][j + 1])) {
        push(left, 'del', ta[i++]);
      } else {
        push(right, 'ins', tb[j++]);
      }
    }
    const nodes = (list) => list.map((p) => (p.kind === 'eq' ? p.text : el(p.kind, { text: p.text })));
    return [nodes(left), nodes(right)];
  }

  // ---- collections ----------------------------------------------------

  function fmtReport(r) {
    if (!r) return '—';
    let s = r.files_total + ' file(s): ' + r.files_read + ' read, ' + r.files_removed + ' removed · rows +' + r.rows_added + ' −' + r.rows_removed;
    if (r.null_vectors) s += ' · ' + r.null_vectors + ' null vector(s) skipped';
    return s + ' · ' + Number(r.seconds || 0).toFixed(2) + ' s';
  }

  async function renderCollections(view, my) {
    const res = await api('/api/v1/collections');
    if (my !== gen) return;
    view.dataset.page = 'collections';
    const body = el('tbody');
    for (const c of res.collections || []) body.append(collectionRow(c));
    view.append(
      el('h2', { text: 'Collections' }),
      el('table', { id: 'collections', class: 'collections' },
        el('thead', {}, el('tr', {}, ['name', 'kind', 'source', 'snapshot indexed', 'rows', 'files', 'last refresh', 'lag', 'last refresh report', ''].map((h) => el('th', { text: h })))),
        body),
      el('p', { class: 'muted', text: 'Attached collections index a Parquet dataset or an Iceberg table in place; a refresh reads only the files that changed. Lag is shown when the engine reports it.' }));
  }

  function collectionRow(c) {
    const documents = c.kind === 'documents';
    let source = c.source || '';
    if (c.table) source += (source ? ' · table ' : 'table ') + c.table;
    if (documents) source = 'documents' + (c.model_id ? ' (model ' + c.model_id + ')' : '') + (c.served ? ', served' : '');
    let lag = '—';
    if (c.lag) {
      lag = c.kind === 'parquet' ? `${c.lag.files} files` : `${c.lag.snapshots} snapshots, ${Math.round(c.lag.seconds)} s`;
    }
    const report = el('td', { class: 'report', text: fmtReport(c.last_refresh_report) });
    const tr = el('tr', { dataset: { name: c.name } },
      el('td', { class: 'name', text: c.name }),
      el('td', { text: c.error ? '—' : c.kind }),
      el('td', { class: 'source', text: c.error ? c.error : source }),
      el('td', { class: 'snapshot', text: c.snapshot || '—' }),
      el('td', { class: 'num rows', text: String(c.rows || 0) }),
      el('td', { class: 'num', text: documents ? '—' : String(c.files || 0) }),
      el('td', {}, documents ? (c.last_change ? 'last change ' + fmtTime(c.last_change) : '—') : el('time', { text: fmtTime(c.last_refresh) })),
      el('td', { class: 'lag', text: lag }),
      report,
      el('td', {}, documents || c.error ? null : el('button', {
        type: 'button', class: 'refresh', text: 'Refresh',
        onclick: (ev) => refresh(c.name, ev.currentTarget, tr).catch((e) => {
          ev.currentTarget.disabled = false;
          ev.currentTarget.textContent = 'Refresh';
          showError(e);
        }),
      })));
    return tr;
  }

  async function refresh(name, button, tr) {
    button.disabled = true;
    button.textContent = 'Refreshing…';
    const rep = await api('/api/v1/collections/' + encodeURIComponent(name) + '/refresh', { method: 'POST' });
    showStatus('Refreshed ' + name + ': ' + fmtReport(rep), 'info');
    const c = await api('/api/v1/collections/' + encodeURIComponent(name));
    if (!c.last_refresh_report) c.last_refresh_report = rep;
    tr.replaceWith(collectionRow(c));
  }

  // ---- start ----------------------------------------------------------

  async function boot() {
    try {
      const st = await api('/api/v1/stats');
      $('coll-name').textContent = 'collection ' + st.collection;
    } catch (e) {
      showError(e);
      if (e instanceof APIError && e.status === 401) return; // route() after the key
    }
    await route();
  }

  setupKey();
  window.addEventListener('hashchange', route);
  boot();
})();
