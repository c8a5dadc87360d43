import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerSimulate(program: Command): void {
  addCommonOptions(program.command('simulate').description('synthetic data set with planted communities')).action(() => {
    throw new VieweratlasError('simulate', 'not implemented yet');
  });
}
