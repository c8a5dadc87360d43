import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerCollect(program: Command): void {
  addCommonOptions(program.command('collect').description('live chat → presence records')).action(() => {
    throw new VieweratlasError('collect', 'not implemented yet');
  });
}
