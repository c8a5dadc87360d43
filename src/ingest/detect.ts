/** Tells what an input file holds from its name and its header (or first JSON line / Parquet schema). */
import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { queryRows, sqlString, withDuckDB } from '../storage/duckdb.js';
import { isEdgeHeader, isNodeHeader } from './edges.js';
import { assertNonEmpty, isMetadataHeader } from './metadata.js';
import { mapPresenceHeader } from './presence.js';
import { isTwitchDownloaderChatFile } from './twitch-downloader.js';

export type FileKind = 'presence' | 'metadata' | 'edges' | 'nodes' | 'twitch-chat';

/** First `bytes` of a file as text. */
async function head(path: string, bytes = 64 * 1024): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } finally {
    await fh.close();
  }
}

/** Kind from column names (any case). */
export function kindFromColumns(columns: string[]): FileKind | undefined {
  const names = columns.map((c) => c.trim().toLowerCase());
  const p = mapPresenceHeader(names);
  if (p.channel >= 0 && p.viewer >= 0 && p.ts >= 0) return 'presence';
  if (isEdgeHeader(names)) return 'edges';
  if (isMetadataHeader(names)) return 'metadata';
  if (isNodeHeader(names)) return 'nodes';
  return undefined;
}

/** Splits a CSV header line (quotes allowed). */
function headerFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * What `path` holds: presence, channel metadata, an edge list, a node file, or a
 * TwitchDownloaderCLI chat JSON. InputError when it is empty or none of them.
 */
export async function detectFileKind(path: string): Promise<FileKind> {
  await assertNonEmpty(path);
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet')) {
    let cols: string[];
    try {
      cols = await withDuckDB(async (c) =>
        (await queryRows(c, `DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`)).map((r) =>
          String(r.column_name),
        ),
      );
    } catch (err) {
      throw new InputError(
        'import',
        `${path}: not a readable Parquet file (${(err as Error).message.split('\n')[0]})`,
      );
    }
    const k = kindFromColumns(cols);
    if (!k)
      throw new InputError(
        'import',
        `${path}: unknown Parquet columns ${cols.join(',').slice(0, 120)} (need channel,viewer,ts or channel,language,game or source,target,weight)`,
      );
    return k;
  }
  // TwitchDownloaderCLI chat files, also gzipped (the reader lives with the VOD code).
  if ((lower.endsWith('.json') || lower.endsWith('.gz')) && (await isTwitchDownloaderChatFile(path)))
    return 'twitch-chat';
  const text = await head(path);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    // TwitchDownloaderCLI chat files are one JSON document with a `comments` array.
    if (
      /"comments"\s*:/.test(text) &&
      (/"video"\s*:/.test(text) || /"streamer"\s*:/.test(text) || /"content_offset_seconds"/.test(text))
    )
      return 'twitch-chat';
    const firstLine = trimmed.split('\n', 1)[0] ?? '';
    try {
      const o = JSON.parse(firstLine) as Record<string, unknown>;
      const k = kindFromColumns(Object.keys(o));
      if (k === 'presence' || k === 'metadata') return k;
    } catch {
      /* fall through to the error */
    }
    throw new InputError(
      'import',
      `${path}:1: JSON that is neither presence/metadata JSON Lines nor a TwitchDownloader chat file`,
    );
  }
  // Control characters from binary garbage would mangle the one-line message.
  const firstLine = (text.split('\n', 1)[0] ?? '').replace(/\r$/, '').replace(/\p{Cc}/gu, '?');
  const k = kindFromColumns(headerFields(firstLine));
  if (!k) {
    throw new InputError(
      'import',
      `${path}:1: unknown header "${firstLine.slice(0, 100)}" (presence: channel,viewer,ts[,source,messages]; metadata: channel,language,game[,viewer_count]; edges: source,target,weight; nodes: id,label,count)`,
    );
  }
  return k;
}
