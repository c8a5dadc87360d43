import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerDemo(program: Command): void {
  addCommonOptions(program.command('demo').description('the whole atlas from built-in data, offline')).action(() => {
    throw new VieweratlasError('demo', 'not implemented yet');
  });
}
