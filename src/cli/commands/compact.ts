import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerCompact(program: Command): void {
  addCommonOptions(program.command('compact').description('raw JSON Lines → Hive-partitioned Parquet')).action(() => {
    throw new VieweratlasError('compact', 'not implemented yet');
  });
}
