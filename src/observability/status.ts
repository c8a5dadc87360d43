/**
 * The collector's live status: a single redrawn line on a TTY (channels joined, messages/s,
 * records written, reconnects); elsewhere a JSON log line now and then, so container logs stay
 * readable and greppable.
 */
import type { Logger } from './logger.js';

/** What the collector reports each status interval. */
export interface CollectStatus {
  channelsWanted: number;
  channelsJoined: number;
  connections: number;
  /** Chat lines received per second over the last interval. */
  messagesPerSecond: number;
  linesReceived: number;
  /** Presence and metadata lines written to storage so far. */
  recordsWritten: number;
  reconnects: number;
  flushFailures: number;
  /** Lines that failed validation (garbage, unknown shapes). */
  invalidLines: number;
  /** Channels Twitch refused for good (suspended, banned); retried when the list is reloaded. */
  unjoinable: number;
}

export function formatStatus(s: CollectStatus): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return (
    `collect · channels ${n(s.channelsJoined)}/${n(s.channelsWanted)} on ${s.connections} conn · ` +
    `${n(s.messagesPerSecond)} msg/s · ${n(s.recordsWritten)} records · ${n(s.reconnects)} reconnects` +
    (s.flushFailures > 0 ? ` · ${n(s.flushFailures)} flush failures` : '') +
    (s.unjoinable > 0 ? ` · ${n(s.unjoinable)} unjoinable` : '')
  );
}

export interface StatusSink {
  update(s: CollectStatus): void;
  done(): void;
}

/** TTY: redraw one line on `stream`; otherwise: log at most every `logEveryMs`. */
export function createStatusSink(
  log: Logger,
  stream: NodeJS.WriteStream = process.stderr,
  logEveryMs = 10_000,
): StatusSink {
  const tty = Boolean(stream.isTTY);
  let lastLog = 0;
  let shown = false;
  return {
    update(s) {
      if (tty) {
        stream.write(`\r\x1b[2K${formatStatus(s)}`);
        shown = true;
        return;
      }
      const now = Date.now();
      if (now - lastLog >= logEveryMs) {
        lastLog = now;
        const m = process.memoryUsage();
        const mb = (x: number) => Math.round(x / 2 ** 20);
        log.info('status', {
          ...s,
          rssMb: mb(m.rss),
          heapMb: mb(m.heapUsed),
          externalMb: mb(m.external + m.arrayBuffers),
        });
      }
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
