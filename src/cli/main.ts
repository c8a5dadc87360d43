import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { VieweratlasError } from '../errors.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerCollect } from './commands/collect.js';
import { registerCompact } from './commands/compact.js';
import { registerDemo } from './commands/demo.js';
import { registerDiscover } from './commands/discover.js';
import { registerImport } from './commands/import.js';
import { registerRender } from './commands/render.js';
import { registerRun } from './commands/run.js';
import { registerSimulate } from './commands/simulate.js';
import { registerChannel, registerTimeline } from './commands/timeline.js';
import { registerTwitchSim } from './commands/twitch-sim.js';
import { registerVod } from './commands/vod.js';
import { FlagError, loadConfigCode } from './common.js';

/** The package version, read once from package.json. */
const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

export function buildProgram(): Command {
  const program = new Command('vieweratlas')
    .description('Maps the communities of live streaming from who chats where.')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride();
  for (const register of [
    registerDemo,
    registerDiscover,
    registerCollect,
    registerVod,
    registerImport,
    registerCompact,
    registerAnalyze,
    registerRender,
    registerSimulate,
    registerTwitchSim,
    registerTimeline,
    registerChannel,
    registerRun,
  ]) {
    register(program);
  }
  for (const cmd of program.commands) cmd.exitOverride();
  // the config code loads only when a command runs (not for --help): resolveConfig needs it
  program.hook('preAction', loadConfigCode);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 success, 1 bad input or configuration (one line
 * naming the file, line or key), 2 internal error. The only place errors become exit codes.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // A bad flag value found inside an action (commander has not printed it).
    if (err instanceof FlagError) {
      process.stderr.write(`vieweratlas: ${err.message}\n`);
      return 1;
    }
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; usage mistakes are bad input
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return err.exitCode === 0 ? 0 : 1;
    }
    if (err instanceof VieweratlasError) {
      process.stderr.write(`vieweratlas: ${err.message}\n`);
      if (process.env.VIEWERATLAS_DEBUG && err.exitCode === 2) process.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    process.stderr.write(`vieweratlas: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.VIEWERATLAS_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return 2;
  }
}
