import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHelixSim, type HelixSim, type HelixSimOptions } from '../../src/twitch/sim/helix.js';

/** The Helix simulator on its own 127.0.0.1 server (COLLECT's startTwitchSim mounts the same handler). */
export interface HelixServer {
  sim: HelixSim;
  helixUrl: string;
  authUrl: string;
  close(): Promise<void>;
}

export async function startHelixServer(opts: HelixSimOptions): Promise<HelixServer> {
  const sim = createHelixSim(opts);
  const server: Server = createServer((req, res) => {
    sim.handle(req, res).then(
      (handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      },
      (err) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    sim,
    helixUrl: `http://127.0.0.1:${port}/helix`,
    authUrl: `http://127.0.0.1:${port}/oauth2`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
