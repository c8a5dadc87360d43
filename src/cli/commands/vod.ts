import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerVod(program: Command): void {
  addCommonOptions(program.command('vod').description('VOD chat replays → presence records')).action(() => {
    throw new VieweratlasError('vod', 'not implemented yet');
  });
}
