import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerImport(program: Command): void {
  addCommonOptions(program.command('import').description('presence, channel metadata or edge-list files → storage')).action(() => {
    throw new VieweratlasError('import', 'not implemented yet');
  });
}
