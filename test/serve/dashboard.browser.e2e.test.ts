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

// What the page should show, worked out here from the exact decimal text (Node's Intl, en-US, as the page is opened
// with): amounts to ISO 4217's minor units, rates to Frankfurter's magnitude bands (lib/roundable.rb).
const MINOR_UNITS: Record<string, number> = { JPY: 0, CHF: 2, EUR: 2, GBP: 2 };
const places = (n: number, text: string) =>
  new Intl.NumberFormat('en-US', { minimumFractionDigits: n, maximumFractionDigits: n }).format(text as unknown as number);
const money = (text: string, code: string) => places(MINOR_UNITS[code]!, text);
function rate(text: string): string {
  const v = Math.abs(Number(text));
  const n = v > 5000 ? 0 : v > 80 ? 2 : v > 20 ? 3 : v > 1 ? 4 : v > 0.0001 ? 5 : null;
  return n === null ? new Intl.NumberFormat('en-US', { maximumSignificantDigits: 6 }).format(text as unknown as number) : places(n, text);
}
/** The sources `fxpipe serve` fetches when FXPIPE_SOURCES is not set (docs/pipeline.md). */
const DEFAULT_SOURCES = ['open-er-api', 'frankfurter'];

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
    const [eur, jpy] = await Promise.all(
      ['EUR', 'JPY'].map(
        async (quote) =>
          (await w.db.query<{ rate: string }>(`select rate::text as rate from api.consensus_rate('USD', $1)`, [quote]))[0]!.rate,
      ),
    );
    jpyConsensus = jpy!;
    const posted = await fetch(`${served.url}/api/v1/verify?label=processor`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: `base,quote,rate\nUSD,EUR,${eur}\nUSD,JPY,${(Number(jpy) * 1.05).toFixed(4)}\nUSD,ZZZ,1.5\n`,
    });
    expect(posted.status).toBe(200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 }, locale: 'en-US' });
    page.on('request', (request) => requests.push(request.url()));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await w?.database.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The chart's data as uPlot holds it, and the status line under the form. */
  const chartState = () =>
    page.evaluate(() => {
      const state = (
        window as unknown as {
          fxpipe: { chart: { data: number[][] } | null; history: { pair: string; points: { date: string; close: string }[] } | null };
        }
      ).fxpipe;
      return { data: state.chart?.data ?? null, history: state.history, canvas: document.querySelectorAll('#chart canvas').length };
    });

  /** A number's shown text and the exact text kept for hover (title) and copy (data-exact). */
  const shown = (selector: string) =>
    page.locator(selector).evaluate((el) => ({
      text: el.textContent,
      title: el.getAttribute('title'),
      exact: el.getAttribute('data-exact'),
    }));
  /** What copying the element's text (selected whole) puts on the clipboard. */
  const copied = (selector: string) =>
    page.locator(selector).evaluate((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      document.getSelection()!.removeAllRanges();
      document.getSelection()!.addRange(range);
      const clipboardData = new DataTransfer();
      document.dispatchEvent(new ClipboardEvent('copy', { clipboardData, bubbles: true, cancelable: true }));
      return clipboardData.getData('text/plain');
    });

  it('opens, draws the chart from the database, switches the pair, converts, and serves every asset itself', async () => {
    await page.goto(`${served.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-pair') === 'USD/EUR');

    // USD/EUR opens on the days stored for it (45, fewer than the default 90): every day's close as the database stores
    // it (archived months included).
    const storedEur = w.dailyBeforeArchive.get('EUR')!;
    const from = await page.inputValue('#from');
    const to = await page.inputValue('#to');
    expect([from, to]).toEqual([storedEur[0]!.date, storedEur.at(-1)!.date]);
    const expectEur = storedEur;
    let chart = await chartState();
    expect(chart.canvas).toBeGreaterThan(0);
    expect(chart.history!.points.map((p) => [p.date, p.close])).toEqual(expectEur.map((d) => [d.date, d.close]));
    expect(chart.data![1]).toEqual(expectEur.map((d) => Number(d.close)));
    expect(chart.data![0]).toEqual(expectEur.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000));
    const lastEur = expectEur.at(-1)!;
    expect(await page.textContent('#chart-status')).toContain(`last close ${rate(lastEur.close)} on ${lastEur.date}`);
    expect(await shown('#chart-status [data-exact]')).toEqual({ text: rate(lastEur.close), title: lastEur.close, exact: lastEur.close });
    expect(await page.textContent('#chart-status')).toMatch(/\(\d+ hot, [1-9]\d* archived\)/);

    // Switch the pair: the chart redraws with USD/JPY's values.
    await page.selectOption('#quote', 'JPY');
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-pair') === 'USD/JPY');
    const expectJpy = w.dailyBeforeArchive.get('JPY')!.filter((d) => d.date >= from && d.date <= to);
    chart = await chartState();
    expect(chart.history!.pair).toBe('USD/JPY');
    expect(chart.data![1]).toEqual(expectJpy.map((d) => Number(d.close)));
    // The comparison panel loads after the chart is drawn (its own request).
    await page.waitForFunction(() => document.querySelector('#comparison-pair')?.textContent?.includes('USD/JPY'), undefined, {
      timeout: 15_000,
    });
    const comparisonRows = await page.locator('#comparison tbody tr').count();
    const sources = await w.db.query<{ n: number }>(
      `select count(*)::int as n from api.source_comparison where base = 'USD' and quote = 'JPY'`,
    );
    expect(comparisonRows).toBe(sources[0]!.n);

    // The converter opened on 100 EUR in JPY: grouped, JPY's 0 decimals, the rate by its magnitude; exact on hover and copy.
    const [opening] = await w.db.query<{ converted: string; rate: string }>(
      `select converted::text as converted, rate::text as rate from api.convert(100, 'EUR', 'JPY')`,
    );
    expect(Number(opening!.converted)).toBeGreaterThan(1000);
    expect(await page.textContent('#convert-result')).toBe(`100 EUR = ${money(opening!.converted, 'JPY')} JPY`);
    expect(money(opening!.converted, 'JPY')).toMatch(/^\d{1,3}(,\d{3})+$/);
    const converted = await shown('#convert-result [data-exact]:nth-of-type(2)');
    expect(converted).toEqual({ text: money(opening!.converted, 'JPY'), title: opening!.converted, exact: opening!.converted });
    expect(await copied('#convert-result [data-exact]:nth-of-type(2)')).toBe(opening!.converted);
    expect(await shown('#convert-detail [data-exact]')).toEqual({ text: rate(opening!.rate), title: opening!.rate, exact: opening!.rate });
    expect(await page.textContent('#exact-hint')).toContain('hover one for its exact value');

    // The converter: 250 GBP in CHF, now and at a date, equal to api.convert.
    await page.fill('#amount', '250');
    await page.selectOption('#convert-from', 'GBP');
    await page.selectOption('#convert-to', 'CHF');
    await page.click('#converter button[type="submit"]');
    const [now] = await w.db.query<{ converted: string; rate: string }>(
      `select converted::text as converted, rate::text as rate from api.convert(250, 'GBP', 'CHF')`,
    );
    const resultIs = (text: string) => page.waitForFunction((t) => document.querySelector('#convert-result')?.textContent === t, text);
    await resultIs(`250 GBP = ${money(now!.converted, 'CHF')} CHF`);
    expect(await page.textContent('#convert-detail')).toContain(`rate ${rate(now!.rate)}`);
    expect((await shown('#convert-result [data-exact]:nth-of-type(2)')).exact).toBe(now!.converted);
    const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    await page.fill('#convert-at', day);
    await page.click('#converter button[type="submit"]');
    const [then] = await w.db.query<{ converted: string }>(
      `select converted::text as converted from api.convert(250, 'GBP', 'CHF', $1::timestamptz)`,
      [`${day}T23:59:59Z`],
    );
    await resultIs(`250 GBP = ${money(then!.converted, 'CHF')} CHF`);
    expect((await shown('#convert-result [data-exact]:nth-of-type(2)')).exact).toBe(then!.converted);

    // The other panels show the database's rows.
    const runs = await page.locator('#runs tbody tr').count();
    expect(runs).toBe(10);
    expect(await page.textContent('#archive-summary')).toContain(`Archived to Parquet: ${w.archivedMonths.length} months`);
    expect(await page.locator('#freshness tbody tr').count()).toBeGreaterThanOrEqual(2);
    // A source stored but not configured is said so in words; a configured one is not.
    const stored = await w.db.query<{ source: string }>(
      `select distinct s.source_name as source from fact_rates_current f join dim_source s using (source_id) order by 1`,
    );
    const freshness = Object.fromEntries(
      await page
        .locator('#freshness tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr): [string, string | null] => [
            tr.querySelector('td')!.firstChild!.textContent!,
            tr.querySelector('td .note')?.textContent ?? null,
          ]),
        ),
    );
    const unconfigured = stored.map((r) => r.source).filter((source) => !DEFAULT_SOURCES.includes(source));
    expect(unconfigured.length).toBeGreaterThan(0);
    for (const source of unconfigured) expect(freshness[source], source).toBe('stored, not fetched by this installation');
    for (const source of DEFAULT_SOURCES) expect(freshness[source], source).toBeNull();
    expect(await page.textContent('#health')).toContain('healthy');
    // The production check: its counts, and the rows that were not ok with the consensus they were checked against.
    const checkCells = await page.locator('#checks tbody tr').first().locator('td').allTextContents();
    expect(checkCells.slice(1)).toEqual(['processor', '3', '1', '1', '1', '0.5']);
    const notOk = await page
      .locator('#check-rows tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(notOk.map((r) => [r[0], r[1], r[3], r[5]])).toEqual([
      ['3', 'USD/JPY', rate(jpyConsensus), 'deviates'],
      ['4', 'USD/ZZZ', '–', 'no_rate'],
    ]);
    expect(await shown('#check-rows tbody tr:first-child td:nth-child(4)')).toEqual({
      text: rate(jpyConsensus),
      title: jpyConsensus,
      exact: jpyConsensus,
    });

    // At 1280 px every panel is read without scrolling sideways, and no number shows more than 6 decimals.
    const overflowing = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('header, main > section')]
        .filter((el) => el.scrollWidth > el.clientWidth)
        .map((el) => `${el.id || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`),
    );
    expect(overflowing).toEqual([]);
    expect(await page.evaluate(() => document.scrollingElement!.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.locator('main > section').count()).toBe(7);
    expect(await page.evaluate(() => document.body.innerText)).not.toMatch(/\d[.,]\d{7,}/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(existsSync(path.join(ARTIFACTS, 'dashboard.png'))).toBe(true);

    // Nothing left the machine: every request went to fxpipe itself.
    expect(requests.length).toBeGreaterThan(5);
    for (const url of requests) expect(url.startsWith(`${served.url}/`), url).toBe(true);
  });
});
