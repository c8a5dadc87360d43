import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerRender(program: Command): void {
  addCommonOptions(program.command('render').description('analysis folder → atlas.png + atlas.html')).action(() => {
    throw new VieweratlasError('render', 'not implemented yet');
  });
}
