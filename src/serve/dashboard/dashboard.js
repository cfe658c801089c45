// fxpipe dashboard: plain JavaScript over the JSON API, uPlot for the chart. Rates are shown as the API returns
// them (exact decimal text); the chart plots them as numbers.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const state = { chart: null, history: null, conversion: null };
  window.fxpipe = state;

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' } });
    const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '–' : String(text);
    if (className) td.className = className;
    return td;
  }

  function fill(tableId, rows, toCells, empty) {
    const body = $(tableId).querySelector('tbody');
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(empty, 'muted');
      td.colSpan = $(tableId).querySelectorAll('th').length;
      tr.append(td);
      body.append(tr);
      return;
    }
    for (const row of rows) {
      const tr = document.createElement('tr');
      tr.append(...toCells(row));
      body.append(tr);
    }
  }

  const short = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '–');
  const stateCell = (value) => cell(value, `state state-${value}`);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);

  function showError(target, error) {
    target.textContent = error.message;
    target.className = 'error';
  }

  async function loadHealth() {
    try {
      const response = await fetch('/healthz');
      const body = await response.json();
      $('health').textContent = body.status === 'ok' ? 'healthy: database reachable, rates fresh' : `unhealthy: ${body.status}${body.error ? ` (${body.error})` : ''}`;
      $('health').className = `state state-${body.status}`;
    } catch (error) {
      showError($('health'), error);
    }
  }

  async function loadFreshness() {
    const { freshness } = await api('/api/v1/freshness');
    fill('freshness', freshness, (f) => [cell(f.source + (f.configured ? '' : ' (not configured)')), cell(f.cadence), cell(short(f.asOf)),
      cell(f.ageHours === null ? '–' : `${f.ageHours} h`, 'num'), stateCell(f.state)], 'no sources');
  }

  async function loadCurrencies() {
    const { currencies } = await api('/api/v1/currencies');
    for (const id of ['base', 'quote', 'convert-from', 'convert-to']) {
      $(id).replaceChildren(...currencies.map((c) => new Option(`${c.code}${c.name ? ` · ${c.name}` : ''}`, c.code)));
    }
    const has = (code) => currencies.some((c) => c.code === code);
    const other = has('EUR') ? 'EUR' : currencies.find((c) => c.code !== 'USD')?.code;
    $('base').value = 'USD';
    $('quote').value = other ?? 'USD';
    $('convert-from').value = other ?? 'USD';
    $('convert-to').value = has('JPY') ? 'JPY' : 'USD';
  }

  function pair() {
    return `${$('base').value}/${$('quote').value}`;
  }

  async function loadChart() {
    const status = $('chart-status');
    if ($('base').value === $('quote').value) {
      status.textContent = 'Choose two different currencies.';
      status.className = 'muted';
      return;
    }
    const params = new URLSearchParams({ pair: pair(), from: $('from').value, to: $('to').value, interval: $('interval').value });
    status.textContent = `loading ${pair()}…`;
    status.className = 'muted';
    try {
      const history = await api(`/api/v1/history?${params}`);
      state.history = history;
      drawChart(history);
      const last = history.points.at(-1);
      const cold = history.points.filter((p) => p.tier === 'cold').length;
      status.textContent = last
        ? `${history.pair}: ${history.points.length} ${history.interval === 'day' ? 'days' : 'months'} (${history.points.length - cold} hot, ${cold} archived), last close ${last.close} on ${last.date}; source ${Object.values(history.sources).join(', ')}`
        : `${history.pair}: no rates between ${history.from} and ${history.to}`;
      status.dataset.pair = history.pair;
    } catch (error) {
      showError(status, error);
    }
    loadComparison().catch((error) => showError($('comparison-pair'), error));
  }

  function drawChart(history) {
    const xs = history.points.map((p) => Date.parse(`${p.date}T00:00:00Z`) / 1000);
    const close = history.points.map((p) => Number(p.close));
    const data = [xs, close];
    const width = Math.max(320, $('chart').clientWidth || 800);
    if (state.chart) state.chart.destroy();
    state.chart = new uPlot({
      width, height: 320, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      series: [{ label: 'date' }, { label: `${history.pair} close`, stroke: '#2e6fdb', width: 1.5, value: (u, v, si, i) => (i === null ? '–' : history.points[i]?.close ?? '–') }],
      axes: [{}, { size: 70 }],
      scales: { x: { time: true } },
    }, data, $('chart'));
    $('chart').dataset.pair = history.pair;
    $('chart').dataset.points = String(history.points.length);
  }

  async function loadComparison() {
    const { legs } = await api(`/api/v1/comparison?pair=${encodeURIComponent(pair())}`);
    $('comparison-pair').textContent = `(${pair()}: the stored USD legs)`;
    const rows = legs.flatMap((leg) => leg.sources.map((s) => ({ ...s, pair: `${leg.base}/${leg.quote}` })));
    fill('comparison', rows, (r) => [cell(r.pair), cell(r.source), cell(r.tier), cell(r.rate, 'num'), cell(short(r.asOf)), cell(r.referenceRate, 'num'),
      cell(r.deviationPct, 'num'), cell(r.flags.join(', '))], 'USD against itself: nothing to compare');
  }

  async function convert(event) {
    event?.preventDefault();
    const params = new URLSearchParams({ amount: $('amount').value.trim(), from: $('convert-from').value, to: $('convert-to').value });
    if ($('convert-at').value) params.set('at', `${$('convert-at').value}T23:59:59Z`);
    const result = $('convert-result');
    try {
      const c = await api(`/api/v1/convert?${params}`);
      state.conversion = c;
      result.textContent = `${c.amount} ${c.from} = ${c.converted} ${c.to} (rate ${c.rate}, as of ${short(c.asOf)})`;
      result.className = '';
    } catch (error) {
      showError(result, error);
    }
  }

  async function loadRuns() {
    const { runs } = await api('/api/v1/runs?limit=10');
    fill('runs', runs, (r) => [cell(short(r.startedAt)), cell(r.kind), stateCell(r.status), cell(r.sourceUsed), cell(r.counts.loaded, 'num'),
      cell(r.counts.rejected, 'num'), cell(r.error ?? '')], 'no runs yet');
  }

  async function loadRejected() {
    const { rejected } = await api('/api/v1/rejected?hours=24');
    fill('rejected', rejected, (r) => [cell(short(r.rejectedAt)), cell(r.source), cell(r.base && r.quote ? `${r.base}/${r.quote}` : r.quote ?? r.base),
      cell(r.rawValue), cell(r.reason)], 'none');
  }

  async function loadChecks() {
    const { checks } = await api('/api/v1/production-checks?limit=10');
    fill('checks', checks, (c) => [cell(short(c.checkedAt)), cell(c.label), cell(c.rows, 'num'), cell(c.ok, 'num'),
      cell(c.deviates, c.deviates ? 'num state state-failed' : 'num'), cell(c.noRate, c.noRate ? 'num state state-late' : 'num'), cell(c.tolerancePct, 'num')],
      'no checks yet: fxpipe verify, or POST /api/v1/verify');
    const last = checks[0];
    $('check-label').textContent = last ? `(${last.label ?? 'unlabelled'}, ${short(last.checkedAt)}${last.notOk.length < last.rows - last.ok ? `; the first ${last.notOk.length}` : ''})` : '';
    fill('check-rows', last ? last.notOk : [], (r) => [cell(r.line, 'num'), cell(`${r.base}/${r.quote}`), cell(r.rate, 'num'), cell(r.consensusRate, 'num'),
      cell(r.deviationPct, 'num'), cell(r.verdict, `state ${r.verdict === 'deviates' ? 'state-failed' : 'state-late'}`)], last ? 'every rate ok' : 'none');
  }

  async function loadArchive() {
    const a = await api('/api/v1/archive');
    const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
    $('archive-summary').textContent = `Hot in PostgreSQL: ${a.hot.oldestDay ?? '–'} to ${a.hot.newestDay ?? '–'}. Archived to Parquet: ${a.archived.months} months, ${a.archived.rows} rows, ${mib(a.archived.bytes)}.`;
    fill('archive', a.months, (m) => [cell(m.month), stateCell(m.state), cell(m.rows, 'num'), cell(mib(m.bytes), 'num'), cell(short(m.archivedAt))], 'nothing archived');
  }

  async function start() {
    const today = Date.now();
    $('to').value = day(today);
    $('from').value = day(today - 90 * 86400000);
    const panels = [loadHealth(), loadFreshness(), loadRuns(), loadRejected(), loadChecks(), loadArchive()];
    try {
      await loadCurrencies();
      await Promise.all([loadChart(), convert()]);
    } catch (error) {
      showError($('chart-status'), error);
    }
    await Promise.allSettled(panels);
    for (const id of ['base', 'quote', 'from', 'to', 'interval']) $(id).addEventListener('change', loadChart);
    $('converter').addEventListener('submit', convert);
    document.body.dataset.ready = 'true';
  }

  document.addEventListener('DOMContentLoaded', () => {
    start().catch((error) => showError($('health'), error));
  });
})();
