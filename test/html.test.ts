/**
 * atlas.html in real headless Chromium (Debian's /usr/bin/chromium via playwright-core), opened
 * from disk: it draws, searches, toggles communities, shows names as text, and makes no request.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { readAnalysisFolder } from '../src/export/read.js';
import {
  buildRenderModel,
  computeLayout,
  layoutInput,
  renderAtlas,
  renderHtml,
} from '../src/render/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from './helpers/chromium.js';
import { decodePng, distinctColours, makeAnalysisFolder, makeHierarchy } from './render-helpers.js';

const ARGS = CHROMIUM_ARGS;
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

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)(
  'atlas.html with two levels (groups and communities)',
  () => {
    let hb: Browser;
    let hp: Page;
    let dir: string;
    const pageErrors: string[] = [];
    const hreq: string[] = [];
    const data = makeHierarchy({ maxChannels: 500, rename: { shroud: INJECTION } });
    // The 500 biggest channels all have an edge: add two without any (unassigned, as analyze writes them).
    for (const channel of ['lonely_one', 'lonely_two']) {
      data.channels.push({
        ...data.channels[0],
        channel,
        community: -1,
        label: '',
        group: -1,
        groupLabel: '',
        viewers: 3000,
        degree: 0,
      });
    }
    const model0 = buildRenderModel(data);
    const layout = computeLayout(layoutInput(model0), { iterations: 80 });
    data.channels.forEach((c, i) => {
      c.x = layout.x[i];
      c.y = layout.y[i];
    });
    const model = buildRenderModel(data);
    // A group with several communities, and one of its channels.
    const big = model.groups.find((g) => g.communities >= 2)!;
    const inBig = model.communities.filter((c) => c.group === big.group);
    const other = model.channels.find((c) => c.group >= 0 && c.group !== big.group)!;
    const unassigned = model.channels.find((c) => c.community < 0)!;
    type H = { atlas: { nodeVisible(n: string): boolean } };
    const visible = (name: string) => hp.evaluate((n) => (window as unknown as H).atlas.nodeVisible(n), name);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'va-html-hier-'));
      const file = join(dir, 'atlas.html');
      writeFileSync(file, await renderHtml(model, { title: 'Two levels', attribution: 'test' }));
      hb = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      hp = await hb.newPage({ viewport: { width: 1280, height: 800 } });
      hp.on('pageerror', (e) => pageErrors.push(e.message));
      hp.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      hp.on('request', (r) => hreq.push(r.url()));
      await hp.goto(pathToFileURL(file).href);
      await hp.waitForSelector('body[data-ready=true]', { state: 'attached', timeout: 30_000 });
    });
    afterAll(async () => {
      await hb?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('has the data it needs: groups of several communities and unassigned channels', () => {
      expect(model.flat).toBe(false);
      expect(inBig.length).toBeGreaterThanOrEqual(2);
      expect(unassigned).toBeDefined();
    });

    it('groups the legend by group, collapsed, and expands a group to list its communities', async () => {
      expect(await hp.textContent('#legend-title')).toBe('Groups and communities');
      expect(await hp.locator('#legend-items > li.group').count()).toBe(model.groups.length);
      const item = hp.locator(`#legend-items > li[data-group="${big.group}"]`);
      const first = item.locator(`li[data-community="${inBig[0].community}"]`);
      expect(await first.isVisible()).toBe(false);
      await item.locator('.expand').click();
      expect(await first.isVisible()).toBe(true);
      expect(await item.locator('.expand').getAttribute('aria-expanded')).toBe('true');
      expect(await item.locator('ul.members > li').count()).toBe(inBig.length);
      await item.locator('.expand').click();
      expect(await first.isVisible()).toBe(false);
    });

    it('filters by group: its checkbox hides every channel of the group and nothing else', async () => {
      const member = model.channels.find((c) => c.group === big.group)!;
      const box = hp.locator(`#legend-items > li[data-group="${big.group}"] > .row > input`);
      await box.click();
      expect(await visible(member.channel)).toBe(false);
      expect(await visible(other.channel)).toBe(true);
      for (const c of model.channels.filter((c) => c.group === big.group).slice(0, 20))
        expect(await visible(c.channel)).toBe(false);
      await box.click();
      expect(await visible(member.channel)).toBe(true);
    });

    it('filters by community: one community of the group hides, the group shows as partly hidden', async () => {
      const item = hp.locator(`#legend-items > li[data-group="${big.group}"]`);
      await item.locator('.expand').click();
      const a = model.channels.find((c) => c.community === inBig[0].community)!;
      const b = model.channels.find((c) => c.community === inBig[1].community)!;
      await item.locator(`li[data-community="${inBig[0].community}"] input`).click();
      expect(await visible(a.channel)).toBe(false);
      expect(await visible(b.channel)).toBe(true);
      expect(
        await item.locator('> .row > input').evaluate((e) => (e as HTMLInputElement).indeterminate),
      ).toBe(true);
      await item.locator(`li[data-community="${inBig[0].community}"] input`).click();
      expect(await visible(a.channel)).toBe(true);
    });

    it('names both the community and the group in the channel panel', async () => {
      const c = model.channels.find((x) => x.group === big.group && x.community >= 0)!;
      await hp.fill('#search', c.channel);
      await hp.press('#search', 'Enter');
      await hp.waitForSelector('#panel[data-kind=channel]');
      expect(await hp.getAttribute('#panel', 'data-community')).toBe(String(c.community));
      expect(await hp.getAttribute('#panel', 'data-group')).toBe(String(big.group));
      const text = (await hp.textContent('#panel dl')) ?? '';
      expect(text).toContain(`Community${model.communities.find((x) => x.community === c.community)!.label}`);
      expect(text).toContain(`Group${big.label}`);
      // The group link opens the group panel with its communities.
      await hp.locator('#panel .group-link').click();
      await hp.waitForSelector('#panel[data-kind=group]');
      expect(await hp.locator('#panel ol.group-communities li').count()).toBe(inBig.length);
    });

    it('lists unassigned channels apart (not as a community) and can hide them', async () => {
      expect(await hp.locator('#legend-items [data-community="-1"]').count()).toBe(0);
      const entry = hp.locator('#legend-unassigned li[data-unassigned]');
      expect(await entry.textContent()).toContain(String(model.unassigned));
      expect(await visible(unassigned.channel)).toBe(true);
      await entry.locator('input').click();
      expect(await visible(unassigned.channel)).toBe(false);
      await entry.locator('input').click();
      expect(await visible(unassigned.channel)).toBe(true);
      await entry.locator('button').click();
      await hp.waitForSelector('#panel[data-kind=unassigned]');
      expect(await hp.textContent('#panel')).toContain(unassigned.channel);
      // The channel panel of an unassigned channel says so and names no group.
      await hp.fill('#search', unassigned.channel);
      await hp.press('#search', 'Enter');
      await hp.waitForSelector(`#panel[data-channel="${unassigned.channel}"]`);
      expect(await hp.textContent('#panel dl')).toContain('Unassigned');
      expect(await hp.textContent('#panel dl')).not.toContain('Group');
    });

    it('shows group names from the data as text, offline, without errors', async () => {
      const injected = model.groups.find((g) => g.label.includes(INJECTION));
      expect(injected).toBeDefined();
      expect(await hp.textContent('#legend')).toContain(injected!.label);
      expect(await hp.locator('img').count()).toBe(0);
      expect(hreq.filter((u) => !/^(file|data|blob):/.test(u))).toEqual([]);
      expect(pageErrors).toEqual([]);
    });
  },
);
