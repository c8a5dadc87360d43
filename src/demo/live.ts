/**
 * `demo --live`: the whole pipeline offline against a local Twitch. Starts twitch-sim (a
 * seeded population with planted communities chatting at a steady rate), collects from it
 * over WebSocket for `seconds`, then analyses what was stored and renders the atlas.
 *
 * Two real-Twitch situations are part of every run: a shared-chat session between two channels
 * of different communities (each receives copies of the other's lines, with Twitch's
 * `source-room-id` tags; the copies must not become an overlap edge) and a viewer who renames
 * half-way (same user id, new login; they must count once).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nmi } from '../analysis/quality.js';
import { type CollectSummary, startCollector } from '../collect/collector.js';
import { readSharedChatSessions, type SharedChatSession } from '../collect/shared-chat.js';
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
  /** The shared-chat session the sim ran, and what the collector recorded of it. */
  sharedChat: {
    channels: [string, string];
    /** Viewers the two channels' audiences really share (the session must not add any). */
    trueSharedViewers: number;
    recorded: SharedChatSession[];
  };
  /** The viewer who renamed half-way through collection. */
  renamed: { channel: string; from: string; to: string; viewerId: string };
}

/** Two channels of different planted communities sharing as few viewers as possible (popular ones first). */
function pickSharedPair(
  channels: { login: string; audience: Uint32Array }[],
  communityOf: (i: number) => number,
): { pair: [string, string]; shared: number } {
  const a = 0; // channels come most popular first
  const aud = new Set(channels[a]?.audience ?? []);
  let best = -1;
  let bestShared = Number.POSITIVE_INFINITY;
  for (let i = 1; i < channels.length; i++) {
    if (communityOf(i) === communityOf(a)) continue;
    let n = 0;
    for (const v of channels[i]?.audience ?? []) if (aud.has(v)) n++;
    if (n < bestShared && (channels[i]?.audience.length ?? 0) >= 20) {
      best = i;
      bestShared = n;
      if (n === 0) break;
    }
  }
  if (best < 0) throw new Error('demo --live: no channel pair for the shared-chat session');
  return { pair: [channels[a]?.login as string, channels[best]?.login as string], shared: bestShared };
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
    // A shared chat between the most popular channel and one of another community.
    const t = sim.chat.traffic;
    const byPopularity = t.channels
      .map((c, i) => ({ ...c, i, p: t.population.channels[i]?.popularity ?? 0 }))
      .sort((x, y) => y.p - x.p);
    const shared = pickSharedPair(
      byPopularity,
      (k) => t.population.channels[byPopularity[k]?.i ?? 0]?.community ?? -1,
    );
    sim.chat.startSharedChat(shared.pair);
    // The renaming viewer: a member of the third most popular channel's audience.
    const renameChannel = byPopularity[2] as (typeof byPopularity)[number];
    const renamer = renameChannel.audience[0] as number;
    const renamed = {
      channel: renameChannel.login,
      from: t.login(renamer),
      to: `${t.login(renamer)}_renamed`.slice(0, 25),
      viewerId: t.userId(renamer),
    };
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
    const say = (login: string) =>
      sim.chat.say({ channel: renamed.channel, login, userId: renamed.viewerId, text: 'hi chat' });
    let renameDone = false;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      // Under the old login until half-time, then renamed (same user id) — as on Twitch.
      if (!renameDone && Date.now() > end - (seconds * 1000) / 2) {
        sim.chat.rename(renamed.from, renamed.to);
        renameDone = true;
      }
      if (collector.status().channelsJoined > 0) say(renameDone ? renamed.to : renamed.from);
      const s = collector.status();
      progress(
        `collect: ${s.channelsJoined}/${s.channelsWanted} channels, ${Math.round(s.messagesPerSecond)} msg/s, ${s.recordsWritten} records`,
        Math.min(seconds, Math.round(seconds - (end - Date.now()) / 1000)),
        seconds,
      );
    }
    const collected = await collector.stop();
    const recorded = (await readSharedChatSessions(storage)).filter(
      (s) => s.channels.includes(shared.pair[0]) && s.channels.includes(shared.pair[1]),
    );
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
      sharedChat: { channels: shared.pair, trueSharedViewers: shared.shared, recorded },
      renamed,
    };
  } finally {
    await sim.close();
  }
}
