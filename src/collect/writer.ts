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

  async writeMetadata(rows: CollectedMetadata[]): Promise<number> {
    if (rows.length === 0) return 0;
    const groups = new Map<string, string[]>();
    for (const m of rows) {
      const key = LAYOUT.rawMetadata(m.observed_at, this.collectorId);
      let g = groups.get(key);
      if (!g) {
        g = [];
        groups.set(key, g);
      }
      g.push(encodeMetadataLine(m));
    }
    for (const [key, lines] of groups) await this.appendOne(key, lines);
    return rows.length;
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
