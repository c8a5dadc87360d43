/**
 * twitch-sim's `outage` fault (used by the soak benchmark): every connection is dropped and new
 * ones are refused for the given seconds, then accepted again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

function connect(url: string): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('error', () => resolve('refused'));
  });
}

describe('twitch-sim outage fault', () => {
  let sim: TwitchSim;
  beforeAll(async () => {
    sim = await startTwitchSim({ rate: 0, channels: 3, viewers: 10, membershipMs: 0 });
  });
  afterAll(() => sim.close());

  it('drops every session, refuses connections for `seconds`, then accepts them', async () => {
    const ws = new WebSocket(sim.chatWsUrl);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise((r) => ws.once('close', r));
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${sim.controlUrl}/fault`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'outage', seconds: 1 }),
    });
    expect(((await res.json()) as { sessions: number }).sessions).toBe(1);
    await closed;
    expect(await connect(sim.chatWsUrl)).toBe('refused');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await connect(sim.chatWsUrl)).toBe('open');
  });
});
