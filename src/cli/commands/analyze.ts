import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerAnalyze(program: Command): void {
  addCommonOptions(program.command('analyze').description('storage or files → communities, labels and exports')).action(() => {
    throw new VieweratlasError('analyze', 'not implemented yet');
  });
}
