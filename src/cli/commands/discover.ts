import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerDiscover(program: Command): void {
  addCommonOptions(program.command('discover').description('Helix top streams → channels.txt + channel metadata')).action(() => {
    throw new VieweratlasError('discover', 'not implemented yet');
  });
}
