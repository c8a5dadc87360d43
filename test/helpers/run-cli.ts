import { spawn } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * Runs `vieweratlas <args>` from the repository root as a user would. Asynchronous on purpose:
 * tests that serve S3 or Athena from their own process must keep their event loop running.
 * EMF metric lines are switched off so stdout holds only the command's output.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/vieweratlas.mjs', ...args], {
      cwd: REPO,
      env: { ...process.env, ...env, VIEWERATLAS_METRICS_EMF: 'false' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
