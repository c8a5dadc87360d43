/**
 * `npm run bench -- vod`: streaming read of a large TwitchDownloaderCLI chat JSON.
 * Generates a real-layout file of ~VOD_BENCH_MB (default 200) MB in the temp folder, reads it
 * with `readTwitchDownloaderChat`, prints MB/s, comments/s and the peak RSS growth.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTwitchDownloaderChat } from '../src/ingest/twitch-downloader.js';

const targetMb = Number(process.env.VOD_BENCH_MB ?? 200);
const dir = await mkdtemp(join(tmpdir(), 'va-vodbench-'));
const file = join(dir, '2000000001.json');
const start = Date.parse('2026-11-20T18:00:00Z');

async function generate(): Promise<number> {
  const out = createWriteStream(file);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(
    `{"FileInfo":{"Version":{"Major":1,"Minor":3,"Patch":1},"CreatedAt":"2026-11-21T00:00:00Z","UpdatedAt":"0001-01-01T00:00:00"},` +
      `"streamer":{"name":"BigStreamer","id":1000,"login":"bigstreamer"},` +
      `"video":{"title":"long stream","description":null,"id":"2000000001","created_at":"2026-11-20T18:00:00Z","start":0,"end":43200,"length":43200,"viewCount":1,"game":"Just Chatting","chapters":[]},"comments":[`,
  );
  let bytes = 0;
  let n = 0;
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  while (bytes < targetMb * 1_000_000) {
    const off = (n * 43200) / (targetMb * 1800);
    const v = `viewer_${Math.floor(rand() * 50_000)}`;
    const c = JSON.stringify({
      _id: `c-${n}`,
      created_at: new Date(start + off * 1000).toISOString(),
      channel_id: '1000',
      content_type: 'video',
      content_id: '2000000001',
      content_offset_seconds: Math.round(off * 1000) / 1000,
      commenter: {
        display_name: v,
        _id: String(n % 50_000),
        name: v,
        bio: null,
        created_at: '2020-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z',
        logo: 'https://static-cdn.jtvnw.net/jtv_user_pictures/x-profile_image-300x300.png',
      },
      message: {
        body: `message number ${n} Kappa "quoted" \\o/`,
        bits_spent: 0,
        fragments: [
          { text: `message number ${n} `, emoticon: null },
          { text: 'Kappa', emoticon: { emoticon_id: '25', emoticon_set_id: '' } },
        ],
        user_badges: [{ _id: 'subscriber', version: '12' }],
        user_color: '#1E90FF',
        user_notice_params: { msg_id: null },
        emoticons: [],
      },
    });
    const s = n === 0 ? c : `,${c}`;
    bytes += s.length;
    n++;
    await write(s);
  }
  await write('],"embeddedData":null}');
  await new Promise<void>((r) => out.end(() => r()));
  return n;
}

try {
  const comments = await generate();
  const size = (await stat(file)).size;
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  const r = await readTwitchDownloaderChat(file, { bucketMinutes: 5 });
  const s = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`file: ${(size / 1e6).toFixed(1)} MB, ${comments.toLocaleString('en-US')} comments`);
  console.log(
    `read: ${s.toFixed(2)} s = ${(size / 1e6 / s).toFixed(1)} MB/s, ${Math.round(r.comments / s).toLocaleString('en-US')} comments/s → ${r.records.length.toLocaleString('en-US')} presence records`,
  );
  console.log(`peak RSS growth while reading: ${((peak - rss0) / 1e6).toFixed(0)} MB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
