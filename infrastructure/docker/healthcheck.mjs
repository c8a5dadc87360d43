#!/usr/bin/env node
// Container health for the ViewerAtlas images: `node healthcheck.mjs <command>`.
// Healthy when a process runs `bin/vieweratlas.mjs <command>` (directly, or inside a shell loop
// such as the compose scheduler's); for `collect` also when the
// container holds at least one ESTABLISHED TCP connection (the chat connections; a collector
// that lost all of them and cannot reconnect is not collecting). Linux /proc only, no deps.
import { readdirSync, readFileSync } from 'node:fs';

const command = process.argv[2];
if (!command) {
  console.error('usage: healthcheck.mjs <command>');
  process.exit(2);
}

function runsCommand() {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // the process ended while we looked
    }
    const at = argv.findIndex((a) => a.endsWith('bin/vieweratlas.mjs'));
    if (at >= 0 && argv[at + 1] === command) return true;
    if (argv.some((a) => a.includes(`bin/vieweratlas.mjs ${command}`))) return true;
  }
  return false;
}

function establishedTcp() {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const st = line.trim().split(/\s+/)[3];
      if (st === '01') n++; // TCP_ESTABLISHED
    }
  }
  return n;
}

if (!runsCommand()) {
  console.error(`unhealthy: no process runs "vieweratlas ${command}"`);
  process.exit(1);
}
// `run` collects too: it must hold its chat connections like a collector
if ((command === 'collect' || command === 'run') && establishedTcp() === 0) {
  console.error('unhealthy: collector holds no established connection');
  process.exit(1);
}
console.log('healthy');
