// The live dashboard: polls this node's /status (the JSON of README "The status JSON (version 1)") about once a
// second, keeps the charts' last minutes itself (in sessionStorage, so a reload keeps them), and shows workers that
// left in the last 5 minutes (the queue's departedWorkers, or missing from an answer) as "gone" rather than letting
// them silently vanish.
// Plain script, no build step; the only library is uPlot, served by the node from its WebJar.
// A node with a token (prover.http.token-file) serves this page and its files to anyone (they hold no data) but
// /status only with "Authorization: Bearer <token>": the page takes the token from its link's fragment,
// /dashboard#token=<token> (a fragment is never sent to the server), and says so when the node refuses.
(function () {
  'use strict';

  const params = new URLSearchParams(location.search);
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const EVERY_MS = clamp(Number(params.get('every')) || 1, 0.25, 60) * 1000;
  const WINDOW_S = clamp(Number(params.get('minutes')) || 10, 1, 60) * 60;
  const RATE_OVER_S = 5;
  const GONE_KEEP_MS = 5 * 60 * 1000;
  const TIMEOUT_MS = 10000;
  const REGISTRATION = 'worker-registration';
  const KNOWN_VERSION = 1;
  const STORE_KEY = 'pekko-prover-dashboard:' + location.host;
  const SERIES = ['t', 'pending', 'inFlight', 'rate', 'failRate', 'wait', 'run', 'oldest'];

  const $ = (id) => document.getElementById(id);

  // ---------- the node's token ----------
  const TOKEN_KEY = 'pekko-prover-token:' + location.host;
  /** The token of the #token= link, kept for this tab (a reload keeps it) and taken out of the address bar. */
  function readToken() {
    const fromLink = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
    if (fromLink) {
      try {
        sessionStorage.setItem(TOKEN_KEY, fromLink);
        history.replaceState(null, '', location.pathname + location.search);
      } catch (e) {
        // no session storage: the token stays in the link
      }
      return fromLink;
    }
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }
  const TOKEN = readToken();

  // ---------- formatting ----------
  const int = (n) => (n == null ? '-' : Number(n).toLocaleString('en-US'));
  function secs(s) {
    if (s == null || isNaN(s)) return '-';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  /** A duration in whole seconds, minutes or hours: how long a worker has been in its state. */
  function dur(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return Math.floor(s / 3600) + 'h ' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
  }
  const rate = (r) => (r == null ? '-' : r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en-US'));
  const clock = (ms) => new Date(ms).toLocaleTimeString('en-GB');
  const shortClass = (types) => (types || []).map((t) => t.replace(/Task$/, '')).join('+');

  /** An element with attributes and children (text or nodes); text never becomes markup. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'style') e.setAttribute('style', v);
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) {
      if (c != null) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }
  const td = (content, cls, title) => el('td', { class: cls, title }, content);
  const num = (content) => td(content, 'num');
  function bar(done, total, label) {
    const pct = total > 0 ? clamp((100 * done) / total, 0, 100) : 0;
    return el('span', null, el('span', { class: 'bar' }, el('span', { style: 'width:' + pct.toFixed(1) + '%' })),
      el('span', { class: 'bar-label' }, label));
  }
  function fillBody(table, rows, emptyText, columns) {
    const body = document.querySelector('#' + table + ' tbody');
    body.replaceChildren(...(rows.length ? rows
      : [el('tr', { class: 'empty' }, el('td', { colSpan: columns }, emptyText))]));
  }

  // ---------- the charts' samples ----------
  function emptyPoints() {
    const p = {};
    SERIES.forEach((k) => (p[k] = []));
    return p;
  }
  function loadPoints() {
    try {
      const p = JSON.parse(sessionStorage.getItem(STORE_KEY));
      if (p && SERIES.every((k) => Array.isArray(p[k]) && p[k].length === p.t.length)) return p;
    } catch (e) { /* nothing kept, or unreadable: start afresh */ }
    return emptyPoints();
  }
  let points = loadPoints();
  function savePoints() {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(points)); } catch (e) { /* full or disabled */ }
  }

  /** The counters of each type's queue at one report, for rates and interval means. */
  let samples = [];

  /** Change of a counter since an earlier sample; a queue (entity) that started again counts from zero. */
  const delta = (now, before) => (now >= before ? now - before : now);

  /** Rates and means over the last RATE_OVER_S seconds, per type and for every type but the registration's. */
  function windowed(now) {
    let base = null;
    for (const s of samples) {
      if (s.t < now.t && s.t >= now.t - RATE_OVER_S - 0.5) { base = s; break; }
    }
    const perType = {};
    const total = { completed: 0, failed: 0, runs: 0, run: 0, wait: 0, dt: base ? now.t - base.t : 0 };
    if (!base || total.dt <= 0) return { perType, total: null };
    for (const [type, q] of Object.entries(now.types)) {
      const b = base.types[type] || { completed: 0, failed: 0, runs: 0, run: 0, wait: 0 };
      const d = {};
      for (const k of ['completed', 'failed', 'runs', 'run', 'wait']) d[k] = delta(q[k], b[k]);
      perType[type] = d.completed / total.dt;
      if (type === REGISTRATION) continue;
      for (const k of ['completed', 'failed', 'runs', 'run', 'wait']) total[k] += d[k];
    }
    return { perType, total };
  }

  function record(report) {
    const t = Date.parse(report.generatedAt) / 1000;
    const queues = (report.queues || []);
    const types = {};
    let pending = 0, inFlight = 0, oldest = 0;
    for (const q of queues) {
      types[q.taskType] = { completed: q.completed, failed: q.failed, runs: q.runs || 0,
        run: q.runSecondsTotal || 0, wait: q.waitSecondsTotal || 0 };
      if (q.taskType === REGISTRATION) continue;
      pending += q.pending;
      inFlight += q.inFlight;
      if (q.pending > 0) oldest = Math.max(oldest, q.oldestPendingSeconds);
    }
    const now = { t, types };
    samples = samples.filter((s) => s.t >= t - RATE_OVER_S - 5 && s.t < t);
    const w = windowed(now);
    samples.push(now);
    const fleetMissing = queues.length === 0 && (report.problems || []).length > 0;
    const last = points.t.length ? points.t[points.t.length - 1] : -Infinity;
    if (t > last) {
      const tot = w.total;
      const point = {
        t,
        pending: fleetMissing ? null : pending,
        inFlight: fleetMissing ? null : inFlight,
        rate: tot ? tot.completed / tot.dt : null,
        failRate: tot ? tot.failed / tot.dt : null,
        wait: tot && tot.runs > 0 ? tot.wait / tot.runs : null,
        run: tot && tot.runs > 0 ? tot.run / tot.runs : null,
        oldest: fleetMissing ? null : oldest,
      };
      SERIES.forEach((k) => points[k].push(point[k]));
      let drop = 0;
      while (drop < points.t.length && points.t[drop] < t - WINDOW_S) drop++;
      if (drop) SERIES.forEach((k) => points[k].splice(0, drop));
      savePoints();
    }
    return w;
  }

  // ---------- charts (uPlot) ----------
  const charts = [];
  function makeChart(id, series, format) {
    const host = $(id);
    if (typeof uPlot === 'undefined') {
      host.textContent = 'chart library not loaded';
      return;
    }
    const opts = {
      width: Math.max(200, host.clientWidth), height: 190,
      scales: { x: { time: true } },
      cursor: { drag: { x: false, y: false } },
      series: [{}].concat(series.map((s) => ({
        label: s.label, stroke: s.color, width: 2, points: { show: false },
        value: (u, v) => (v == null ? '-' : format(v)),
      }))),
      axes: [{}, { size: 56, values: (u, vals) => vals.map((v) => format(v)) }],
    };
    const chart = new uPlot(opts, [[]].concat(series.map(() => [])), host);
    charts.push({ chart, host, keys: series.map((s) => s.key) });
  }
  function drawCharts() {
    for (const c of charts) {
      c.chart.setData([points.t].concat(c.keys.map((k) => points[k])));
    }
  }
  window.addEventListener('resize', () => {
    for (const c of charts) c.chart.setSize({ width: Math.max(200, c.host.clientWidth), height: 190 });
  });

  // ---------- workers: live states, and those that left ----------
  const known = new Map(); // id -> { state, since, changedAt, row, goneAt }

  // A worker the queue refuses (another build's task catalog, or keys of an earlier registration until it registers
  // again) gets no task whatever state it announces: shown as refused, the queue's reason on its state, as `status`
  // and prover_queue_workers do.
  function stateOf(w) {
    return w.reachable === false ? 'unreachable' : w.refused ? 'refused' : (w.state || 'unknown');
  }

  function renderWorkers(report, nowMs) {
    const seen = new Set();
    for (const w of report.workers || []) {
      seen.add(w.id);
      const state = stateOf(w);
      const k = known.get(w.id);
      if (!k) {
        known.set(w.id, { state, since: polls === 1 ? null : nowMs, changedAt: polls === 1 ? 0 : nowMs, row: w,
          goneAt: null });
      } else {
        if (k.state !== state) { k.state = state; k.since = nowMs; k.changedAt = nowMs; }
        k.row = w;
        k.goneAt = null;
      }
    }
    // The workers the queue forgot lately (README "The status JSON"): a page opened after one left still shows it
    // gone, since when and how (drained, unreachable, stopped).
    for (const d of report.departedWorkers || []) {
      const at = nowMs - d.leftSecondsAgo * 1000;
      const k = known.get(d.id);
      if (seen.has(d.id) || nowMs - at > GONE_KEEP_MS) continue;
      const row = Object.assign({}, k ? k.row : {}, { node: d.node, workerClass: d.workerClass, done: d.done,
        failed: d.failed, how: d.how });
      if (!k || k.state !== 'gone') {
        known.set(d.id, { state: 'gone', since: at, changedAt: k ? nowMs : 0, row, goneAt: at });
      } else {
        k.row = row;
      }
    }
    // A worker missing from a partial answer (a queue entity did not answer in time, or no queue node is up) has not left.
    const partial = (report.problems || []).some((p) => /^(only \d+ of \d+ queue entities|the queue did not answer|no node with role queue is Up)/.test(p));
    for (const [id, k] of known) {
      if (seen.has(id) || partial) continue;
      if (k.state !== 'gone') { k.state = 'gone'; k.since = nowMs; k.changedAt = nowMs; k.goneAt = nowMs; }
      if (nowMs - k.goneAt > GONE_KEEP_MS) { known.delete(id); rowCache.delete(id); }
    }
    const body = document.querySelector('#workers tbody');
    const ids = [...known.keys()].sort();
    const rows = ids.map((id) => workerRow(id, known.get(id), nowMs));
    body.replaceChildren(...(rows.length ? rows
      : [el('tr', { class: 'empty' }, el('td', { colSpan: 9 }, 'no workers known to the queue'))]));
  }

  const rowCache = new Map(); // id -> tr, kept so that a row's highlight is not restarted every poll
  function workerRow(id, k, nowMs) {
    const w = k.row;
    let tr = rowCache.get(id);
    if (!tr) { tr = el('tr', { 'data-worker': id }); rowCache.set(id, tr); }
    const fresh = k.changedAt === nowMs;
    tr.setAttribute('data-state', k.state);
    tr.className = k.state === 'gone' ? 'gone' : '';
    if (fresh && polls > 1) {
      tr.classList.remove('changed');
      void tr.offsetWidth; // restart the highlight
    }
    if (nowMs - k.changedAt < 2500 && polls > 1 && k.changedAt > 0) tr.classList.add('changed');
    const since = k.since == null ? ''
      : (k.state === 'gone' ? 'left ' : 'for ') + dur((nowMs - k.since) / 1000) + (k.state === 'gone' ? ' ago' : '')
        + (k.state === 'gone' && w.how ? ' (' + w.how + ')' : '');
    const cls = w.workerClass && w.workerClass.length ? w.workerClass : w.servedTypes;
    const heard = w.lastHeardSecondsAgo;
    tr.replaceChildren(
      td(id),
      td(w.node),
      el('td', { class: 'state-cell' },
        el('span', { class: 'state state-' + k.state, title: k.state === 'refused' ? w.refused : null }, k.state),
        since ? el('span', { class: 'since' }, since) : null),
      td(shortClass(cls), 'class', (cls || []).join(', ')),
      td(k.state === 'gone' ? '-' : bar(w.inFlight, w.capacity, w.inFlight + '/' + w.capacity)),
      num(int(w.done)), num(int(w.failed)), num(int(w.restarts)),
      num(k.state === 'gone' ? '-' : secs(heard) + ' ago'));
    return tr;
  }

  // ---------- the rest of the page ----------
  function renderHeader(report) {
    const n = report.node || {};
    const ready = n.ready ? 'ready' : 'not ready' + (n.readyReason ? ' (' + n.readyReason + ')' : '');
    $('node').replaceChildren('node ', el('b', null, n.address || '?'), ' · roles ' + (n.roles || []).join(',')
      + ' · member ' + n.memberStatus + ' · ' + ready
      + (n.sequencer ? ' · sequencer ' + n.sequencer
        + (n.sequencer === 'starting' ? ' here'
          : n.sequencer === 'standby' && n.sequencerNode && n.sequencerNode !== n.address
          ? ' (runs on ' + n.sequencerNode + ')' : '')
        : n.sequencerNode ? ' · sequencer on ' + n.sequencerNode : '')
      + (report.flows && report.flows.runId ? ' · run ' + report.flows.runId : ''));
    const problems = (report.problems || []).slice();
    if (report.version !== KNOWN_VERSION) {
      problems.unshift('status version ' + report.version + '; this page reads version ' + KNOWN_VERSION);
    }
    showProblems(problems, false);
  }

  function showProblems(list, down) {
    const box = $('problems');
    box.hidden = list.length === 0;
    box.className = 'problems' + (down ? ' down' : '');
    box.replaceChildren(...list.map((p) => el('div', null, p)));
  }

  function renderTiles(report, w) {
    const workers = report.workers || [];
    $('worker-count').textContent = workers.length;
    const byState = {};
    for (const k of known.values()) byState[k.state] = (byState[k.state] || 0) + 1;
    $('worker-states').textContent = Object.entries(byState).sort()
      .map(([s, c]) => c + ' ' + s).join(' · ');
    // A refused worker's slots are none the queue can fill: left out, and said.
    let cap = 0, busy = 0, refused = 0;
    for (const x of workers) {
      if (x.refused) { refused++; continue; }
      cap += x.capacity; busy += x.inFlight;
    }
    $('slots').textContent = busy + '/' + cap;
    // In a cluster a worker may hold more than its slots (two queue entities handing it the last one): the extra
    // tasks wait at the worker for a slot. Said as it is rather than capped at 100 %.
    $('slots-sub').textContent = (!cap ? (refused ? 'no slot the queue can fill' : 'no worker') : busy > cap
      ? (busy - cap) + ' more than the slots: they wait at their worker'
      : Math.round((100 * busy) / cap) + '% of the slots taken')
      + (refused ? ' · ' + refused + ' refused worker(s) not counted' : '');
    const last = points.t.length - 1;
    const p = (k) => (last >= 0 ? points[k][last] : null);
    $('pending').textContent = int(p('pending'));
    $('pending-sub').textContent = p('pending') ? 'oldest waits ' + secs(p('oldest')) : 'none waiting';
    $('in-flight').textContent = int(p('inFlight'));
    $('rate').textContent = rate(p('rate'));
    let done = 0;
    for (const q of report.queues || []) if (q.taskType !== REGISTRATION) done += q.completed;
    $('rate-sub').textContent = int(done) + ' done' + (p('run') != null ? ' · run ' + secs(p('run')) : '');
    const f = report.flows || {};
    $('flows-running').textContent = f.available ? int(f.running) : '-';
    $('flows-sub').textContent = f.available ? int(f.completed) + ' completed · ' + int(f.failed) + ' failed'
      + (f.started ? '' : ' · starting') : 'no sequencer answered';
  }

  function renderQueues(report, w) {
    // a queue whose entity did not answer in time shows as it last answered: say how long ago
    const rows = (report.queues || []).map((q) => el('tr', { 'data-type': q.taskType },
      td(q.lastAnsweredSecondsAgo == null ? q.taskType
        : q.taskType + ' (as ' + Math.max(1, Math.round(q.lastAnsweredSecondsAgo)) + ' s ago)'),
      num(int(q.pending)), num(int(q.inFlight)), num(int(q.completed)),
      num(rate(w.perType[q.taskType])), num(int(q.failed)), num(int(q.retried)),
      num(int(q.lost + q.leaseOverruns)), num(int(q.declined)),
      num(int(q.workers)), num(secs(q.meanRunSeconds)), num(q.pending > 0 ? secs(q.oldestPendingSeconds) : '-')));
    fillBody('queues', rows, 'the queue did not answer', 12);
  }

  function renderFlows(report) {
    const f = report.flows || {};
    $('flows-summary').textContent = f.available
      ? f.running + ' running, ' + f.completed + ' completed, ' + f.failed + ' failed' : 'no sequencer answered';
    const list = (f.list || []);
    const rows = list.slice(0, 15).map((x) => el('tr', { 'data-flow': x.flowId },
      td(x.flowId), td(bar(x.tasksAnswered, x.tasksPushed, x.tasksAnswered + ' / ' + x.tasksPushed)),
      num(secs(x.runningSeconds))));
    if (list.length > 15) rows.push(el('tr', { class: 'empty' }, el('td', { colSpan: 3 },
      'and ' + (list.length - 15) + ' more')));
    fillBody('flows', rows, f.available ? 'no flow running' : 'no sequencer answered', 3);
  }

  function renderAutoscale(report) {
    const rows = (report.autoscale || []).map((c) => el('tr', null,
      td(shortClass(c.types), 'class', (c.types || []).join(', ')), num(c.workers),
      num(c.outstandingWorkerSeconds.toFixed(1) + ' worker-s'), num(c.workersNeeded)));
    fillBody('autoscale', rows, 'no worker class known', 4);
  }

  function renderFailures(report) {
    const rows = (report.recentFailures || []).map((x) => el('tr', null,
      td(clock(Date.parse(x.at))), td(x.kind), td(x.taskType || '-'), td(x.taskId || x.flowId || '-'),
      td(x.workerId || '-'), td(x.reason, 'reason')));
    fillBody('failures', rows, 'none', 6);
  }

  // ---------- polling ----------
  let polls = 0;
  let lastOk = null;

  function render(report) {
    polls++;
    const nowMs = Date.now();
    const w = record(report);
    renderHeader(report);
    renderWorkers(report, nowMs);
    renderTiles(report, w);
    renderQueues(report, w);
    renderFlows(report);
    renderAutoscale(report);
    renderFailures(report);
    drawCharts();
    lastOk = nowMs;
    $('live-dot').className = 'dot ok';
    $('last-update').textContent = 'updated ' + clock(nowMs);
    document.body.setAttribute('data-polls', String(polls));
  }

  function failed(error) {
    $('live-dot').className = 'dot stale';
    const since = lastOk ? 'since ' + clock(lastOk) : 'yet';
    $('last-update').textContent = 'no answer ' + since;
    showProblems(['this node did not answer /status ' + since + ' (' + error + '); retrying'], true);
  }

  /** The node refused this page's token (403) or wants one (401): say how to open the page. */
  function denied(code) {
    $('live-dot').className = 'dot stale';
    $('node').textContent = 'access denied';
    $('last-update').textContent = 'HTTP ' + code;
    const link = location.origin + location.pathname + '#token=<token>';
    showProblems([code === 401
      ? 'This node needs a token to show its status (HTTP 401). Open this page as ' + link
        + ', with the token of the node\'s prover.http.token-file (the part after # never leaves the browser).'
      : 'This node refused the token this page has (HTTP 403). Open this page again as ' + link
        + ', with the token of the node\'s prover.http.token-file.'], true);
    document.body.setAttribute('data-denied', String(code));
  }

  async function poll() {
    const started = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const headers = TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {};
      const response = await fetch('status', { cache: 'no-store', signal: abort.signal, headers });
      if (response.status === 401 || response.status === 403) {
        denied(response.status);
        return;
      }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      document.body.removeAttribute('data-denied');
      render(await response.json());
    } catch (e) {
      failed(e && e.name === 'AbortError' ? 'no answer within ' + TIMEOUT_MS / 1000 + ' s' : String(e.message || e));
    } finally {
      clearTimeout(timer);
      setTimeout(poll, Math.max(0, EVERY_MS - (Date.now() - started)));
    }
  }

  $('every').textContent = String(EVERY_MS / 1000);
  $('window-minutes').textContent = String(WINDOW_S / 60);
  makeChart('chart-depth', [
    { key: 'pending', label: 'pending', color: '#c58a00' },
    { key: 'inFlight', label: 'in flight', color: '#2f6fd6' },
  ], (v) => int(Math.round(v)));
  makeChart('chart-rate', [
    { key: 'rate', label: 'completed', color: '#1a9b5a' },
    { key: 'failRate', label: 'failed', color: '#d13b3b' },
  ], (v) => rate(v));
  makeChart('chart-latency', [
    { key: 'wait', label: 'wait', color: '#c58a00' },
    { key: 'run', label: 'run', color: '#2f6fd6' },
    { key: 'oldest', label: 'oldest pending', color: '#9aa1ae' },
  ], (v) => secs(v));
  drawCharts();
  window.proverDashboard = { points: () => points, workers: () => known };
  poll();
})();
