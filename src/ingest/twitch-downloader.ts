import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { ProgressFn } from '../model/progress.js';
import type { PresenceRecord } from '../model/records.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import { encodePresenceLine } from './raw-jsonl.js';

/**
 * TwitchDownloaderCLI chat JSON (`chatdownload --id ID -o FILE.json`) → bucketed presence.
 *
 * The file is one JSON object: `FileInfo`, `streamer {name, id, login?}`, `video {title, id,
 * created_at, start, end, length, …}`, `comments[]` and `embeddedData` (base64 images, can be
 * huge). Busy VODs reach hundreds of MB, so the file is streamed through a small byte-level
 * scanner: top-level values other than `comments` and `embeddedData` are captured and parsed,
 * each comment object is cut out and parsed alone, `embeddedData` is skipped unparsed. Memory
 * stays at one chunk plus the aggregate (viewer × bucket counts).
 *
 * Presence time = the VOD's start (`video.created_at`) + `content_offset_seconds`; the viewer is
 * `commenter.name` (the login, lower-cased); the channel is `streamer.login`, else
 * `streamer.name` lower-cased when it is a valid login, else the caller's `channel`.
 */

// ---- wire shapes (TwitchDownloaderCore TwitchObjects/ChatRoot.cs), validated at the edge ----

const streamerSchema = z.looseObject({
  name: z.string(),
  id: z.union([z.number(), z.string()]),
  login: z.string().nullable().optional(),
});

const videoSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).nullable().optional(),
  title: z.string().nullable().optional(),
  created_at: z.string().nullable().optional(),
  start: z.number().optional(),
  end: z.number().optional(),
  length: z.number().optional(),
});

const commentSchema = z.looseObject({
  _id: z.string().optional(),
  created_at: z.string().optional(),
  content_id: z.string().optional(),
  content_offset_seconds: z.number().nonnegative(),
  // deleted accounts come through without a commenter
  commenter: z
    .looseObject({ name: z.string().min(1), _id: z.string().optional() })
    .nullable()
    .optional(),
});

export interface TwitchChatReadOptions {
  /** Presence bucket length (minutes); `vod.bucket_minutes`. */
  bucketMinutes?: number;
  /** Channel login to use when the file does not name a valid login (`streamer.login`). */
  channel?: string;
  onProgress?: ProgressFn;
}

export const DEFAULTS = { bucketMinutes: 5 } as const;

/** What one chat file yields. */
export interface TwitchChatFile {
  file: string;
  vodId: string;
  channel: string;
  /** VOD start, epoch ms. */
  startMs: number;
  title?: string;
  /** Comments read (with a commenter). */
  comments: number;
  /** Comments without a commenter (deleted users), skipped. */
  skipped: number;
  bytes: number;
  /** One record per (viewer, bucket), `messages` = comments in it; sorted by ts, then viewer. */
  records: PresenceRecord[];
}

const LOGIN = /^[a-z0-9_]{1,25}$/;

/** True when the first bytes of a file look like a TwitchDownloader chat JSON (for `detectFileKind`). */
export function looksLikeTwitchDownloaderChat(head: string): boolean {
  return (
    /^\s*\{\s*"(FileInfo|streamer|video|comments)"\s*:/.test(head) && /"(streamer|FileInfo)"\s*:/.test(head)
  );
}

/** Reads the first 4 KB of `path` (gunzipping `.gz`) and applies `looksLikeTwitchDownloaderChat`. */
export async function isTwitchDownloaderChatFile(path: string): Promise<boolean> {
  if (path.endsWith('.gz')) {
    const stream = createReadStream(path).pipe(createGunzip());
    let head = '';
    try {
      for await (const chunk of stream) {
        head += (chunk as Buffer).toString('utf8');
        if (head.length >= 4096) break;
      }
    } catch {
      // a truncated gzip still has a readable head
    } finally {
      stream.destroy();
    }
    return looksLikeTwitchDownloaderChat(head);
  }
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return looksLikeTwitchDownloaderChat(buf.toString('utf8', 0, bytesRead));
  } finally {
    await fh.close();
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

type Phase = 'start' | 'key' | 'colon' | 'value' | 'inValue' | 'afterValue' | 'done';

/** `"message":` — the one object-valued key of a comment we never read. */
const MESSAGE_KEY = Buffer.from('"message":');

/**
 * Byte-level scanner for `{ "key": value, …, "comments": [ {…}, {…} ], … }`. Emits each top-level
 * value (except the skipped keys) as raw bytes and each element of `comments` as JSON text.
 * With `dropMessage`, a comment's compact `"message":{…}` (body, fragments, badges: over half
 * its bytes) is replaced by `null` before parsing. Throws a `ScanError` with the byte offset on
 * structural garbage.
 */
export class ChatJsonScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private phase: Phase = 'start';
  private key = '';
  private capture: 'none' | 'key' | 'value' | 'comment' = 'none';
  private scalar = false;
  private skipping = false;
  private parts: Buffer[] = [];
  private start = -1;
  private inComments = false;
  private expectElement = true;
  private base = 0;
  private commentStart = -1;
  private messageStart = -1;
  private messageEnd = -1;

  private readonly skipKeys: ReadonlySet<string>;
  private readonly dropMessage: boolean;

  constructor(
    private readonly onValue: (key: string, raw: Buffer, at: number) => void,
    private readonly onComment: (json: string, at: number) => void,
    opts: { skipKeys?: ReadonlySet<string>; dropMessage?: boolean } = {},
  ) {
    this.skipKeys = opts.skipKeys ?? new Set(['embeddedData']);
    this.dropMessage = opts.dropMessage ?? false;
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.base;
  }

  /** Whether the whole top-level object has been read. */
  get complete(): boolean {
    return this.phase === 'done';
  }

  /** Where the scanner stands, for error messages. */
  describe(): string {
    return this.inComments
      ? 'inside "comments"'
      : this.key
        ? `after key "${this.key}"`
        : 'before the first key';
  }

  push(buf: Buffer): void {
    const n = buf.length;
    // next quote / backslash at or after i, cached per chunk so string bodies are skipped by
    // native indexOf instead of a byte loop (most of a chat file is string content)
    let nextQuote = -1;
    let nextBackslash = -1;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        if (nextQuote < i) {
          nextQuote = buf.indexOf(QUOTE, i);
          if (nextQuote < 0) nextQuote = n;
        }
        if (nextBackslash < i) {
          nextBackslash = buf.indexOf(BACKSLASH, i);
          if (nextBackslash < 0) nextBackslash = n;
        }
        i = Math.min(nextQuote, nextBackslash);
        if (i >= n) break;
        if (i === nextBackslash) this.escaped = true;
        else {
          this.inString = false;
          if (this.depth === 1) {
            if (this.capture === 'key') {
              this.key = JSON.parse(this.finish(buf, i + 1).toString('utf8')) as string;
              this.phase = 'colon';
            } else if (this.phase === 'inValue' && this.scalar) this.endScalar(buf, i + 1);
          }
        }
        continue;
      }
      const c = buf[i]!;
      if (this.phase === 'done') {
        if (!isSpace(c)) this.fail(i, 'data after the end of the top-level object');
        continue;
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1) {
            if (this.phase === 'key') this.begin('key', i);
            else if (this.phase === 'value') this.beginValue(i, true);
            else this.fail(i, 'unexpected string');
          } else if (this.depth === 2 && this.inComments) this.fail(i, 'a comment must be an object');
          break;
        case LBRACE:
        case LBRACKET:
          if (this.depth === 0) {
            if (c !== LBRACE || this.phase !== 'start') this.fail(i, 'expected "{" at the start');
            this.phase = 'key';
          } else if (this.depth === 1) {
            if (this.phase !== 'value') this.fail(i, 'unexpected bracket');
            if (this.key === 'comments' && c === LBRACKET) {
              this.phase = 'inValue';
              this.scalar = false;
              this.inComments = true;
              this.expectElement = true;
            } else this.beginValue(i, false);
          } else if (this.depth === 2 && this.inComments) {
            if (c !== LBRACE || !this.expectElement) this.fail(i, 'a comment must be an object');
            this.begin('comment', i);
            this.expectElement = false;
            this.commentStart = this.base + i;
            this.messageStart = -1;
            this.messageEnd = -1;
          } else if (
            this.depth === 3 &&
            this.dropMessage &&
            c === LBRACE &&
            this.capture === 'comment' &&
            i >= MESSAGE_KEY.length &&
            buf.compare(MESSAGE_KEY, 0, MESSAGE_KEY.length, i - MESSAGE_KEY.length, i) === 0
          ) {
            this.messageStart = this.base + i;
          }
          this.depth++;
          break;
        case RBRACE:
        case RBRACKET:
          this.depth--;
          if (this.depth < 0) this.fail(i, 'unbalanced closing bracket');
          if (this.depth === 0) {
            if (c !== RBRACE) this.fail(i, 'unbalanced closing bracket');
            if (this.phase === 'inValue' && this.scalar) this.endScalar(buf, i);
            else if (this.phase !== 'afterValue' && this.phase !== 'key')
              this.fail(i, 'object ends after a key');
            this.phase = 'done';
          } else if (this.depth === 1) {
            if (this.inComments) {
              if (c !== RBRACKET) this.fail(i, 'unbalanced closing bracket in "comments"');
              this.inComments = false;
            } else if (this.capture === 'value')
              this.onValue(this.key, this.finish(buf, i + 1), this.base + i);
            this.phase = 'afterValue';
            this.skipping = false;
          } else if (this.depth === 2 && this.capture === 'comment') {
            const raw = this.finish(buf, i + 1);
            if (this.messageEnd > 0) {
              const a = this.messageStart - this.commentStart;
              const b = this.messageEnd - this.commentStart;
              this.onComment(`${raw.toString('utf8', 0, a)}null${raw.toString('utf8', b)}`, this.base + i);
            } else this.onComment(raw.toString('utf8'), this.base + i);
          } else if (this.depth === 3 && this.messageStart >= 0 && this.messageEnd < 0) {
            this.messageEnd = this.base + i + 1;
          }
          break;
        case COLON:
          if (this.depth === 1) {
            if (this.phase !== 'colon') this.fail(i, 'unexpected ":"');
            this.phase = 'value';
          }
          break;
        case COMMA:
          if (this.depth === 1) {
            if (this.phase === 'inValue' && this.scalar) this.endScalar(buf, i);
            else if (this.phase !== 'afterValue') this.fail(i, 'unexpected ","');
            this.phase = 'key';
          } else if (this.depth === 2 && this.inComments) {
            if (this.expectElement) this.fail(i, 'unexpected "," in "comments"');
            this.expectElement = true;
          }
          break;
        default:
          if (isSpace(c)) break;
          if (this.depth === 1) {
            if (this.phase === 'value')
              this.beginValue(i, true); // number, true, false, null
            else if (!(this.phase === 'inValue' && this.scalar))
              this.fail(i, `unexpected "${String.fromCharCode(c)}"`);
          } else if (this.depth === 2 && this.inComments)
            this.fail(i, `unexpected "${String.fromCharCode(c)}" in "comments"`);
          else if (this.depth === 0) this.fail(i, 'expected "{" at the start');
      }
    }
    if (this.capture !== 'none') {
      this.parts.push(this.start === 0 ? buf : buf.subarray(this.start));
      this.start = 0;
    }
    this.base += n;
  }

  private beginValue(i: number, scalar: boolean): void {
    this.phase = 'inValue';
    this.scalar = scalar;
    this.skipping = this.skipKeys.has(this.key);
    if (!this.skipping) this.begin('value', i);
  }

  private endScalar(buf: Buffer, end: number): void {
    if (this.capture === 'value') this.onValue(this.key, this.finish(buf, end), this.base + end);
    this.phase = 'afterValue';
    this.skipping = false;
  }

  private begin(kind: 'key' | 'value' | 'comment', i: number): void {
    this.capture = kind;
    this.start = i;
    this.parts.length = 0;
  }

  private finish(buf: Buffer, end: number): Buffer {
    const tail = buf.subarray(this.start, end);
    const out = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
    this.parts.length = 0;
    this.capture = 'none';
    this.start = -1;
    return out;
  }

  private fail(i: number, why: string): never {
    throw new ScanError(this.base + i, why);
  }
}

export class ScanError extends Error {
  constructor(
    readonly at: number,
    why: string,
  ) {
    super(`${why} at byte ${at}`);
  }
}

/**
 * Streams one TwitchDownloaderCLI chat JSON (optionally `.gz`) into bucketed presence. A truncated
 * or corrupt file throws an InputError naming the file and the byte where it broke.
 */
export async function readTwitchDownloaderChat(
  path: string,
  options: TwitchChatReadOptions = {},
): Promise<TwitchChatFile> {
  const bucketMs = (options.bucketMinutes ?? DEFAULTS.bucketMinutes) * 60_000;
  const name = basename(path);
  const bad = (why: string, cause?: unknown): never => {
    throw new InputError('vod', `${path}: ${why}`, cause ? { cause } : undefined);
  };
  const bytes = (await stat(path).catch((err) => bad(`cannot read: ${(err as Error).message}`, err))).size;

  let streamer: z.infer<typeof streamerSchema> | undefined;
  let video: z.infer<typeof videoSchema> | undefined;
  let startMs: number | undefined;
  // comments seen before `video` (not the order TwitchDownloader writes, but valid JSON)
  const early: { login: string; offset: number; createdAt: number }[] = [];
  const counts = new Map<string, number>();
  let comments = 0;
  let skipped = 0;
  let firstCommentStart: number | undefined;

  const add = (login: string, offsetSeconds: number) => {
    const ts = startMs! + Math.round(offsetSeconds * 1000);
    const bucket = ts - (((ts % bucketMs) + bucketMs) % bucketMs);
    const key = `${bucket}\n${login}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };

  const scanner = new ChatJsonScanner(
    (key, raw, at) => {
      if (key !== 'streamer' && key !== 'video') return;
      let value: unknown;
      try {
        value = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        bad(`corrupt "${key}" near byte ${at}: ${(err as Error).message}`, err);
      }
      if (key === 'streamer') {
        const r = streamerSchema.safeParse(value);
        if (!r.success)
          bad(`"streamer": ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
        else streamer = r.data;
      } else {
        const r = videoSchema.safeParse(value);
        if (!r.success) bad(`"video": ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
        else {
          video = r.data;
          const t = video.created_at ? Date.parse(video.created_at) : Number.NaN;
          // DateTime.MinValue ("0001-01-01T00:00:00") when TwitchDownloader did not know it
          if (Number.isFinite(t) && t > Date.UTC(2005, 0, 1)) startMs = t;
        }
      }
    },
    (json, at) => {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch (err) {
        bad(`corrupt comment near byte ${at}: ${(err as Error).message}`, err);
      }
      const r = commentSchema.safeParse(value);
      if (!r.success) {
        const issue = r.error.issues[0];
        bad(`comment near byte ${at}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
        return;
      }
      const c = r.data;
      if (!c.commenter) {
        skipped++;
        return;
      }
      comments++;
      const login = c.commenter.name.toLowerCase();
      if (startMs === undefined) {
        const createdAt = c.created_at ? Date.parse(c.created_at) : Number.NaN;
        if (firstCommentStart === undefined && Number.isFinite(createdAt))
          firstCommentStart = createdAt - c.content_offset_seconds * 1000;
        early.push({ login, offset: c.content_offset_seconds, createdAt });
      } else add(login, c.content_offset_seconds);
    },
    { dropMessage: true },
  );

  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = path.endsWith('.gz') ? source.pipe(createGunzip()) : source;
  let read = 0;
  try {
    for await (const chunk of stream) {
      scanner.push(chunk as Buffer);
      read += (chunk as Buffer).length;
      options.onProgress?.(`vod: ${name}`, Math.min(read, bytes), path.endsWith('.gz') ? undefined : bytes);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    if (err instanceof ScanError) bad(`corrupt TwitchDownloader JSON: ${err.message}`, err);
    bad(`cannot read (${(err as Error).message})`, err);
  } finally {
    source.destroy();
  }
  if (!scanner.complete) {
    bad(
      `truncated TwitchDownloader JSON: the file ends ${scanner.describe()} at byte ${scanner.position} (an interrupted download?)`,
    );
  }
  if (!streamer) bad('not a TwitchDownloader chat JSON: no "streamer"');
  if (!video) bad('not a TwitchDownloader chat JSON: no "video"');

  if (startMs === undefined) {
    // no usable video.created_at: derive the start from a comment's own timestamp
    if (firstCommentStart === undefined && early.length > 0)
      bad('no usable video.created_at and no comment created_at to derive the VOD start from');
    startMs = firstCommentStart ?? 0;
  }
  for (const e of early) add(e.login, e.offset);

  const fromFile = (streamer!.login ?? '').toLowerCase() || streamer!.name.toLowerCase();
  const channel = LOGIN.test(fromFile) ? fromFile : options.channel?.toLowerCase();
  if (!channel) {
    bad(
      `cannot tell the channel login: streamer.name "${streamer!.name}" is not a login and the file has no streamer.login`,
    );
  }
  const vodId =
    video!.id !== undefined && video!.id !== null && String(video!.id) !== ''
      ? String(video!.id)
      : name.replace(/\.json(\.gz)?$/, '');

  const records: PresenceRecord[] = [];
  for (const [key, messages] of counts) {
    const nl = key.indexOf('\n');
    records.push({
      channel: channel!,
      viewer: key.slice(nl + 1),
      ts: Number(key.slice(0, nl)),
      source: 'vod',
      messages,
      vod_id: vodId,
    });
  }
  records.sort((a, b) => a.ts - b.ts || (a.viewer < b.viewer ? -1 : a.viewer > b.viewer ? 1 : 0));
  return {
    file: path,
    vodId,
    channel: channel!,
    startMs,
    title: video!.title ?? undefined,
    comments,
    skipped,
    bytes,
    records,
  };
}

/** The marker stored per ingested VOD (`LAYOUT.vodIngested(vod_id)`). */
export interface VodMarker {
  vod_id: string;
  channel: string;
  file: string;
  start: string;
  records: number;
  comments: number;
  ingested_at: string;
}

/**
 * Stores one chat file's records once per VOD id and returns the keys written; null (nothing
 * written) when the marker `LAYOUT.vodIngested(vodId)` exists. Records go to raw JSON Lines, one object per VOD and hour
 * (`LAYOUT.rawPresence('vod', hour, 'vod-ID')`), each written whole with `put` so a re-run after
 * a crash overwrites rather than duplicates; the marker is written last. Viewers pass through
 * `pseudonymize` (src/privacy) before anything is stored.
 */
export async function storeTwitchChat(
  storage: Storage,
  chat: TwitchChatFile,
  pseudonymize: (login: string) => string,
  now: number = Date.now(),
): Promise<string[] | null> {
  if (await storage.exists(LAYOUT.vodIngested(chat.vodId))) return null;
  const keys: string[] = [];
  const byHour = new Map<number, PresenceRecord[]>();
  for (const r of chat.records) {
    const hour = r.ts - (r.ts % 3_600_000);
    let list = byHour.get(hour);
    if (!list) {
      list = [];
      byHour.set(hour, list);
    }
    list.push({ ...r, viewer: pseudonymize(r.viewer) });
  }
  for (const [hour, list] of byHour) {
    const key = LAYOUT.rawPresence('vod', hour, `vod-${chat.vodId}`);
    await storage.put(key, list.map(encodePresenceLine).join(''));
    keys.push(key);
  }
  const marker: VodMarker = {
    vod_id: chat.vodId,
    channel: chat.channel,
    file: chat.file,
    start: new Date(chat.startMs).toISOString(),
    records: chat.records.length,
    comments: chat.comments,
    ingested_at: new Date(now).toISOString(),
  };
  await storage.put(LAYOUT.vodIngested(chat.vodId), `${JSON.stringify(marker)}\n`);
  keys.push(LAYOUT.vodIngested(chat.vodId));
  return keys;
}

/**
 * `import` of a TwitchDownloaderCLI chat JSON (what `detectFileKind` calls 'twitch-chat'): read,
 * then store once per VOD id. Returns the file's summary and the keys written (null: the VOD
 * was already ingested).
 */
export async function importTwitchChatFile(
  storage: Storage,
  path: string,
  opts: TwitchChatReadOptions & { pseudonymize?: (login: string) => string; now?: number } = {},
): Promise<{ chat: TwitchChatFile; stored: string[] | null }> {
  const chat = await readTwitchDownloaderChat(path, opts);
  const stored = await storeTwitchChat(storage, chat, opts.pseudonymize ?? ((l) => l), opts.now);
  return { chat, stored };
}
