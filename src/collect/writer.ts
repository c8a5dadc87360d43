/**
 * Writes drained presence and channel metadata as raw JSON Lines through `storage.append`
 * (append + fsync): `LAYOUT.rawPresence('live', bucket, collector)`, one file per collector per
 * hour. Before the first append to a file this process has not written yet, a file left by a
 * crash without its final newline gets one, so the torn line stays a lone bad line and the new
 * lines read whole.
 */
import { open } from 'node:fs/promises';
import { encodeMetadataLine, encodePresenceLine } from '../ingest/raw-jsonl.js';
import type { ChannelMetadata, PresenceRecord, SharedChatRecord } from '../model/records.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import { encodeSharedChatLine } from './shared-chat.js';

/** Channel metadata as the collector sees it (ROOMSTATE: the channel and its `channel_id`). */
export type CollectedMetadata = ChannelMetadata;

export class RawWriter {
  private readonly touched = new Set<string>();
  constructor(
    private readonly storage: Storage,
    readonly collectorId: string,
  ) {}

  private async needsNewline(key: string): Promise<boolean> {
    if (this.touched.has(key)) return false;
    this.touched.add(key);
    const local = this.storage.localPath(key);
    if (local) {
      // Only the last byte matters: read it, not the whole hour file.
      const fh = await open(local, 'r').catch(() => null);
      if (!fh) return false;
      try {
        const { size } = await fh.stat();
        if (size === 0) return false;
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, size - 1);
        return b[0] !== 10;
      } finally {
        await fh.close();
      }
    }
    const bytes = await this.storage.get(key);
    return bytes !== null && bytes.length > 0 && bytes[bytes.length - 1] !== 10;
  }

  private async appendOne(key: string, lines: string[]): Promise<void> {
    const prefix = (await this.needsNewline(key)) ? '\n' : '';
    await this.storage.append(key, prefix + lines.join(''));
  }

  /**
   * Appends presence rows grouped by hour file. Files are independent: when one append fails,
   * its rows come back in `failed` (to retry next flush) and the others stay written.
   */
  async writePresence(
    rows: PresenceRecord[],
  ): Promise<{ written: number; failed: PresenceRecord[]; error?: unknown }> {
    const groups = new Map<string, PresenceRecord[]>();
    for (const r of rows) {
      const key = LAYOUT.rawPresence('live', r.ts, this.collectorId);
      let g = groups.get(key);
      if (!g) {
        g = [];
        groups.set(key, g);
      }
      g.push(r);
    }
    let written = 0;
    const failed: PresenceRecord[] = [];
    let error: unknown;
    for (const [key, group] of groups) {
      try {
        await this.appendOne(key, group.map(encodePresenceLine));
        written += group.length;
      } catch (err) {
        this.touched.delete(key);
        error = err;
        for (const r of group) failed.push(r);
      }
    }
    return { written, failed, error };
  }

  /** Appends metadata lines grouped by hour file; like `writePresence`, failed files come back. */
  async writeMetadata(
    rows: CollectedMetadata[],
  ): Promise<{ written: number; failed: CollectedMetadata[]; error?: unknown }> {
    const groups = new Map<string, CollectedMetadata[]>();
    for (const m of rows) {
      const key = LAYOUT.rawMetadata(m.observed_at, this.collectorId);
      let g = groups.get(key);
      if (!g) {
        g = [];
        groups.set(key, g);
      }
      g.push(m);
    }
    let written = 0;
    const failed: CollectedMetadata[] = [];
    let error: unknown;
    for (const [key, group] of groups) {
      const lines = group.map(encodeMetadataLine);
      try {
        await this.appendOne(key, lines);
        written += group.length;
      } catch (err) {
        this.touched.delete(key);
        error = err;
        for (const m of group) failed.push(m);
      }
    }
    return { written, failed, error };
  }

  /** Appends shared-chat observations (`LAYOUT.rawSharedChat`), grouped by the hour of `first_seen`. */
  async writeSharedChat(rows: SharedChatRecord[]): Promise<number> {
    if (rows.length === 0) return 0;
    const groups = new Map<string, string[]>();
    for (const r of rows) {
      const key = LAYOUT.rawSharedChat(r.first_seen, this.collectorId);
      let g = groups.get(key);
      if (!g) {
        g = [];
        groups.set(key, g);
      }
      g.push(encodeSharedChatLine(r));
    }
    for (const [key, lines] of groups) await this.appendOne(key, lines);
    return rows.length;
  }
}

/** Defaults of `HeldWriter`. */
export const HOLD_DEFAULTS = {
  /**
   * Rows kept in memory while storage refuses them (a full disk): about 150 bytes each, so the
   * default bounds the hold near 150 MB. Beyond it the oldest held rows are dropped and counted.
   */
  maxHeldRows: 1_000_000,
  /** Metadata lines kept the same way. */
  maxHeldMetadata: 100_000,
} as const;

export interface HoldOptions {
  maxHeldRows?: number;
  maxHeldMetadata?: number;
  log?: Logger;
}

/** What a `HeldWriter.write` did. */
export interface HeldWriteResult {
  /** Presence rows whole on disk now (held ones included). */
  written: number;
  metadataWritten: number;
  /** True when some append failed (its rows are held). */
  failed: boolean;
}

/** Rows that could not be written: still held, or dropped over the bound. */
export interface Unwritten {
  rows: number;
  /** Chat messages those rows count (membership rows count none). */
  messages: number;
  metadata: number;
}

const sumMessages = (rows: PresenceRecord[]) => rows.reduce((n, r) => n + (r.messages ?? 0), 0);

/**
 * The collector's disk-full policy. Rows whose append fails (ENOSPC, EIO …) are held in memory
 * and written first at the next flush; nothing counts as written until its append returned. The
 * hold is bounded (`maxHeldRows`): beyond it the oldest held rows are dropped, logged and counted
 * as lost. `unwritten()` is what the caller must report at exit.
 */
export class HeldWriter {
  private heldRows: PresenceRecord[] = [];
  private heldMeta: CollectedMetadata[] = [];
  private readonly maxRows: number;
  private readonly maxMeta: number;
  private readonly log: Logger;
  /** Dropped over the bound (never written). */
  readonly lost: Unwritten = { rows: 0, messages: 0, metadata: 0 };
  /** The last append error, for the exit report. */
  lastError: unknown;
  private lastWarnAt = 0;

  constructor(
    private readonly writer: RawWriter,
    opts: HoldOptions = {},
  ) {
    this.maxRows = opts.maxHeldRows ?? HOLD_DEFAULTS.maxHeldRows;
    this.maxMeta = opts.maxHeldMetadata ?? HOLD_DEFAULTS.maxHeldMetadata;
    this.log = opts.log ?? silentLogger;
  }

  /** Presence rows held now. */
  get heldRowCount(): number {
    return this.heldRows.length;
  }

  get heldCount(): number {
    return this.heldRows.length + this.heldMeta.length;
  }

  /** Writes held rows first, then `rows`; what fails is held for the next call. */
  async write(rows: PresenceRecord[], meta: CollectedMetadata[]): Promise<HeldWriteResult> {
    const wasHolding = this.heldCount > 0;
    const p = await this.writer.writePresence(this.heldRows.length ? this.heldRows.concat(rows) : rows);
    this.heldRows = p.failed;
    const m =
      meta.length || this.heldMeta.length
        ? await this.writer.writeMetadata(this.heldMeta.length ? this.heldMeta.concat(meta) : meta)
        : { written: 0, failed: [], error: undefined };
    this.heldMeta = m.failed;
    const failed = p.failed.length > 0 || m.failed.length > 0;
    if (failed) {
      this.lastError = p.error ?? m.error;
      this.trim();
      // Once when holding starts, then at most every 30 s (a full disk fails every flush).
      const now = Date.now();
      if (!wasHolding || now - this.lastWarnAt >= 30_000) {
        this.lastWarnAt = now;
        this.log.warn('storage write failed; rows held in memory and retried at the next flush', {
          heldRows: this.heldRows.length,
          heldMetadata: this.heldMeta.length,
          limit: this.maxRows,
          error: String(this.lastError),
        });
      }
    } else if (wasHolding) {
      this.log.info('storage writable again; held rows written', { rows: p.written });
    }
    return { written: p.written, metadataWritten: m.written, failed };
  }

  private trim(): void {
    const over = this.heldRows.length - this.maxRows;
    if (over > 0) {
      const dropped = this.heldRows.splice(0, over);
      this.lost.rows += dropped.length;
      this.lost.messages += sumMessages(dropped);
      this.log.error('held rows over the limit; the oldest are dropped and lost', {
        dropped: dropped.length,
        limit: this.maxRows,
      });
    }
    const overMeta = this.heldMeta.length - this.maxMeta;
    if (overMeta > 0) {
      this.heldMeta.splice(0, overMeta);
      this.lost.metadata += overMeta;
    }
  }

  /** Everything never written: held now plus dropped earlier. */
  unwritten(): Unwritten {
    return {
      rows: this.lost.rows + this.heldRows.length,
      messages: this.lost.messages + sumMessages(this.heldRows),
      metadata: this.lost.metadata + this.heldMeta.length,
    };
  }
}
