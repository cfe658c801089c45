import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/database.js';
import { servedWarehouse, startServe, type Served, type ServedWarehouse } from './support.js';

/** Debian's Chromium: `.ci/run` installs it with apt-get when missing. */
const CHROMIUM = process.env.FXPIPE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');
const present = existsSync(CHROMIUM);
if (!present && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);

describe.skipIf(!present)('the dashboard in a real browser (Chromium, headless)', () => {
  let dir: string;
  let w: ServedWarehouse;
  let served: Served;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  let jpyConsensus: string;

  beforeAll(async () => {
    dir = scratchDir('fxpipe-browser-');
    w = await servedWarehouse(dir);
    served = await startServe(w.database, w.home);
    // A production check through the API, as a production system would post it: USD/EUR at the consensus (ok),
    // USD/JPY 5 % above it (deviates), a code fxpipe does not know (no rate).
    const [eur, jpy] = await Promise.all(['EUR', 'JPY'].map(async (quote) => (await w.db.query<{ rate: string }>(
      `select rate::text as rate from api.consensus_rate('USD', $1)`, [quote]))[0]!.rate));
    jpyConsensus = jpy!;
    const posted = await fetch(`${served.url}/api/v1/verify?label=processor`, {
      method: 'POST', headers: { 'content-type': 'text/csv' },
      body: `base,quote,rate\nUSD,EUR,${eur}\nUSD,JPY,${(Number(jpy) * 1.05).toFixed(4)}\nUSD,ZZZ,1.5\n`,
    });
    expect(posted.status).toBe(200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    page.on('request', (request) => requests.push(request.url()));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await w?.database.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The chart's data as uPlot holds it, and the status line under the form. */
  const chartState = () => page.evaluate(() => {
    const state = (window as unknown as { fxpipe: { chart: { data: number[][] } | null; history: { pair: string; points: { date: string; close: string }[] } | null } }).fxpipe;
    return { data: state.chart?.data ?? null, history: state.history, canvas: document.querySelectorAll('#chart canvas').length };
  });

  it('opens, draws the chart from the database, switches the pair, converts, and serves every asset itself', async () => {
    await page.goto(`${served.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-pair') === 'USD/EUR');

    // USD/EUR over the default 90 days: every day's close as the database stores it (archived months included).
    const from = await page.inputValue('#from');
    const to = await page.inputValue('#to');
    const expectEur = w.dailyBeforeArchive.get('EUR')!.filter((d) => d.date >= from && d.date <= to);
    let chart = await chartState();
    expect(chart.canvas).toBeGreaterThan(0);
    expect(chart.history!.points.map((p) => [p.date, p.close])).toEqual(expectEur.map((d) => [d.date, d.close]));
    expect(chart.data![1]).toEqual(expectEur.map((d) => Number(d.close)));
    expect(chart.data![0]).toEqual(expectEur.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000));
    const lastEur = expectEur.at(-1)!;
    expect(await page.textContent('#chart-status')).toContain(`last close ${lastEur.close} on ${lastEur.date}`);
    expect(await page.textContent('#chart-status')).toMatch(/\(\d+ hot, [1-9]\d* archived\)/);

    // Switch the pair: the chart redraws with USD/JPY's values.
    await page.selectOption('#quote', 'JPY');
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-pair') === 'USD/JPY');
    const expectJpy = w.dailyBeforeArchive.get('JPY')!.filter((d) => d.date >= from && d.date <= to);
    chart = await chartState();
    expect(chart.history!.pair).toBe('USD/JPY');
    expect(chart.data![1]).toEqual(expectJpy.map((d) => Number(d.close)));
    // The comparison panel loads after the chart is drawn (its own request).
    await page.waitForFunction(() => document.querySelector('#comparison-pair')?.textContent?.includes('USD/JPY'), undefined, { timeout: 15_000 });
    const comparisonRows = await page.locator('#comparison tbody tr').count();
    const sources = await w.db.query<{ n: number }>(`select count(*)::int as n from api.source_comparison where base = 'USD' and quote = 'JPY'`);
    expect(comparisonRows).toBe(sources[0]!.n);

    // The converter: 250 GBP in CHF, now and at a date, equal to api.convert.
    await page.fill('#amount', '250');
    await page.selectOption('#convert-from', 'GBP');
    await page.selectOption('#convert-to', 'CHF');
    await page.click('#converter button[type="submit"]');
    const [now] = await w.db.query<{ converted: string; rate: string }>(`select converted::text as converted, rate::text as rate from api.convert(250, 'GBP', 'CHF')`);
    await page.waitForFunction((text) => document.querySelector('#convert-result')?.textContent?.startsWith(text), `250 GBP = ${now!.converted} CHF (rate ${now!.rate}`);
    const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    await page.fill('#convert-at', day);
    await page.click('#converter button[type="submit"]');
    const [then] = await w.db.query<{ converted: string }>(`select converted::text as converted from api.convert(250, 'GBP', 'CHF', $1::timestamptz)`, [`${day}T23:59:59Z`]);
    await page.waitForFunction((text) => document.querySelector('#convert-result')?.textContent?.startsWith(text), `250 GBP = ${then!.converted} CHF`);

    // The other panels show the database's rows.
    const runs = await page.locator('#runs tbody tr').count();
    expect(runs).toBe(10);
    expect(await page.textContent('#archive-summary')).toContain(`Archived to Parquet: ${w.archivedMonths.length} months`);
    expect(await page.locator('#freshness tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#health')).toContain('healthy');
    // The production check: its counts, and the rows that were not ok with the consensus they were checked against.
    const checkCells = await page.locator('#checks tbody tr').first().locator('td').allTextContents();
    expect(checkCells.slice(1)).toEqual(['processor', '3', '1', '1', '1', '0.5']);
    const notOk = await page.locator('#check-rows tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(notOk.map((r) => [r[0], r[1], r[3], r[5]])).toEqual([['3', 'USD/JPY', jpyConsensus, 'deviates'], ['4', 'USD/ZZZ', '–', 'no_rate']]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(existsSync(path.join(ARTIFACTS, 'dashboard.png'))).toBe(true);

    // Nothing left the machine: every request went to fxpipe itself.
    expect(requests.length).toBeGreaterThan(5);
    for (const url of requests) expect(url.startsWith(`${served.url}/`), url).toBe(true);
  });
});
