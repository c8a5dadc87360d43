import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { addCommonOptions, type CommonOptions, intFlag, numberFlag } from '../common.js';

interface SimFlags extends CommonOptions {
  port?: number;
  ircPort?: number;
  rate?: number;
  channels?: number;
  viewers?: number;
  seed?: number;
  pingSeconds?: number;
}

export function registerTwitchSim(program: Command): void {
  addCommonOptions(
    program
      .command('twitch-sim')
      .description('local Twitch (chat over WebSocket and IRC, Helix, fault control) on 127.0.0.1')
      .option('--port <n>', 'HTTP + WebSocket chat port (0 = any free)', intFlag('--port'), 0)
      .option('--irc-port <n>', 'plain-TCP IRC port (0 = any free)', intFlag('--irc-port'), 0)
      .option(
        '--rate <msgs>',
        'generated chat lines per second over joined channels',
        numberFlag('--rate', { min: 0 }),
        50,
      )
      .option('--channels <n>', 'channels in the simulated population', intFlag('--channels', 1), 200)
      .option('--viewers <n>', 'viewers in the simulated population', intFlag('--viewers', 1), 20_000)
      .option('--seed <n>', 'seed of the population and the traffic', intFlag('--seed'), 42)
      .option(
        '--ping-seconds <n>',
        'seconds between server PINGs',
        numberFlag('--ping-seconds', { min: 0 }),
        60,
      ),
  ).action(async (flags: SimFlags) => {
    const { startTwitchSim } = await import('../../twitch/sim/index.js');
    const sim = await startTwitchSim({
      port: flags.port,
      ircPort: flags.ircPort,
      rate: flags.rate,
      channels: flags.channels,
      viewers: flags.viewers,
      seed: flags.seed,
      pingSeconds: flags.pingSeconds,
    }).catch((err: NodeJS.ErrnoException & { port?: number; address?: string }) => {
      // A port someone else holds is a usage mistake (exit 1 naming it), not an internal error.
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        const port = err.port ?? flags.port;
        const flag = port === flags.ircPort && flags.ircPort !== 0 ? '--irc-port' : '--port';
        const why = err.code === 'EADDRINUSE' ? 'is already in use' : 'may not be used (EACCES)';
        throw new InputError('twitch-sim', `${flag} ${port}: ${err.address ?? '127.0.0.1'}:${port} ${why}`);
      }
      throw err;
    });
    // One JSON line on stdout with every URL, so scripts and tests can read where it listens.
    process.stdout.write(
      `${JSON.stringify({
        chatWsUrl: sim.chatWsUrl,
        chatIrcUrl: sim.chatIrcUrl,
        helixUrl: sim.helixUrl,
        authUrl: sim.authUrl,
        controlUrl: sim.controlUrl,
        helix: sim.helix,
        channels: sim.channels.length,
      })}\n`,
    );
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once('SIGTERM', done);
      process.once('SIGINT', done);
    });
    await sim.close();
  });
}
