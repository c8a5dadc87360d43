import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config/schema.js';

/**
 * A local S3 server (s3rver) on 127.0.0.1, in a child process. Why a child: s3rver 3.7 signs
 * ListObjectsV2 continuation tokens with DES, which Node 20's OpenSSL 3 only offers under
 * `--openssl-legacy-provider`; the flag must not leak into the test worker itself. Why
 * s3rver: it serves path-style PutObject/GetObject/HeadObject/ListObjectsV2 (with real
 * pagination), DeleteObject(s), CopyObject and multipart uploads, which is all we use.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** s3rver's built-in account: it verifies SigV4 signatures against these. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** Environment for a child process (the CLI) to reach this server and nothing else. */
  env: Record<string, string>;
  /** A config.s3 section pointing at this server. */
  s3Config(bucket: string, prefix?: string, overrides?: Partial<Config['s3']>): Config['s3'];
  close(): Promise<void>;
}

const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const buckets = JSON.parse(process.env.S3_TEST_BUCKETS).map((name) => ({ name }));
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.env.S3_TEST_DIR, configureBuckets: buckets });
server.run().then((addr) => { process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'); });
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
`;

/** Starts s3rver with the given (empty) buckets; resolves once it listens. */
export async function startLocalS3(buckets: string[] = ['vieweratlas-test']): Promise<LocalS3> {
  const dir = mkdtempSync(join(tmpdir(), 'va-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SERVER_SCRIPT], {
    cwd: REPO_ROOT,
    env: { ...process.env, S3_TEST_DIR: dir, S3_TEST_BUCKETS: JSON.stringify(buckets) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${stderr}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    env: {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      // never fall through to the instance metadata service (no network but loopback here)
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    s3Config: (bucket, prefix = 'vieweratlas/', overrides = {}) => ({
      bucket,
      prefix,
      region: 'us-east-1',
      endpoint,
      force_path_style: true,
      sse: 'AES256',
      kms_key_id: '',
      multipart_threshold_mb: 16,
      max_attempts: 3,
      ...overrides,
    }),
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
