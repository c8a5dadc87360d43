/**
 * `demo --live`: the whole pipeline offline against a local Twitch. Starts twitch-sim (a
 * seeded population with planted communities chatting at a steady rate), collects from it
 * over WebSocket for `seconds`, then analyses what was stored and renders the atlas.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nmi } from '../analysis/quality.js';
import { type CollectSummary, startCollector } from '../collect/collector.js';
import type { Config } from '../config/schema.js';
import type { ProgressFn } from '../model/progress.js';
import { createLogger } from '../observability/logger.js';
import { type AnalyzeResult, analyze } from '../pipeline/analyze.js';
import { type RenderAtlasResult, renderAtlas } from '../render/index.js';
import { FsStorage } from '../storage/fs-driver.js';
import { discover } from '../twitch/helix/discover.js';
import { startTwitchSim } from '../twitch/sim/index.js';

/** Options of `runLiveDemo`; every field but `out` optional. */
export interface LiveDemoOptions {
  /** Output folder: `data/` (storage) and the analysis + atlas files go here. */
  out: string;
  /** Seconds of collection (default 30). */
  seconds?: number;
  /** Chat lines per second the sim generates (default 3,000). */
  rate?: number;
  /** Channels and viewers of the simulated population (default 150 and 8,000). */
  channels?: number;
  viewers?: number;
  seed?: number;
  onProgress?: ProgressFn;
}

export interface LiveDemoResult {
  collect: CollectSummary;
  analysis: AnalyzeResult;
  render: RenderAtlasResult;
  /** Planted communities in the simulated population. */
  plantedCommunities: number;
  /** NMI between the planted and the found communities, over the channels in the atlas. */
  nmi: number;
  channelsFile: string;
  timings: Record<string, number>;
}

/** App credentials the demo's twitch-sim accepts (local only). */
const DEMO_CLIENT_ID = 'demo-live-client';
const DEMO_CLIENT_SECRET = 'demo-live-secret';

export async function runLiveDemo(config: Config, opts: LiveDemoOptions): Promise<LiveDemoResult> {
  const out = resolve(opts.out);
  const seconds = opts.seconds ?? 30;
  const progress = opts.onProgress ?? (() => {});
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (k: string) => {
    const now = performance.now();
    timings[k] = Math.round(now - t);
    t = now;
  };
  await mkdir(out, { recursive: true });
  const communities = 8;
  const sim = await startTwitchSim({
    rate: opts.rate ?? 3000,
    channels: opts.channels ?? 150,
    viewers: opts.viewers ?? 8000,
    communities,
    mixing: 0.2,
    seed: opts.seed ?? 42,
    membershipMs: 2000,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
  });
  try {
    const channelsFile = join(out, 'channels.txt');
    await writeFile(channelsFile, '# twitch-sim channels, found by discover (Helix), most popular first\n');
    // A local sim: no need to wait out Twitch's join limit; short buckets so 30 s make presence.
    const live: Config = {
      ...config,
      storage: { ...config.storage, driver: 'fs', root: join(out, 'data') },
      collect: {
        ...config.collect,
        chat_url: sim.chatWsUrl,
        join_limit: 1000,
        join_window_seconds: 1,
        bucket_minutes: 1,
        flush_seconds: 1,
        collector_id: 'demo-live',
      },
      metrics: { ...config.metrics, emf: false },
      discover: { ...config.discover, helix_url: sim.helixUrl, auth_url: sim.authUrl },
    };
    const storage = new FsStorage(live.storage.root);
    // Discover first, as against real Twitch: Helix top streams → channels.txt + channel metadata
    const found = await discover(live, {
      storage,
      channelsFile,
      max: sim.channels.length,
      minViewers: 0,
      languages: [],
      games: [],
      env: { TWITCH_CLIENT_ID: DEMO_CLIENT_ID, TWITCH_CLIENT_SECRET: DEMO_CLIENT_SECRET },
      onProgress: progress,
    });
    lap('discover');
    const collector = startCollector(live, {
      storage,
      channels: found.channels,
      log: createLogger({ level: 'warn', component: 'demo' }),
    });
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      const s = collector.status();
      progress(
        `collect: ${s.channelsJoined}/${s.channelsWanted} channels, ${Math.round(s.messagesPerSecond)} msg/s, ${s.recordsWritten} records`,
        Math.min(seconds, Math.round(seconds - (end - Date.now()) / 1000)),
        seconds,
      );
    }
    const collected = await collector.stop();
    lap('collect');
    const analysis = await analyze(live, { out, storage, onProgress: progress });
    lap('analyze');
    const render = await renderAtlas(live, {
      dir: out,
      onProgress: progress,
      attribution: 'Data: ViewerAtlas twitch-sim (synthetic)',
    });
    lap('render');
    await storage.close();
    const truth = new Map(sim.chat.traffic.population.channels.map((c) => [c.name, c.community]));
    const kept = analysis.channels.filter((c) => truth.has(c.channel));
    const agreement = nmi(
      kept.map((c) => truth.get(c.channel) as number),
      kept.map((c) => c.community),
    );
    return {
      collect: collected,
      analysis,
      render,
      plantedCommunities: communities,
      nmi: agreement,
      channelsFile,
      timings,
    };
  } finally {
    await sim.close();
  }
}
