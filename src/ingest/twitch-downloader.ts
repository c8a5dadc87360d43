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
import { encodePresenceLine, parseTimestamp } from './raw-jsonl.js';

/**
 * TwitchDownloaderCLI chat JSON (`chatdownload --id ID|CLIP -o FILE.json`) → bucketed presence.
 *
 * Every layout TwitchDownloader's own reader (TwitchDownloaderCore/Chat/ChatJson.cs) accepts:
 * today's `FileInfo`, `streamer {name, login, id}`, `clipper`, `video {id, created_at, start,
 * end, length, …}`, `comments[]`, `embeddedData`; files without `FileInfo` or `streamer.login`
 * (before 2023 / Dec 2024); the 2020–2022 layout `streamer, comments, video {start, end}, emotes`
 * (`video` after `comments`, no id or start time); the oldest one with no `streamer` and a Helix
 * `video {id, user_id, user_name, created_at, duration}`. A UTF-8 or UTF-16 byte-order mark and
 * gzip (by its magic bytes, whatever the name) are accepted.
 *
 * The file is streamed through a small byte-level scanner (files reach hundreds of MB): top-level
 * values other than `comments` and the embedded images are captured and parsed, each comment
 * object is cut out and parsed alone, images are skipped unparsed. Per comment only its offset,
 * instant and viewer index are kept (20 bytes), never the comment.
 *
 * The instant of a comment is its own `created_at` when present; otherwise the VOD start +
 * `content_offset_seconds`. The VOD start is `video.created_at`, except for a clip download,
 * whose `video.created_at` is the clip's creation time while offsets stay relative to the VOD:
 * there (and when `video.created_at` is missing) it is derived from the comments' own
 * timestamps (`created_at − offset`, the median), else the caller's `vodStartMs` (Helix).
 *
 * What the file covers, in seconds into the VOD: `[⌊video.start⌋, ⌈video.end⌉ + 1)` as
 * TwitchDownloader filters a trimmed (`-b`/`-e`) or clip download; open-ended for an untrimmed
 * end (`video.end` = `video.length`) or when comments run past it (an untrimmed download runs to
 * the last comment). `storeTwitchChat` keeps the
 * covered ranges per VOD id and stores only the comments outside what was covered before.
 */

// ---- wire shapes (TwitchDownloaderCore TwitchObjects/ChatRoot.cs), validated at the edge ----

/** TwitchDownloader reads numbers from strings too (`JsonNumberHandling.AllowReadingFromString`). */
const num = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number),
]);
const idLike = z.union([z.string(), z.number().transform(String)]);

const streamerSchema = z.looseObject({
  name: z.string().nullable().optional(),
  id: idLike.nullable().optional(),
  login: z.string().nullable().optional(),
});

const videoSchema = z.looseObject({
  id: idLike.nullable().optional(),
  title: z.string().nullable().optional(),
  created_at: z.string().nullable().optional(),
  start: num.nullable().optional(),
  end: num.nullable().optional(),
  length: num.nullable().optional(),
  viewCount: num.nullable().optional(),
  // the oldest layout: a Helix video object
  user_id: idLike.nullable().optional(),
  user_name: z.string().nullable().optional(),
  duration: z.string().nullable().optional(),
});

const commentSchema = z.looseObject({
  created_at: z.string().nullable().optional(),
  channel_id: idLike.nullable().optional(),
  content_id: idLike.nullable().optional(),
  content_offset_seconds: num.pipe(z.number().nonnegative()),
  // deleted accounts come through without a commenter
  commenter: z
    .looseObject({ name: z.string().min(1), _id: idLike.nullable().optional() })
    .nullable()
    .optional(),
  // only read until the streamer is known (the broadcaster badge names it in old files)
  message: z
    .looseObject({
      user_badges: z
        .array(z.looseObject({ _id: z.string().nullable().optional() }))
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

export interface TwitchChatReadOptions {
  /** Presence bucket length (minutes); `vod.bucket_minutes`. */
  bucketMinutes?: number;
  /** Channel login to use when the file does not name one (Helix listed the VOD under it). */
  channel?: string;
  /** VOD start (epoch ms) to use when the file cannot tell it (a clip without comment timestamps). */
  vodStartMs?: number;
  onProgress?: ProgressFn;
}

export const DEFAULTS = { bucketMinutes: 5 } as const;

/** Seconds into the VOD, `[from, to)`; `to` = Infinity when open-ended. */
export interface OffsetRange {
  from: number;
  to: number;
}

/** The layout a file was written in (for messages and the marker). */
export type ChatFileLayout = 'current' | 'no-fileinfo' | 'legacy' | 'helix-video';

/** What one chat file yields. */
export interface TwitchChatFile {
  file: string;
  vodId: string;
  channel: string;
  /** `streamer.id` (or what the old layouts say instead), when known. */
  channelId?: string;
  /** VOD start, epoch ms. */
  startMs: number;
  title?: string;
  /** A clip download (`clipper` present, or `video.end` past the clip's `length`). */
  clip: boolean;
  layout: ChatFileLayout;
  /** `video.viewCount`, when the file has it. */
  viewCount?: number;
  /** The offsets whose comments the file holds completely. */
  range: OffsetRange;
  /** Comments read (with a commenter). */
  comments: number;
  /** Comments without a commenter (deleted users), skipped. */
  skipped: number;
  bytes: number;
  /** One record per (viewer, bucket), `messages` = comments in it; sorted by ts, then viewer. */
  records: PresenceRecord[];
  /** The same for only the comments whose offset lies outside `covered`, and how many those are. */
  presenceOutside(covered: readonly OffsetRange[]): { records: PresenceRecord[]; comments: number };
}

const LOGIN = /^[a-z0-9_]{1,25}$/;
/** Twitch launched in 2011; TwitchDownloader writes DateTime.MinValue (`0001-01-01…`) when unknown. */
const EARLIEST = Date.UTC(2005, 0, 1);

/** An instant from a TwitchDownloader DateTime (zone-less means UTC); NaN when absent or MinValue. */
function instant(s: string | null | undefined): number {
  if (!s) return Number.NaN;
  const t = parseTimestamp(s);
  return t > EARLIEST ? t : Number.NaN;
}

/** `1h2m3s` (the oldest layout's `video.duration`) → seconds; NaN when unreadable. */
function durationSeconds(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s.trim());
  if (!m || !(m[1] || m[2] || m[3])) return Number.NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/**
 * True when the first bytes of a file look like a TwitchDownloader chat JSON (for
 * `detectFileKind`): an object whose first key is one of the chat root's, and that names the
 * streamer or file info, or already shows a comment.
 */
export function looksLikeTwitchDownloaderChat(head: string): boolean {
  const text = head.replace(/^\uFEFF/, '');
  return (
    /^\s*\{\s*"(FileInfo|streamer|clipper|video|comments)"\s*:/.test(text) &&
    /"(streamer|FileInfo|content_offset_seconds)"\s*:/.test(text)
  );
}

/** Reads the first 4 KB of `path` (gunzipped, decoded from UTF-16) and applies `looksLikeTwitchDownloaderChat`. */
export async function isTwitchDownloaderChatFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  let magic: Buffer;
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    magic = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (!(magic[0] === 0x1f && magic[1] === 0x8b)) return looksLikeTwitchDownloaderChat(decodeHead(magic));
  const stream = createReadStream(path).pipe(createGunzip());
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= 4096) break;
    }
  } catch {
    // a truncated gzip still has a readable head
  } finally {
    stream.destroy();
  }
  return looksLikeTwitchDownloaderChat(decodeHead(Buffer.concat(parts)));
}

function decodeHead(b: Buffer): string {
  const enc = textEncodingOf(b);
  return new TextDecoder(enc).decode(b);
}

/** The text encoding a byte-order mark announces (UTF-8 without one, as TwitchDownloader writes). */
function textEncodingOf(b: Buffer): 'utf-8' | 'utf-16le' | 'utf-16be' {
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/**
 * The chunks of a chat file as UTF-8 without a byte-order mark: drops a UTF-8 BOM and
 * re-encodes UTF-16 (TwitchDownloader's reader accepts both); UTF-32 is refused by name.
 */
async function* utf8Chunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | null = Buffer.alloc(0);
  let decoder: TextDecoder | null = null;
  const decide = (b: Buffer): Buffer => {
    if (
      (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) ||
      (b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00)
    )
      throw new Utf32Error();
    const enc = textEncodingOf(b);
    if (enc !== 'utf-8') decoder = new TextDecoder(enc);
    return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
  };
  const out = (b: Buffer): Buffer => (decoder ? Buffer.from(decoder.decode(b, { stream: true }), 'utf8') : b);
  for await (const chunk of chunks) {
    let b = chunk;
    if (head) {
      head = Buffer.concat([head, b]);
      if (head.length < 4) continue;
      b = decide(head);
      head = null;
    }
    yield out(b);
  }
  if (head) yield out(decide(head));
  if (decoder) {
    const rest = (decoder as TextDecoder).decode();
    if (rest) yield Buffer.from(rest, 'utf8');
  }
}

class Utf32Error extends Error {
  constructor() {
    super('UTF-32 text is not supported (re-save the file as UTF-8)');
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
  /** Whether the top-level `comments` array has begun. */
  commentsSeen = false;
  private expectElement = true;
  private base = 0;
  private commentStart = -1;
  private messageStart = -1;
  private messageEnd = -1;

  private readonly skipKeys: ReadonlySet<string>;
  /** May change between comments (the reader keeps `message` until it knows the streamer). */
  dropMessage: boolean;

  constructor(
    private readonly onValue: (key: string, raw: Buffer, at: number) => void,
    private readonly onComment: (json: string, at: number) => void,
    opts: { skipKeys?: ReadonlySet<string>; dropMessage?: boolean } = {},
  ) {
    // `emotes`: the name of `embeddedData` in files from 2020–2022
    this.skipKeys = opts.skipKeys ?? new Set(['embeddedData', 'emotes']);
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
              this.commentsSeen = true;
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

/** Growable per-comment columns: offset (s), own instant (ms, NaN when absent), viewer index. */
class CommentColumns {
  length = 0;
  offset = new Float64Array(4096);
  instant = new Float64Array(4096);
  viewer = new Uint32Array(4096);

  push(offset: number, instant: number, viewer: number): void {
    if (this.length === this.offset.length) {
      const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.offset = grow(this.offset, (n) => new Float64Array(n));
      this.instant = grow(this.instant, (n) => new Float64Array(n));
      this.viewer = grow(this.viewer, (n) => new Uint32Array(n));
    }
    this.offset[this.length] = offset;
    this.instant[this.length] = instant;
    this.viewer[this.length] = viewer;
    this.length++;
  }
}

const inRanges = (ranges: readonly OffsetRange[], o: number) => ranges.some((r) => o >= r.from && o < r.to);

/** Sorted, overlapping and touching ranges merged. */
export function mergeRanges(ranges: readonly OffsetRange[]): OffsetRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: OffsetRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

/**
 * Streams one TwitchDownloaderCLI chat JSON (any layout above, optionally gzipped) into bucketed
 * presence. A truncated or corrupt file throws an InputError naming the file and the byte where
 * it broke.
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

  let fileInfo = false;
  let streamer: z.infer<typeof streamerSchema> | null = null;
  let clipper = false;
  let video: z.infer<typeof videoSchema> | null = null;
  let videoAfterComments = false;
  let broadcaster: { login: string; id?: string } | undefined;
  let firstContentId: string | undefined;
  let firstChannelId: string | undefined;
  const derivedStarts: number[] = []; // created_at − offset of the first comments that have one
  let maxOffset = -1;
  const cols = new CommentColumns();
  const viewerIndex = new Map<string, number>();
  const logins: string[] = [];
  const ids: (string | undefined)[] = [];
  let skipped = 0;

  const parseValue = <S extends z.ZodType>(key: string, raw: Buffer, at: number, schema: S): z.infer<S> => {
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      bad(`corrupt "${key}" near byte ${at}: ${(err as Error).message}`, err);
    }
    const r = schema.safeParse(value);
    if (!r.success) bad(`"${key}": ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
    return r.data as z.infer<S>;
  };

  const scanner: ChatJsonScanner = new ChatJsonScanner(
    (key, raw, at) => {
      if (key === 'FileInfo') fileInfo = true;
      else if (key === 'clipper') clipper = raw.toString('utf8').trim() !== 'null';
      else if (key === 'streamer') {
        streamer = parseValue(key, raw, at, streamerSchema.nullable());
        if (streamer) scanner.dropMessage = true;
      } else if (key === 'video') {
        video = parseValue(key, raw, at, videoSchema.nullable());
        videoAfterComments = cols.length + skipped > 0 || scanner.commentsSeen;
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
      if (firstContentId === undefined && c.content_id) firstContentId = c.content_id;
      if (firstChannelId === undefined && c.channel_id) firstChannelId = c.channel_id;
      if (!c.commenter) {
        skipped++;
        return;
      }
      const login = c.commenter.name.toLowerCase();
      const id = c.commenter._id || undefined;
      if (!broadcaster && !streamer && c.message?.user_badges?.some((b) => b._id === 'broadcaster')) {
        broadcaster = { login, id };
        scanner.dropMessage = true; // found what the message was kept for
      }
      const key = id ?? `\u0000${login}`;
      let v = viewerIndex.get(key);
      if (v === undefined) {
        v = logins.length;
        viewerIndex.set(key, v);
        logins.push(login);
        ids.push(id);
      } else logins[v] = login; // the latest login of an id
      const offset = c.content_offset_seconds;
      const own = instant(c.created_at);
      if (Number.isFinite(own) && derivedStarts.length < 1001) derivedStarts.push(own - offset * 1000);
      if (offset > maxOffset) maxOffset = offset;
      cols.push(offset, own, v);
    },
  );
  scanner.dropMessage = false; // until the streamer is known

  try {
    const fh = await open(path, 'r');
    const magic = Buffer.alloc(2);
    try {
      await fh.read(magic, 0, 2, 0);
    } finally {
      await fh.close();
    }
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    const gz = magic[0] === 0x1f && magic[1] === 0x8b;

    let read = 0;
    file.on('data', (chunk) => {
      read += (chunk as Buffer).length;
      options.onProgress?.(`vod: ${name}`, Math.min(read, bytes), bytes);
    });
    const stream = gz ? file.pipe(createGunzip()) : file;
    try {
      for await (const chunk of utf8Chunks(stream as AsyncIterable<Buffer>)) scanner.push(chunk);
    } finally {
      file.destroy();
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    if (err instanceof ScanError) bad(`corrupt TwitchDownloader JSON: ${err.message}`, err);
    if (err instanceof Utf32Error) bad(err.message, err);
    bad(`cannot read (${(err as Error).message})`, err);
  }
  if (!scanner.complete) {
    bad(
      `truncated TwitchDownloader JSON: the file ends ${scanner.describe()} at byte ${scanner.position} (an interrupted download?)`,
    );
  }
  if (!scanner.commentsSeen) bad('not a TwitchDownloader chat JSON: no "comments"');
  if (!video && !streamer && !fileInfo && cols.length + skipped === 0)
    bad('not a TwitchDownloader chat JSON: no "video", "streamer" or comments');

  const s = streamer as z.infer<typeof streamerSchema> | null;
  const v = video as z.infer<typeof videoSchema> | null;
  const length = v?.length ?? Number.NaN;
  const oldDuration = v?.duration ? durationSeconds(v.duration) : Number.NaN;
  const end = v?.end ?? (Number.isFinite(oldDuration) ? oldDuration : Number.NaN);
  const clip = clipper || (length > 0 && end > length + 1);

  // the VOD start
  const videoCreated = instant(v?.created_at);
  const derived = derivedStarts.length > 0 ? median(derivedStarts) : Number.NaN;
  let startMs = Number.NaN;
  if (!clip && Number.isFinite(videoCreated)) startMs = videoCreated;
  else if (Number.isFinite(derived)) startMs = derived;
  else if (options.vodStartMs !== undefined) startMs = options.vodStartMs;
  else if (cols.length === 0) startMs = clip ? Number.NaN : videoCreated;
  else if (clip)
    bad(
      'a clip download (video.created_at is the clip’s creation, not the VOD’s start) whose comments have no created_at: the VOD start is unknown',
    );
  else bad('no usable video.created_at and no comment created_at to derive the VOD start from');

  // what the file covers, in VOD seconds (TwitchDownloader keeps ⌊start⌋ ≤ offset < ⌈end⌉ + 1)
  const start = v?.start ?? Number.NaN;
  const from = Number.isFinite(start) ? Math.max(0, Math.floor(start)) : 0;
  const limit = Number.isFinite(end) && end > 0 ? Math.ceil(end) + 1 : Number.POSITIVE_INFINITY;
  // open-ended: comments run past the end, or an untrimmed VOD download (end = the VOD's length)
  const untrimmedEnd = !clip && length > 0 && end >= length;
  const range: OffsetRange = {
    from,
    to: maxOffset >= limit || untrimmedEnd ? Number.POSITIVE_INFINITY : limit,
  };

  const loginOf = (x: string | null | undefined) => {
    const l = (x ?? '').toLowerCase();
    return LOGIN.test(l) ? l : undefined;
  };
  const channel =
    loginOf(s?.login) ??
    loginOf(s?.name) ??
    broadcaster?.login ??
    loginOf(v?.user_name) ??
    loginOf(options.channel);
  if (!channel) {
    bad(
      s
        ? `cannot tell the channel login: streamer.name "${s.name}" is not a login and the file has no streamer.login`
        : 'cannot tell the channel login: the file has no "streamer" and no comment with the broadcaster badge',
    );
  }
  const nonZero = (x: string | null | undefined) => (x && x !== '0' ? x : undefined);
  const channelId = nonZero(s?.id) ?? nonZero(v?.user_id) ?? nonZero(firstChannelId) ?? broadcaster?.id;
  const numeric = (x: string | null | undefined) => {
    const m = x ? /^v?(\d+)$/.exec(x) : null;
    return m ? m[1] : undefined;
  };
  const vodId =
    numeric(v?.id) ??
    numeric(firstContentId) ??
    (v?.id || firstContentId || name.replace(/\.json(\.gz)?$/i, ''));

  for (let i = 0; i < cols.length; i++)
    if (Number.isNaN(cols.instant[i]!)) cols.instant[i] = startMs + Math.round(cols.offset[i]! * 1000);

  const presenceOutside = (covered: readonly OffsetRange[]) => {
    const counts = new Map<number, Map<number, number>>(); // bucket → viewer → comments
    let comments = 0;
    for (let i = 0; i < cols.length; i++) {
      if (covered.length > 0 && inRanges(covered, cols.offset[i]!)) continue;
      comments++;
      const ts = cols.instant[i]!;
      const bucket = ts - (((ts % bucketMs) + bucketMs) % bucketMs);
      let m = counts.get(bucket);
      if (!m) {
        m = new Map();
        counts.set(bucket, m);
      }
      const viewer = cols.viewer[i]!;
      m.set(viewer, (m.get(viewer) ?? 0) + 1);
    }
    const records: PresenceRecord[] = [];
    for (const [ts, m] of counts) {
      for (const [viewer, messages] of m) {
        const r: PresenceRecord = {
          channel: channel!,
          viewer: logins[viewer]!,
          ts,
          source: 'vod',
          messages,
          vod_id: vodId,
        };
        if (ids[viewer] !== undefined) r.viewer_id = ids[viewer];
        if (channelId !== undefined) r.channel_id = channelId;
        records.push(r);
      }
    }
    records.sort((a, b) => a.ts - b.ts || (a.viewer < b.viewer ? -1 : a.viewer > b.viewer ? 1 : 0));
    return { records, comments };
  };

  const viewCount = v?.viewCount ?? undefined;
  let all: PresenceRecord[] | undefined;
  return {
    file: path,
    vodId,
    channel: channel!,
    ...(channelId !== undefined ? { channelId } : {}),
    startMs,
    title: v?.title ?? undefined,
    clip,
    layout: fileInfo
      ? 'current'
      : !s && (v?.user_id || v?.user_name || v?.duration)
        ? 'helix-video'
        : videoAfterComments || (v && !v.id && !v.created_at)
          ? 'legacy'
          : 'no-fileinfo',
    ...(viewCount !== undefined ? { viewCount } : {}),
    range,
    comments: cols.length,
    skipped,
    bytes,
    // built on first use: `vod` and `import` only need `presenceOutside(covered)`
    get records() {
      all ??= presenceOutside([]).records;
      return all;
    },
    presenceOutside,
  };
}

/** One ingested piece of a VOD (a clip, a trimmed range, the full download). */
export interface VodMarkerPart {
  file: string;
  clip: boolean;
  /** `[from, to]` seconds into the VOD; `to` null = open-ended. */
  range: [number, number | null];
  records: number;
  comments: number;
  keys: string[];
  ingested_at: string;
}

/** The marker stored per VOD (`LAYOUT.vodIngested(vod_id)`). */
export interface VodMarker {
  vod_id: string;
  channel: string;
  channel_id?: string;
  file: string;
  /** VOD start, ISO; null when no piece could tell it. */
  start: string | null;
  /** Totals over the parts. */
  records: number;
  comments: number;
  ingested_at: string;
  /** Offsets covered so far, merged, `[from, to]`, `to` null = open-ended. Absent in markers before 2026-12: the whole VOD. */
  ranges?: [number, number | null][];
  parts?: VodMarkerPart[];
  /** Keys of a part whose writing did not finish (a crash); deleted before the next part. */
  pending?: string[];
}

const toWire = (r: OffsetRange): [number, number | null] => [r.from, Number.isFinite(r.to) ? r.to : null];
const fromWire = ([from, to]: [number, number | null]): OffsetRange => ({
  from,
  to: to ?? Number.POSITIVE_INFINITY,
});

/** The stored marker of a VOD, or null; an InputError naming the key when it is unreadable. */
export async function readVodMarker(storage: Storage, vodId: string): Promise<VodMarker | null> {
  const key = LAYOUT.vodIngested(vodId);
  const bytes = await storage.get(key);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as VodMarker;
  } catch (err) {
    throw new InputError('vod', `${key}: unreadable VOD marker (${(err as Error).message})`, { cause: err });
  }
}

/** The offsets of a VOD already ingested (a marker without ranges: all of it). */
export function coveredRanges(marker: VodMarker | null): OffsetRange[] {
  if (!marker) return [];
  return marker.ranges ? marker.ranges.map(fromWire) : [{ from: 0, to: Number.POSITIVE_INFINITY }];
}

/** Whether the ranges cover the whole VOD, `[0, ∞)`. */
export function coversWholeVod(ranges: readonly OffsetRange[]): boolean {
  const m = mergeRanges(ranges);
  return m.length === 1 && m[0]!.from === 0 && m[0]!.to === Number.POSITIVE_INFINITY;
}

/**
 * Stores what one chat file adds to its VOD and returns the keys written; null (nothing written)
 * when the VOD's marker already covers the file's range and every comment in it. Idempotent per
 * (VOD id, covered range): only comments whose offset lies outside the ranges covered before are
 * stored, so a full download after a trimmed part or a clip adds exactly what was missing.
 *
 * Records go to raw JSON Lines, one object per VOD, part and hour (`LAYOUT.rawPresence('vod',
 * hour, 'vod-ID')`, later parts `vod-ID-partN`), each written whole with `put`. The marker first
 * lists the keys about to be written (`pending`), then the grown ranges: a crash in between
 * leaves keys that the next run deletes before it writes. Viewers (logins and ids) pass through
 * `pseudonymize` (src/privacy) before anything is stored. A bucket that straddles a range
 * boundary can come in two rows (one per part); aggregation sums their messages.
 */
export async function storeTwitchChat(
  storage: Storage,
  chat: TwitchChatFile,
  pseudonymize: (login: string) => string,
  now: number = Date.now(),
): Promise<string[] | null> {
  const markerKey = LAYOUT.vodIngested(chat.vodId);
  const prev = await readVodMarker(storage, chat.vodId);
  const covered = coveredRanges(prev);
  const { records, comments } = chat.presenceOutside(covered);
  const ranges = mergeRanges([...covered, chat.range]);
  const grows = JSON.stringify(ranges.map(toWire)) !== JSON.stringify(mergeRanges(covered).map(toWire));
  if (records.length === 0 && !grows && !prev?.pending) return null;

  for (const k of prev?.pending ?? []) await storage.delete(k);
  const parts = prev?.parts ?? [];
  // a marker from before parts stood for one whole-VOD part under `vod-ID`
  const n = parts.length + (prev && !prev.parts ? 1 : 0) + 1;
  const collector = n === 1 ? `vod-${chat.vodId}` : `vod-${chat.vodId}-part${n}`;
  const byHour = new Map<number, PresenceRecord[]>();
  for (const r of records) {
    const hour = r.ts - (r.ts % 3_600_000);
    let list = byHour.get(hour);
    if (!list) {
      list = [];
      byHour.set(hour, list);
    }
    const out: PresenceRecord = { ...r, viewer: pseudonymize(r.viewer) };
    if (r.viewer_id !== undefined) out.viewer_id = pseudonymize(r.viewer_id);
    list.push(out);
  }
  const keys = [...byHour.keys()].map((hour) => LAYOUT.rawPresence('vod', hour, collector));
  const startIso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
  const base: VodMarker = {
    vod_id: chat.vodId,
    channel: chat.channel,
    ...(chat.channelId !== undefined ? { channel_id: chat.channelId } : {}),
    file: prev?.file ?? chat.file,
    start: (!chat.clip ? startIso(chat.startMs) : null) ?? prev?.start ?? startIso(chat.startMs),
    records: (prev?.records ?? 0) + records.length,
    comments: (prev?.comments ?? 0) + comments,
    ingested_at: prev?.ingested_at ?? new Date(now).toISOString(),
    ranges: covered.length > 0 ? mergeRanges(covered).map(toWire) : [],
    parts,
  };
  if (keys.length > 0) await storage.put(markerKey, `${JSON.stringify({ ...base, pending: keys })}\n`);
  for (const [hour, list] of byHour) {
    await storage.put(LAYOUT.rawPresence('vod', hour, collector), list.map(encodePresenceLine).join(''));
  }
  const marker: VodMarker = {
    ...base,
    ranges: ranges.map(toWire),
    parts: [
      ...parts,
      {
        file: chat.file,
        clip: chat.clip,
        range: toWire(chat.range),
        records: records.length,
        comments,
        keys,
        ingested_at: new Date(now).toISOString(),
      },
    ],
  };
  await storage.put(markerKey, `${JSON.stringify(marker)}\n`);
  return [...keys, markerKey];
}

/**
 * `import` of a TwitchDownloaderCLI chat JSON (what `detectFileKind` calls 'twitch-chat'): read,
 * then store what it adds to its VOD. Returns the file's summary and the keys written (null:
 * nothing new for the VOD).
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
