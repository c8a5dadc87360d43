#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (scripts/build.mjs; `npm ci` builds it through the
// `prepare` script, `npm test` through `pretest`). Development without a build: `npm run dev -- …`.
import { readFileSync } from 'node:fs';

/**
 * `npx vieweratlas …` / `npm run …` start us as npm → sh -c → node. A SIGTERM to npm (what a
 * supervisor, a script's `kill` or a stop button sends to the command it started) reaches the
 * shell, which dies without passing it on, and npm exits: we would be left running, orphaned, and a
 * collector would never flush. So when npm started us, we watch the shell and npm, and when either
 * is gone we send ourselves SIGTERM — the command then stops exactly as if it had been signalled
 * (collect flushes and exits 0). Only under npm: `nohup vieweratlas collect &` keeps running after
 * its shell exits, as it should.
 */
function stopWhenNpmIsGone() {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  // npm itself when the parent is its `sh -c` (Linux; elsewhere only the parent is watched)
  let grandparent = 0;
  try {
    const stat = readFileSync(`/proc/${parent}/stat`, 'utf8');
    grandparent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {}
  const alive = (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return err.code === 'EPERM';
    }
  };
  const timer = setInterval(() => {
    if (process.ppid === parent && (grandparent <= 1 || alive(grandparent))) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 200);
  timer.unref();
}

stopWhenNpmIsGone();
const entry = new URL('../dist/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('vieweratlas: dist/cli/main.js is missing: run `npm run build` (npm ci runs it)\n');
  process.exit(2);
}
process.exitCode = await main(process.argv);
