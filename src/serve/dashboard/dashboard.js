// fxpipe dashboard: plain JavaScript over the JSON API, uPlot for the chart. The API answers rates and amounts as
// exact decimal text; the page shows them rounded for reading (Intl.NumberFormat formats the decimal string itself,
// so no digit is lost to a float on the way) and keeps the exact text in each number's title and data-exact, which
// copying a selection puts on the clipboard. The chart plots the rates as numbers.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const state = { chart: null, history: null, conversion: null, range: null, datesChosen: false };
  window.fxpipe = state;
  /** GET /api/v1/history's default window: the history opens on at most this many days before the last one stored. */
  const DEFAULT_WINDOW_DAYS = 90;
  const DAY_MS = 86_400_000;

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' } });
    const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  // Numbers for people, in the browser's locale.
  const formatters = new Map();
  function numberFormat(options) {
    const key = JSON.stringify(options);
    if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat(undefined, options));
    return formatters.get(key);
  }
  const fixed = (places) => numberFormat({ minimumFractionDigits: places, maximumFractionDigits: places });
  /** The currency's minor units as ISO 4217 (via Intl) has them: JPY 0, EUR 2, KWD 3; 2 for a code Intl does not know. */
  function minorUnits(code) {
    try {
      return numberFormat({ style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
    } catch {
      return 2;
    }
  }
  /** Decimal places for a rate by its magnitude, Frankfurter's bands (lib/roundable.rb); null below them: 6 significant digits. */
  function rateDecimals(text) {
    const value = Math.abs(Number(text));
    return value > 5000 ? 0 : value > 80 ? 2 : value > 20 ? 3 : value > 1 ? 4 : value > 0.0001 ? 5 : null;
  }
  const fmt = {
    rate: (text) => {
      const places = rateDecimals(text);
      return places === null ? numberFormat({ maximumSignificantDigits: 6 }).format(text) : fixed(places).format(text);
    },
    /** An amount in a currency: to its minor units. */
    money: (text, code) => fixed(minorUnits(code)).format(text),
    /** Every digit given, grouped: an amount as the user typed it. */
    grouped: (text) => numberFormat({ maximumFractionDigits: 100 }).format(text),
    count: (value) => numberFormat({}).format(value),
    pct: (text) => numberFormat({ minimumFractionDigits: 3, maximumFractionDigits: 3, signDisplay: 'exceptZero' }).format(text),
  };

  const missing = (value) => value === null || value === undefined;

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = missing(text) ? '–' : String(text);
    if (className) td.className = className;
    return td;
  }

  /** A number shown rounded, its exact text kept for hover (title) and copy (data-exact). */
  function exactly(element, exact, shown) {
    if (missing(exact)) {
      element.textContent = '–';
      return element;
    }
    element.textContent = shown;
    element.title = String(exact);
    element.dataset.exact = String(exact);
    return element;
  }
  const numberCell = (exact, format, className = 'num') => exactly(cell(null, className), exact, missing(exact) ? '' : format(exact));
  const numberSpan = (exact, shown) => exactly(document.createElement('span'), exact, shown);

  const short = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '–');
  /** A time as its day and minute (UTC), the full ISO time on hover. */
  function timeCell(iso) {
    const td = cell(short(iso), 'time');
    if (iso) td.title = iso;
    return td;
  }
  /** Free text that may be long (an error, a reason): wrapped anywhere, cut after a few lines, whole on hover. */
  function textCell(text) {
    if (missing(text) || text === '') return cell(text, 'free');
    const td = cell(null, 'free');
    const clamp = document.createElement('div');
    clamp.className = 'clamp';
    clamp.textContent = String(text);
    td.replaceChildren(clamp);
    td.title = String(text);
    return td;
  }
  const stateCell = (value) => cell(value, `state state-${value}`);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);

  function fill(tableId, rows, toCells, empty) {
    const table = $(tableId);
    const labels = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
    const body = table.querySelector('tbody');
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(empty, 'muted');
      td.colSpan = labels.length;
      tr.append(td);
      body.append(tr);
      return;
    }
    const headers = table.querySelectorAll('thead th');
    for (const row of rows) {
      const tr = document.createElement('tr');
      const cells = toCells(row);
      cells.forEach((td, i) => {
        // The column's name beside each value when a narrow panel stacks its rows; a number's header right-aligned over it.
        td.dataset.label = labels[i] ?? '';
        if (td.classList.contains('num')) headers[i]?.classList.add('num');
      });
      tr.append(...cells);
      body.append(tr);
    }
  }

  function showError(target, error) {
    target.textContent = error.message;
    target.className = 'error';
  }

  // Copying a selection copies the exact values of the numbers wholly in it (or of the one number it lies in).
  document.addEventListener('copy', (event) => {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0 || !event.clipboardData) return;
    const range = selection.getRangeAt(0);
    const around = range.commonAncestorContainer;
    const holder = (around.nodeType === Node.ELEMENT_NODE ? around : around.parentElement)?.closest('[data-exact]');
    let text;
    if (holder) {
      text = holder.dataset.exact;
    } else {
      const numbers = [...document.querySelectorAll('[data-exact]')].filter((el) => selection.containsNode(el, false) && el.firstChild);
      if (numbers.length === 0) return;
      // Swap the shown text for the exact one while the selection's text is read: the selection's ends lie outside them.
      const shown = numbers.map((el) => el.firstChild.data);
      numbers.forEach((el) => {
        el.firstChild.data = el.dataset.exact;
      });
      text = selection.toString();
      numbers.forEach((el, i) => {
        el.firstChild.data = shown[i];
      });
    }
    event.clipboardData.setData('text/plain', text);
    event.preventDefault();
  });

  async function loadHealth() {
    try {
      const response = await fetch('/healthz');
      const body = await response.json();
      $('health').textContent =
        body.status === 'ok'
          ? 'healthy: database reachable, rates fresh'
          : `unhealthy: ${body.status}${body.error ? ` (${body.error})` : ''}`;
      $('health').className = `state state-${body.status}`;
    } catch (error) {
      showError($('health'), error);
    }
  }

  const CADENCES = { daily: 'daily', ecb_business_day: 'ECB business days' };

  function sourceCell(f, configured) {
    const td = cell(f.source);
    if (!f.configured) {
      const note = document.createElement('small');
      note.className = 'note';
      note.textContent = 'stored, not fetched by this installation';
      td.append(note);
      const sources = configured.join(', ') || 'none';
      td.title =
        `${f.source}'s rates are in the warehouse, but this installation's sources (FXPIPE_SOURCES: ${sources}) ` +
        'do not include it: nothing here fetches it, so its rates only grow older.';
    }
    return td;
  }

  function ageCell(hours) {
    if (missing(hours)) return cell(null, 'num');
    const shown = hours < 48 ? `${fixed(1).format(hours)} h` : `${fixed(1).format(hours / 24)} days`;
    return exactly(cell(null, 'num'), `${hours} h`, shown);
  }

  async function loadFreshness() {
    const { freshness } = await api('/api/v1/freshness');
    const configured = freshness.filter((f) => f.configured).map((f) => f.source);
    fill(
      'freshness',
      freshness,
      (f) => [sourceCell(f, configured), cell(CADENCES[f.cadence] ?? f.cadence), timeCell(f.asOf), ageCell(f.ageHours), stateCell(f.state)],
      'no sources',
    );
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

  /** The history's window: the days stored for the pair, at most DEFAULT_WINDOW_DAYS of them up to the last. */
  async function fitWindow() {
    if ($('base').value === $('quote').value) return;
    try {
      const range = await api(`/api/v1/history-range?pair=${encodeURIComponent(pair())}`);
      state.range = range;
      if (!range.firstDay) return;
      const earliest = day(Date.parse(`${range.lastDay}T00:00:00Z`) - DEFAULT_WINDOW_DAYS * DAY_MS);
      $('from').value = range.firstDay > earliest ? range.firstDay : earliest;
      $('to').value = range.lastDay;
    } catch {
      // The window stays as it is: the chart's own request says what is wrong.
    }
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
      if (last) {
        const count = `${history.points.length} ${history.interval}s (${history.points.length - cold} hot, ${cold} archived)`;
        status.replaceChildren(
          `${history.pair}: ${count}, last close `,
          numberSpan(last.close, fmt.rate(last.close)),
          ` on ${last.date}; source ${Object.values(history.sources).join(', ')}`,
        );
      } else {
        status.textContent = `${history.pair}: no rates between ${history.from} and ${history.to}`;
      }
      status.dataset.pair = history.pair;
    } catch (error) {
      showError(status, error);
    }
    loadComparison().catch((error) => showError($('comparison-pair'), error));
  }

  const chartWidth = () => Math.max(280, $('chart').clientWidth || 800);

  function drawChart(history) {
    const xs = history.points.map((p) => Date.parse(`${p.date}T00:00:00Z`) / 1000);
    const close = history.points.map((p) => Number(p.close));
    const data = [xs, close];
    if (state.chart) state.chart.destroy();
    state.chart = new uPlot(
      {
        width: chartWidth(),
        height: 320,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        series: [
          { label: 'date' },
          {
            label: `${history.pair} close`,
            stroke: '#2e6fdb',
            width: 1.5,
            value: (u, v, si, i) => (i === null || !history.points[i] ? '–' : fmt.rate(history.points[i].close)),
          },
        ],
        axes: [{}, { size: 70 }],
        scales: { x: { time: true } },
      },
      data,
      $('chart'),
    );
    $('chart').dataset.pair = history.pair;
    $('chart').dataset.points = String(history.points.length);
  }

  async function loadComparison() {
    const { legs } = await api(`/api/v1/comparison?pair=${encodeURIComponent(pair())}`);
    $('comparison-pair').textContent = `(${pair()}: the stored USD legs)`;
    const rows = legs.flatMap((leg) => leg.sources.map((s) => ({ ...s, pair: `${leg.base}/${leg.quote}` })));
    fill(
      'comparison',
      rows,
      (r) => [
        cell(r.pair),
        cell(r.source),
        cell(r.tier),
        numberCell(r.rate, fmt.rate),
        timeCell(r.asOf),
        numberCell(r.referenceRate, fmt.rate),
        numberCell(r.deviationPct, fmt.pct),
        textCell(r.flags.join(', ')),
      ],
      'USD against itself: nothing to compare',
    );
  }

  async function convert(event) {
    event?.preventDefault();
    const params = new URLSearchParams({ amount: $('amount').value.trim(), from: $('convert-from').value, to: $('convert-to').value });
    if ($('convert-at').value) params.set('at', `${$('convert-at').value}T23:59:59Z`);
    const result = $('convert-result');
    const detail = $('convert-detail');
    try {
      const c = await api(`/api/v1/convert?${params}`);
      state.conversion = c;
      result.replaceChildren(
        numberSpan(c.amount, fmt.grouped(c.amount)),
        ` ${c.from} = `,
        numberSpan(c.converted, fmt.money(c.converted, c.to)),
        ` ${c.to}`,
      );
      result.className = '';
      const asOf = document.createElement('span');
      asOf.textContent = `${short(c.asOf)} UTC`;
      asOf.title = c.asOf;
      detail.replaceChildren(`rate `, numberSpan(c.rate, fmt.rate(c.rate)), ', as of ', asOf);
    } catch (error) {
      showError(result, error);
      detail.replaceChildren();
    }
  }

  async function loadRuns() {
    const { runs } = await api('/api/v1/runs?limit=10');
    fill(
      'runs',
      runs,
      (r) => [
        timeCell(r.startedAt),
        cell(r.kind),
        stateCell(r.status),
        cell(r.sourceUsed),
        numberCell(r.counts.loaded, fmt.count),
        numberCell(r.counts.rejected, fmt.count),
        textCell(r.error ?? ''),
      ],
      'no runs yet',
    );
  }

  async function loadRejected() {
    const { rejected } = await api('/api/v1/rejected?hours=24');
    fill(
      'rejected',
      rejected,
      (r) => [
        timeCell(r.rejectedAt),
        cell(r.source),
        cell(r.base && r.quote ? `${r.base}/${r.quote}` : (r.quote ?? r.base)),
        textCell(r.rawValue),
        textCell(r.reason),
      ],
      'none',
    );
  }

  async function loadChecks() {
    const { checks } = await api('/api/v1/production-checks?limit=10');
    fill(
      'checks',
      checks,
      (c) => [
        timeCell(c.checkedAt),
        textCell(c.label),
        numberCell(c.rows, fmt.count),
        numberCell(c.ok, fmt.count),
        numberCell(c.deviates, fmt.count, c.deviates ? 'num state state-failed' : 'num'),
        numberCell(c.noRate, fmt.count, c.noRate ? 'num state state-late' : 'num'),
        cell(c.tolerancePct, 'num'),
      ],
      'no checks yet: fxpipe verify, or POST /api/v1/verify',
    );
    const last = checks[0];
    $('check-label').textContent = last
      ? `(${last.label ?? 'unlabelled'}, ${short(last.checkedAt)}${last.notOk.length < last.rows - last.ok ? `; the first ${last.notOk.length}` : ''})`
      : '';
    fill(
      'check-rows',
      last ? last.notOk : [],
      (r) => [
        cell(r.line, 'num'),
        cell(`${r.base}/${r.quote}`),
        numberCell(r.rate, fmt.rate),
        numberCell(r.consensusRate, fmt.rate),
        numberCell(r.deviationPct, fmt.pct),
        cell(r.verdict, `state ${r.verdict === 'deviates' ? 'state-failed' : 'state-late'}`),
      ],
      last ? 'every rate ok' : 'none',
    );
  }

  async function loadArchive() {
    const a = await api('/api/v1/archive');
    const mib = (bytes) => `${fixed(1).format(bytes / 1048576)} MiB`;
    $('archive-summary').textContent =
      `Hot in PostgreSQL: ${a.hot.oldestDay ?? '–'} to ${a.hot.newestDay ?? '–'}. ` +
      `Archived to Parquet: ${fmt.count(a.archived.months)} months, ${fmt.count(a.archived.rows)} rows, ${mib(a.archived.bytes)}.`;
    fill(
      'archive',
      a.months,
      (m) => [cell(m.month), stateCell(m.state), numberCell(m.rows, fmt.count), numberCell(m.bytes, mib), timeCell(m.archivedAt)],
      'nothing archived',
    );
  }

  async function start() {
    const today = Date.now();
    $('to').value = day(today);
    $('from').value = day(today - DEFAULT_WINDOW_DAYS * DAY_MS);
    const panels = [loadHealth(), loadFreshness(), loadRuns(), loadRejected(), loadChecks(), loadArchive()];
    try {
      await loadCurrencies();
      await fitWindow();
      await Promise.all([loadChart(), convert()]);
    } catch (error) {
      showError($('chart-status'), error);
    }
    await Promise.allSettled(panels);
    // A new pair opens on its own stored days, until the user picks the dates.
    for (const id of ['base', 'quote']) {
      $(id).addEventListener('change', async () => {
        if (!state.datesChosen) await fitWindow();
        await loadChart();
      });
    }
    for (const id of ['from', 'to']) {
      $(id).addEventListener('change', () => {
        state.datesChosen = true;
        loadChart();
      });
    }
    $('interval').addEventListener('change', loadChart);
    $('converter').addEventListener('submit', convert);
    window.addEventListener('resize', () => state.chart?.setSize({ width: chartWidth(), height: 320 }));
    document.body.dataset.ready = 'true';
  }

  document.addEventListener('DOMContentLoaded', () => {
    start().catch((error) => showError($('health'), error));
  });
})();
