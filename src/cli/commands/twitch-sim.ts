import type { Command } from 'commander';
import { VieweratlasError } from '../../errors.js';
import { addCommonOptions } from '../common.js';

// Placeholder until the owning issue lands; replaced by the real command.
export function registerTwitchSim(program: Command): void {
  addCommonOptions(program.command('twitch-sim').description('local Twitch (chat + Helix) on 127.0.0.1')).action(() => {
    throw new VieweratlasError('twitch-sim', 'not implemented yet');
  });
}
