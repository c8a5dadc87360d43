/**
 * atlas.html in real headless Chromium (Debian's /usr/bin/chromium via playwright-core), opened
 * from disk: it draws, searches, toggles communities, shows names as text, and makes no request.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { readAnalysisFolder } from '../src/export/read.js';
import { renderAtlas } from '../src/render/index.js';
import { decodePng, distinctColours, makeAnalysisFolder } from './render-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const INJECTION = '<img src=x onerror=alert(1)>';
const GAME_INJECTION = '<b>bold</b><script>alert(2)</script>';

let tmp: string;
let browser: Browser;
let page: Page;
let url: string;
const requests: string[] = [];
const errors: string[] = [];
const dialogs: string[] = [];
let channels: Awaited<ReturnType<typeof readAnalysisFolder>>['channels'];

/** Distinct colours in a screenshot, sampled. */
async function screenshotColours(png: Buffer): Promise<number> {
  const img = await decodePng(png);
  return distinctColours(img.region(0, 0, img.width, img.height));
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('atlas.html in headless Chromium', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'va-html-'));
    const dir = join(tmp, 'atlas');
    // shroud is the biggest channel of its community, so its name also reaches the community label.
    await makeAnalysisFolder(dir, { maxChannels: 400, rename: { shroud: INJECTION }, game: GAME_INJECTION });
    // A small edge cap so the page must say it capped.
    const config = loadConfig({
      overrides: {
        layout: { iterations: 100 },
        render: { png_width: 600, png_height: 600, html_max_edges: 3000 },
      },
    });
    const result = await renderAtlas(config, { dir });
    channels = (await readAnalysisFolder(dir)).channels;
    url = pathToFileURL(result.html).href;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready=true]', { state: 'attached', timeout: 30_000 });
    await page.waitForTimeout(500);
  });

  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('draws the graph (the canvas is not blank)', async () => {
    const shot = await page.locator('#graph').screenshot();
    expect(await screenshotColours(shot)).toBeGreaterThan(40);
  });

  it('says that the edges drawn are capped', async () => {
    const note = page.locator('#cap-note');
    await expect(note.isVisible()).resolves.toBe(true);
    expect(await note.textContent()).toMatch(/Showing the 3,000 strongest of [\d,]+ overlaps/);
  });

  it('search finds a channel by case-insensitive substring and opens its panel with its community', async () => {
    const target = channels.find((c) => c.channel === 'ibai') ?? channels[5];
    // A substring lists it among the suggestions …
    await page.fill('#search', target.channel.slice(1, -1).toUpperCase());
    await page.waitForSelector('#search-results li');
    expect(await page.locator('#search-results').textContent()).toContain(target.channel);
    // … and the whole name, in any case, picks it.
    await page.fill('#search', target.channel.toUpperCase());
    await page.press('#search', 'Enter');
    await page.waitForSelector('#panel[data-kind=channel]');
    expect(await page.textContent('#panel h2')).toBe(target.channel);
    expect(await page.getAttribute('#panel', 'data-community')).toBe(String(target.community));
    expect(await page.locator('#panel ol.overlaps li').count()).toBe(10);
  });

  it('toggling a community in the legend hides its nodes, and toggling again shows them', async () => {
    const member = channels.find((c) => c.community === 1)!;
    const other = channels.find((c) => c.community === 0)!;
    const visible = (name: string) =>
      page.evaluate(
        (n) => (window as unknown as { atlas: { nodeVisible(n: string): boolean } }).atlas.nodeVisible(n),
        name,
      );
    expect(await visible(member.channel)).toBe(true);
    const before = await page.locator('#graph').screenshot();
    await page.locator('#legend-items li[data-community="1"] input').click();
    await page.waitForTimeout(300);
    expect(await visible(member.channel)).toBe(false);
    expect(await visible(other.channel)).toBe(true);
    const after = await page.locator('#graph').screenshot();
    expect(after.equals(before)).toBe(false);
    await page.locator('#legend-items li[data-community="1"] input').click();
    await page.waitForTimeout(100);
    expect(await visible(member.channel)).toBe(true);
  });

  it('shows names from the data as text: no element injected, no alert', async () => {
    await page.fill('#search', '<img');
    await page.press('#search', 'Enter');
    await page.waitForSelector('#panel[data-kind=channel]');
    expect(await page.textContent('#panel h2')).toBe(INJECTION);
    expect(await page.textContent('#panel')).toContain(GAME_INJECTION);
    // The community named after it shows the same text in the legend.
    expect(await page.textContent('#legend')).toContain(`${INJECTION} & co`);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('b').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(2); // the data and the client, nothing else
    await page.waitForTimeout(200);
    expect(dialogs).toEqual([]);
  });

  it('hovering a channel highlights it and its neighbours and dims the rest', async () => {
    type Handle = {
      hovered(): string | null;
      pagePosition(n: string): { x: number; y: number } | null;
      drawnColor(n: string): string | undefined;
      graph: { neighbors(k: string): string[]; getNodeAttribute(k: string, a: string): string };
    };
    const atlas = (fn: string, arg?: string) =>
      page.evaluate(
        ([f, a]) => {
          const h = (window as unknown as { atlas: Handle }).atlas;
          if (f === 'hovered') return h.hovered();
          if (f === 'pos') return h.pagePosition(a as string);
          if (f === 'color') return h.drawnColor(a as string);
          const key = String(
            (
              h.graph as unknown as { findNode(p: (k: string, at: { label: string }) => boolean): string }
            ).findNode((_k, at) => at.label === a),
          );
          return h.graph.neighbors(key).map((k) => h.graph.getNodeAttribute(k, 'label'));
        },
        [fn, arg] as const,
      );
    // Back to the whole map, panel closed, then hover a big channel that is in plain view.
    await page.evaluate(async () => {
      const s = (window as unknown as { atlas: { sigma: { getCamera(): { setState(c: object): void } } } })
        .atlas.sigma;
      s.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    });
    await page.locator('#panel .close').click();
    await page.mouse.move(5, 5);
    const inView = async () => {
      for (const c of [...channels].sort((a, b) => b.viewers - a.viewers).slice(0, 40)) {
        const p = (await atlas('pos', c.channel)) as { x: number; y: number };
        if (p.x > 420 && p.x < 900 && p.y > 80 && p.y < 720) return p;
      }
      throw new Error('no big channel in view');
    };
    const pos = await inView();
    await page.mouse.move(pos.x, pos.y, { steps: 3 });
    await page.waitForFunction(() => (window as unknown as { atlas: Handle }).atlas.hovered() !== null);
    const hovered = (await atlas('hovered')) as string;
    const neighbours = (await atlas('neighbours', hovered)) as string[];
    expect(neighbours.length).toBeGreaterThan(0);
    for (const n of neighbours.slice(0, 5)) expect(await atlas('color', n)).not.toBe('#2a2f3a');
    const stranger = channels.find((c) => c.channel !== hovered && !neighbours.includes(c.channel))!;
    expect(await atlas('color', stranger.channel)).toBe('#2a2f3a');
    await page.mouse.move(5, 5);
    await page.waitForFunction(() => (window as unknown as { atlas: Handle }).atlas.hovered() === null);
    expect(await atlas('color', stranger.channel)).not.toBe('#2a2f3a');
  });

  it('opens a community panel with its top channels', async () => {
    await page.locator('#legend-items li[data-community="2"] button').click();
    await page.waitForSelector('#panel[data-kind=community]');
    expect(await page.getAttribute('#panel', 'data-community')).toBe('2');
    expect(await page.locator('#panel ol.top-channels li').count()).toBeGreaterThan(0);
  });

  it('made no network request and logged no error', () => {
    expect(requests.filter((u) => !/^(file|data|blob):/.test(u))).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});
