import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { runLiveDemo } from '../src/demo/live.js';

const dir = mkdtempSync(join(tmpdir(), 'va-live-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo --live (runLiveDemo)', () => {
  it('collects from twitch-sim, analyses and renders offline, finding the planted communities', async () => {
    const r = await runLiveDemo(
      loadConfig({ overrides: { render: { png_width: 800, png_height: 800 }, layout: { iterations: 100 } } }),
      {
        out: dir,
        seconds: 6,
      },
    );
    expect(r.collect.channelsJoined).toBe(150);
    expect(r.collect.messages).toBeGreaterThan(10_000);
    expect(r.collect.reconnects).toBe(0);
    expect(r.analysis.summary.counts.channels).toBeGreaterThan(140);
    expect(r.analysis.communities.length).toBe(8);
    expect(r.nmi).toBeGreaterThan(0.9);
    // Discovery's game and language reach the labels (the collector's ROOMSTATE metadata must not erase them).
    for (const c of r.analysis.communities) expect(c.label).not.toMatch(/^around /);
    expect(existsSync(r.render.png) && existsSync(r.render.html)).toBe(true);
    expect(readdirSync(join(dir, 'data/raw/presence/source=live')).length).toBeGreaterThan(0);
  });
});
