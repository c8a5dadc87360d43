/**
 * Soak: one `vieweratlas collect` process against twitch-sim (its own process) for SOAK_SECONDS
 * (default 600) with faults every few seconds — a dropped connection, RECONNECT, garbage lines —
 * plus one outage (every connection dropped, new ones refused, 30 s) and 20 s of full disk (the
 * collector's storage is a tmpfs filled with a ballast file). Prints the ledger at the end: chat
 * lines the sim sent vs what the collector received and stored, and what it reported as lost
 * under the disk-full policy (docs/collect.md, Durability); then reconnects, and CPU and RSS of
 * the collector over time.
 *
 *   npm run bench -- soak
 *   SOAK_SECONDS=90 SOAK_RATE=300 npm run bench -- soak
 *
 * The full-disk phase needs root (mount); without it the run goes on without that phase.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { queryRows, sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { procStats, type SimUrls, simControl, startSimProcess, waitForJoins } from './collect-helpers.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const control = async <T = unknown>(urls: SimUrls, path: string, body?: unknown): Promise<T> =>
  (await simControl(urls.controlUrl, path, body)) as T;
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const RATE = Number(process.env.SOAK_RATE ?? 300);
const CHANNELS = Number(process.env.SOAK_CHANNELS ?? 200);
const FAULT_EVERY_MS = 4000;
const OUTAGE_S = Math.min(30, Math.max(3, Math.round(SECONDS / 6)));
const DISK_FULL_S = Math.min(20, Math.max(3, Math.round(SECONDS / 8)));
const SAMPLE_MS = 10_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SimStats {
  messagesGenerated: number;
  messagesDelivered: number;
  messagesDropped: number;
  connections: number;
  sessions: { id: number; channels: number }[];
}

/** A tmpfs for the collector's storage, with a ballast file to fill it (root only). */
function mountTmpfs(): { dir: string; fill: () => void; free: () => void; unmount: () => void } | null {
  if (process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), 'va-soak-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', dir]);
  const ballast = join(dir, 'ballast');
  return {
    dir,
    fill() {
      const fd = openSync(ballast, 'a');
      const chunk = Buffer.alloc(1 << 20, 120);
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        try {
          for (;;) writeSync(fd, chunk, 0, 1);
        } catch {
          /* full to the last byte */
        }
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(ballast, { force: true }),
    unmount() {
      try {
        execFileSync('umount', ['-l', dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function walk(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/** Chat messages stored: raw JSON Lines, plus Parquet parts when compaction ran. */
async function storedMessages(data: string): Promise<{ messages: number; badLines: number }> {
  let messages = 0;
  let badLines = 0;
  for (const f of walk(join(data, 'raw', 'presence'))) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const r = decodePresenceLine(line);
      if (typeof r === 'string') badLines++;
      else if (r.kind !== 'membership') messages += r.messages ?? 1;
    }
  }
  const parts = walk(join(data, 'presence')).filter((f) => f.endsWith('.parquet'));
  if (parts.length > 0) {
    const rows = await withDuckDB((c) =>
      queryRows(
        c,
        `SELECT sum(messages)::DOUBLE AS m FROM read_parquet([${parts.map(sqlString).join(',')}]) WHERE kind <> 'membership'`,
      ),
    );
    messages += Number((rows[0] as { m: number | null }).m ?? 0);
  }
  return { messages, badLines };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'va-soak-'));
  const disk = mountTmpfs();
  const data = join(disk?.dir ?? work, 'data');
  mkdirSync(data, { recursive: true });
  const { child: sim, urls } = await startSimProcess({ channels: CHANNELS, viewers: 50_000 });
  let collector: ChildProcess | undefined;
  try {
    const channels = await control<string[]>(urls, 'channels');
    writeFileSync(join(work, 'channels.txt'), `${channels.join('\n')}\n`);
    writeFileSync(
      join(work, 'config.yaml'),
      'collect:\n  join_limit: 2000\n  join_window_seconds: 10\n  channels_per_connection: 50\n  flush_seconds: 2\n  collector_id: soak\n  status_seconds: 10\n  reconnect_min_ms: 200\n  reconnect_max_ms: 5000\nmetrics:\n  emf: false\n',
    );
    collector = spawn(
      process.execPath,
      [
        'bin/vieweratlas.mjs',
        'collect',
        '--config',
        join(work, 'config.yaml'),
        '--channels',
        join(work, 'channels.txt'),
        '--chat-url',
        urls.chatWsUrl,
        '--data',
        data,
      ],
      { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    collector.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((r) => collector?.once('exit', (code) => r(code)));
    const pid = collector.pid as number;
    const _t0 = Date.now();
    if (!(await waitForJoins(urls.controlUrl, CHANNELS, 60_000)))
      throw new Error(`collector did not join ${CHANNELS} channels in 60 s`);
    console.log(
      `soak: ${SECONDS} s, ${fmt(RATE)} chat lines/s over ${CHANNELS} channels, a fault every ${FAULT_EVERY_MS / 1000} s, ` +
        `outage ${OUTAGE_S} s, full disk ${disk ? `${DISK_FULL_S} s` : 'skipped (not root)'}; storage ${data}`,
    );
    await control(urls, 'rate', { rate: RATE });
    const start = Date.now();
    const outageAt = start + SECONDS * 300;
    const diskAt = start + SECONDS * 650;
    let outageDone = false;
    let diskDone = !disk;
    let diskFullUntil = 0;
    const faults = { drop: 0, reconnect: 0, garbage: 0, outage: 0, diskFull: 0 };
    const cycle = ['drop', 'garbage', 'reconnect', 'garbage'] as const;
    let nextFault = start + FAULT_EVERY_MS;
    let nextSample = start + SAMPLE_MS;
    let lastCpu = procStats(pid)?.cpu ?? 0;
    let lastAt = Date.now();
    const rss: number[] = [];
    const cpuPct: number[] = [];
    console.log('   t s   sent lines   cpu %   rss MB   phase');
    let i = 0;
    while (Date.now() - start < SECONDS * 1000) {
      await sleep(250);
      const now = Date.now();
      let phase = 'faults';
      if (!outageDone && now >= outageAt) {
        outageDone = true;
        faults.outage++;
        await control(urls, 'fault', { kind: 'outage', seconds: OUTAGE_S });
        console.log(`   ${((now - start) / 1000).toFixed(0)} s: outage for ${OUTAGE_S} s`);
      }
      if (!diskDone && disk && now >= diskAt) {
        diskDone = true;
        faults.diskFull++;
        disk.fill();
        diskFullUntil = now + DISK_FULL_S * 1000;
        console.log(`   ${((now - start) / 1000).toFixed(0)} s: disk full for ${DISK_FULL_S} s`);
      }
      if (diskFullUntil && now >= diskFullUntil) {
        disk?.free();
        diskFullUntil = 0;
        console.log(`   ${((now - start) / 1000).toFixed(0)} s: disk space back`);
      }
      if (now < outageAt + OUTAGE_S * 1000 && outageDone) phase = 'outage';
      if (diskFullUntil) phase = 'disk full';
      if (now >= nextFault) {
        nextFault += FAULT_EVERY_MS;
        const kind = cycle[i++ % cycle.length] as (typeof cycle)[number];
        const s = await control<SimStats>(urls, 'stats');
        const target = s.sessions[Math.floor(Math.random() * s.sessions.length)];
        if (target) {
          // drop and RECONNECT hit one connection; garbage goes to all.
          await control(urls, 'fault', kind === 'garbage' ? { kind } : { kind, session: target.id });
          faults[kind]++;
        }
      }
      if (now >= nextSample) {
        nextSample += SAMPLE_MS;
        const p = procStats(pid);
        const s = await control<SimStats>(urls, 'stats');
        if (p) {
          const pct = (100 * (p.cpu - lastCpu) * 1000) / Math.max(1, now - lastAt);
          lastCpu = p.cpu;
          lastAt = now;
          rss.push(p.rssMb);
          cpuPct.push(pct);
          if (rss.length % 3 === 0 || phase !== 'faults')
            console.log(
              `${String(Math.round((now - start) / 1000)).padStart(6)}${fmt(s.messagesGenerated).padStart(13)}${pct.toFixed(0).padStart(8)}${p.rssMb.toFixed(0).padStart(9)}   ${phase}`,
            );
        }
      }
    }
    if (diskFullUntil) disk?.free();
    await control(urls, 'rate', { rate: 0 });
    await sleep(3000); // what is in flight arrives and is flushed
    const simStats = await control<SimStats>(urls, 'stats');
    collector.kill('SIGTERM');
    const code = await exited;
    const stopped = stderr
      .split('\n')
      .filter((l) => l.includes('"collector stopped"'))
      .map(
        (l) =>
          JSON.parse(l) as {
            messages: number;
            linesReceived: number;
            reconnects: number;
            flushFailures: number;
            invalidLines: number;
            unwritten: { rows: number; messages: number; metadata: number };
          },
      )[0];
    const stored = await storedMessages(data);
    const lost = stopped?.unwritten.messages ?? 0;
    const sent = simStats.messagesGenerated;
    console.log('');
    console.log(
      `faults: ${faults.drop} drops, ${faults.reconnect} RECONNECTs, ${faults.garbage} garbage bursts, ${faults.outage} outage, ${faults.diskFull} full disk`,
    );
    console.log(
      `sent ${fmt(sent)} chat lines (sim; ${fmt(simStats.messagesDropped)} dropped for back-pressure), ` +
        `received ${fmt(stopped?.messages ?? Number.NaN)}, stored ${fmt(stored.messages)}, reported lost ${fmt(lost)} ` +
        `(${stored.badLines} unreadable stored lines)`,
    );
    const diff = sent - stored.messages - lost;
    console.log(
      diff === 0
        ? 'ledger: sent = stored + reported lost  ✓'
        : `ledger: MISMATCH, sent − stored − reported lost = ${fmt(diff)}`,
    );
    console.log(
      `reconnects ${stopped?.reconnects}, flush failures ${stopped?.flushFailures}, invalid lines ${fmt(stopped?.invalidLines ?? 0)}; collect exit code ${code}`,
    );
    const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    console.log(
      `collector CPU ${avg(cpuPct).toFixed(0)}% of one core on average (max ${Math.max(...cpuPct).toFixed(0)}%), ` +
        `RSS first/max/last ${rss[0]?.toFixed(0)}/${Math.max(...rss).toFixed(0)}/${rss.at(-1)?.toFixed(0)} MB; ` +
        `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on 2 cores`,
    );
    if (diff !== 0) process.exitCode = 1;
  } finally {
    if (collector && collector.exitCode === null) collector.kill('SIGKILL');
    sim.kill('SIGTERM');
    disk?.unmount();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
