import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { InputError } from '../../errors.js';

/**
 * Runs TwitchDownloaderCLI (`chatdownload --id ID -o FILE.json`). The file is written under a
 * hidden temporary name and renamed when the CLI exits 0, so an interrupted download never
 * looks like a finished chat file in `vod_raw/`. The CLI picks the output format from the
 * extension, hence `.ID.partial.json` rather than `ID.json.part`.
 */

/** Resolves `vod.downloader` (a path, or a name looked up on PATH) to an executable; null when absent. */
export async function findDownloader(
  command: string,
  env: Record<string, string | undefined> = process.env,
): Promise<string | null> {
  const isExecutable = async (p: string) => {
    try {
      const s = await stat(p);
      if (!s.isFile()) return false;
      await access(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes('/') || command.includes('\\')) return (await isExecutable(command)) ? command : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, command);
    if (await isExecutable(p)) return p;
  }
  return null;
}

export interface ChatDownloadResult {
  file: string;
  ms: number;
}

/** Downloads the chat of one VOD to `outFile`; InputError naming the VOD and the CLI's last output on failure. */
export async function downloadChat(
  executable: string,
  vodId: string,
  outFile: string,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChatDownloadResult> {
  if (!/^\d+$/.test(vodId)) throw new InputError('vod', `not a Twitch video id: "${vodId}"`);
  const dir = outFile.slice(0, Math.max(0, outFile.lastIndexOf('/'))) || '.';
  const partial = join(dir, `.${vodId}.partial.json`);
  await rm(partial, { force: true });
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(executable, ['chatdownload', '--id', vodId, '-o', partial], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const keep = (b: Buffer) => {
      output.push(b.toString('utf8'));
      if (output.length > 50) output.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs) : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (c) => {
      if (timer) clearTimeout(timer);
      resolve(c);
    });
  }).catch((err: Error) => {
    throw new InputError('vod', `cannot run ${executable}: ${err.message}`, { cause: err });
  });
  const ok =
    code === 0 &&
    (await stat(partial)
      .then((s) => s.size > 0)
      .catch(() => false));
  if (!ok) {
    await rm(partial, { force: true });
    const last = output
      .join('')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-3)
      .join(' | ');
    throw new InputError(
      'vod',
      `TwitchDownloaderCLI chatdownload --id ${vodId} failed (exit ${code})${last ? `: ${last}` : ''}`,
    );
  }
  await rename(partial, outFile);
  return { file: outFile, ms: Date.now() - started };
}
