/**
 * The `channel` command's files: `channel.csv` (window × other channel: shared chatters and the
 * shares), `movers.csv` (the neighbours whose share changed most between the first and the last
 * window) and `channel.html`, one small offline page with both as tables (names as text).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelHistory } from '../pipeline/timeline.js';
import { writeTextAtomic } from './atomic.js';
import { csvLine, formatNumber } from './csv.js';

const iso = (ms: number) => new Date(ms).toISOString();
const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

export function writeChannelReport(dir: string, h: ChannelHistory): string[] {
  mkdirSync(dir, { recursive: true });
  const files = {
    csv: join(dir, 'channel.csv'),
    movers: join(dir, 'movers.csv'),
    html: join(dir, 'channel.html'),
  };
  writeTextAtomic(files.csv, (w) => {
    w(
      csvLine([
        'window_start',
        'window_end',
        'channel',
        'viewers',
        'other',
        'shared',
        'share',
        'share_of_other',
        'weight',
      ]),
    );
    h.reports.forEach((r, i) => {
      const win = h.windows[i] as { start: number; end: number };
      for (const o of r?.overlaps ?? [])
        w(
          csvLine([
            iso(win.start),
            iso(win.end),
            h.channel,
            formatNumber(r?.viewers ?? 0),
            o.other,
            formatNumber(o.shared),
            formatNumber(o.share),
            formatNumber(o.shareOfOther),
            formatNumber(o.weight),
          ]),
        );
    });
  });
  writeTextAtomic(files.movers, (w) => {
    w(csvLine(['channel', 'other', 'first_share', 'last_share', 'change']));
    for (const m of h.movers)
      w(csvLine([h.channel, m.other, formatNumber(m.first), formatNumber(m.last), formatNumber(m.change)]));
  });
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows = h.reports
    .map((r, i) => {
      const win = h.windows[i] as { start: number };
      const top = (r?.overlaps ?? [])
        .slice(0, 10)
        .map((o) => `${esc(o.other)} ${pct(o.share)}`)
        .join(', ');
      return `<tr><td>${iso(win.start).slice(0, 10)}</td><td>${r ? formatNumber(r.viewers) : '—'}</td><td>${top || '—'}</td></tr>`;
    })
    .join('\n');
  const movers = h.movers
    .map(
      (m) =>
        `<tr><td>${esc(m.other)}</td><td>${pct(m.first)}</td><td>${pct(m.last)}</td><td>${m.change > 0 ? '+' : ''}${pct(m.change)}</td></tr>`,
    )
    .join('\n');
  writeTextAtomic(files.html, (w) =>
    w(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(h.channel)} · ViewerAtlas</title>
<style>body{font:14px system-ui,sans-serif;margin:16px;background:#101418;color:#e8eaed}table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #2a2f36;text-align:left}</style>
</head><body>
<h1>${esc(h.channel)}: where its chatters also chat</h1>
<p>The share of the channel's chatters also seen in each other channel, per window.</p>
<table><thead><tr><th>window</th><th>chatters</th><th>top overlaps (share of this channel's chatters)</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Biggest movers (first → last window)</h2>
<table><thead><tr><th>channel</th><th>first</th><th>last</th><th>change</th></tr></thead><tbody>
${movers || '<tr><td colspan="4">fewer than two windows with this channel</td></tr>'}
</tbody></table>
</body></html>
`),
  );
  return [files.csv, files.movers, files.html];
}
