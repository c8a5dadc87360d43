/**
 * Progress for long work. Library stages take an `onProgress` callback (see `ProgressFn`); the
 * CLI turns it into a status line on a TTY and stays silent otherwise (logs and pipes stay clean).
 */
import type { ProgressFn } from '../model/progress.js';
import { thousands } from './common.js';

export type { ProgressFn };

export interface Progress {
  update: ProgressFn;
  /** Prints a permanent line (clears the status line first on a TTY). */
  log(line: string): void;
  /** Clears the status line. */
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  let shown = false;
  const clear = () => {
    if (tty && shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  return {
    update(stage, done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const count =
        done === undefined
          ? ''
          : total
            ? ` ${Math.round((100 * done) / total)}% (${thousands(done)}/${thousands(total)})`
            : ` ${thousands(done)}`;
      stream.write(`\r\x1b[2K${stage}${count}`);
      shown = true;
    },
    log(line) {
      clear();
      stream.write(`${line}\n`);
    },
    done: clear,
  };
}
