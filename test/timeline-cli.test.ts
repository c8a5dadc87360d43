/**
 * `vieweratlas timeline` and `vieweratlas channel` as a user runs them, on a drifting population
 * with a known truth, and timeline.html in real headless Chromium (Debian's /usr/bin/chromium):
 * the slider changes what is drawn, a channel's history panel, no network request, names as text.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../src/export/csv.js';
import { simulateDrift } from '../src/simulate/drift.js';
import { CHROMIUM, CHROMIUM_ARGS } from './helpers/chromium.js';
import { runCli } from './helpers/run-cli.js';

const ARGS = CHROMIUM_ARGS;
const INJECTION = '<img src=x onerror=alert(1)>';

let dir: string;
const pop = simulateDrift();
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'va-timeline-'));
  writeFileSync(
    join(dir, 'presence.csv'),
    `channel,viewer,ts\n${pop.rows.map(([c, v, t]) => `${pop.channels[c]},dv${v},${new Date(t).toISOString()}`).join('\n')}\n`,
  );
  // the split-off community's channels play a game whose name is markup
  writeFileSync(
    join(dir, 'channels.csv'),
    `channel,language,game\n${pop.channels.map((c, i) => `${c},en,"${i % 4 === 0 ? INJECTION : `Game ${i % 4}`}"`).join('\n')}\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const table = (file: string) => {
  const [header, ...rows] = parseCsv(readFileSync(file, 'utf8'));
  return rows
    .filter((r) => r.length > 1)
    .map((r) => Object.fromEntries((header as string[]).map((h, i) => [h, r[i]])));
};

describe('vieweratlas timeline / channel', () => {
  it('writes the tracked tables with the documented columns', async () => {
    const r = await runCli(['timeline', '--input', dir, '--every', '1d', '--out', join(dir, 'out')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/timeline: 6 windows, 6 tracked communities/);
    const rows = table(join(dir, 'out', 'timeline.csv'));
    expect(Object.keys(rows[0] as object).slice(0, 6)).toEqual([
      'window_start',
      'window_end',
      'channel',
      'community',
      'group',
      'label',
    ]);
    expect(rows[0]).toHaveProperty('viewers');
    expect(new Set(rows.map((x) => x.window_start)).size).toBe(6);
    const events = table(join(dir, 'out', 'timeline-communities.csv')).map((x) => x.event);
    expect(events).toContain('split');
    expect(events).toContain('born');
    const moves = table(join(dir, 'out', 'timeline-moves.csv'));
    expect(moves.map((m) => m.channel)).toEqual(expect.arrayContaining(['drift_c1', 'drift_c5', 'drift_c9']));
    for (const f of [
      'timeline.parquet',
      'timeline-communities.parquet',
      'timeline-moves.parquet',
      'timeline.json',
    ])
      expect(existsSync(join(dir, 'out', f)), f).toBe(true);
  }, 120_000);

  it('simulate --drift writes a drifting population with its truth per day', async () => {
    const out = join(dir, 'drift');
    const r = await runCli([
      'simulate',
      '--drift',
      '--channels',
      '60',
      '--viewers',
      '3000',
      '--communities',
      '4',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const truth = table(join(out, 'truth.csv'));
    const days = [...new Set(truth.map((t) => t.day))];
    expect(days).toHaveLength(6);
    // community 0 splits: a fifth planted community exists on the last day only
    const last = new Set(truth.filter((t) => t.day === days[5]).map((t) => t.community));
    const first = new Set(truth.filter((t) => t.day === days[0]).map((t) => t.community));
    expect(last.size).toBe(first.size + 2); // the split-off half and the new community
    expect(table(join(out, 'presence.csv')).length).toBeGreaterThan(10_000);
  });

  it('refuses bad durations and edge lists with one line', async () => {
    const bad = await runCli(['timeline', '--input', dir, '--every', 'weekly', '--out', join(dir, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toMatch(/--every: expected a duration/);
    const edges = await runCli(['timeline', '--input', '../shared/data/twitch-atlas-2021-10-edges.csv']);
    expect(edges.code).toBe(1);
    expect(edges.err).toMatch(/an edge list has no time/);
  });

  it('channel NAME: the share of its chatters elsewhere per window, and the movers', async () => {
    const r = await runCli([
      'channel',
      'drift_c1',
      '--input',
      dir,
      '--every',
      '1d',
      '--out',
      join(dir, 'ch'),
    ]);
    expect(r.code, r.err).toBe(0);
    const rows = table(join(dir, 'ch', 'channel.csv'));
    expect(new Set(rows.map((x) => x.window_start)).size).toBe(6);
    for (const x of rows) expect(Number(x.share)).toBeGreaterThan(0);
    // drift_c1 moves from community 1 to community 2 on day 3: community 2's channels gain share
    const movers = table(join(dir, 'ch', 'movers.csv'));
    const gained = movers
      .filter((m) => Number(m.change) > 0)
      .map((m) => pop.channels.indexOf(m.other as string) % 4);
    expect(gained.length).toBeGreaterThan(0);
    expect(gained.every((g) => g === 2)).toBe(true);
    expect(readFileSync(join(dir, 'ch', 'channel.html'), 'utf8')).toContain('drift_c1');
    const missing = await runCli(['channel', 'nobody_here', '--input', dir]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nobody_here: not in any window/);
  }, 120_000);
});

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('timeline.html in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => browser?.close());

  it('the slider changes what is drawn; a channel’s panel shows its history; no request; names as text', async () => {
    const file = join(dir, 'out', 'timeline.html');
    if (!existsSync(file)) {
      const r = await runCli(['timeline', '--input', dir, '--every', '1d', '--out', join(dir, 'out')]);
      expect(r.code, r.err).toBe(0);
    }
    const page = await browser.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    const url = pathToFileURL(file).href;
    await page.goto(url);
    const state = () =>
      page.evaluate(() => {
        const c = document.getElementById('map') as HTMLCanvasElement;
        return {
          window: c.dataset.window,
          drawn: Number(c.dataset.drawn),
          label: document.getElementById('window-label')?.textContent,
        };
      });
    const day0 = await state();
    expect(day0.window).toBe('0');
    expect(day0.drawn).toBe(60); // the new community is not live yet
    const pixels0 = await page.evaluate(() =>
      (document.getElementById('map') as HTMLCanvasElement).toDataURL(),
    );
    await page.locator('#window').fill('5');
    const day5 = await state();
    expect(day5.window).toBe('5');
    expect(day5.drawn).toBe(72);
    expect(day5.label).not.toBe(day0.label);
    expect(
      await page.evaluate(() => (document.getElementById('map') as HTMLCanvasElement).toDataURL()),
    ).not.toBe(pixels0);
    // the legend lists the window's communities, markup from the data as text
    const legend = await page.locator('#communities li').allTextContents();
    expect(legend.length).toBeGreaterThanOrEqual(6);
    expect(legend.join('\n')).toContain(INJECTION);
    expect(await page.locator('#communities img').count()).toBe(0);
    // a channel's history: its community in each window and its top overlaps
    await page.locator('#search').fill('drift_c1');
    await page.locator('#search').dispatchEvent('change');
    expect(await page.locator('#channel-name').textContent()).toBe('drift_c1');
    const history = await page.locator('#history tbody tr').allTextContents();
    expect(history).toHaveLength(6);
    expect(history[0]).toMatch(/drift_c\d+ \d+%/);
    // the alluvial has flows between windows
    expect(await page.locator('#flows path').count()).toBeGreaterThan(5);
    expect(requests).toEqual([url]);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
