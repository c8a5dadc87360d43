/**
 * A real S3 server for the tests: a one-node Ceph cluster (one monitor, one memstore OSD, the RADOS
 * Gateway) from Debian's `ceph-mon`, `ceph-osd` and `radosgw` packages, on loopback, in a temp
 * folder, with no authentication inside the cluster (cephx off) and one S3 user. SSE-KMS uses
 * RGW's `testing` KMS backend with one key (`atlas-key`); SSE-S3 (`AES256`) has no backend in this
 * Ceph release, so RGW accepts the header and stores the object unencrypted — which is exactly
 * what the driver must catch. Every daemon runs in the foreground as our child and is stopped by
 * its own pid.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../src/config/schema.js';

const run = promisify(execFile);

export const CEPH_BINARIES = ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw', '/usr/bin/ceph'];
export const cephAvailable = (): boolean => CEPH_BINARIES.every((b) => existsSync(b));

export const RGW_KMS_KEY = 'atlas-key';

export interface CephRgw {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment for a child process (the CLI) to reach this server and nothing else. */
  env: Record<string, string>;
  /** A config.s3 section for this server (aws:kms with the test key unless overridden). */
  s3Config(bucket: string, prefix?: string, overrides?: Partial<Config['s3']>): Config['s3'];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  log?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  // the daemon's own log says why (its last lines)
  const tail = log
    ? (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-8).join('\n')
    : '';
  throw new Error(
    `ceph-rgw: ${what} not ready after ${timeoutMs / 1000} s${tail ? `; its log ends:\n${tail}` : ''}`,
  );
}

/**
 * Starts the cluster and creates the buckets; about 20–40 s on a quiet machine. A start that does
 * not come up (seen once in a while in the full suite: the OSD's boot refused with 'wrong fsid')
 * is torn down and tried again from scratch, in a new folder on new ports, up to three times.
 */
export async function startCephRgw(buckets: string[]): Promise<CephRgw> {
  const errors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(buckets);
    } catch (err) {
      errors.push(`attempt ${attempt}: ${(err as Error).message}`);
    }
  }
  throw new Error(`ceph-rgw: the cluster did not start in three attempts\n${errors.join('\n')}`);
}

async function startOnce(buckets: string[]): Promise<CephRgw> {
  const dir = await mkdtemp(join(tmpdir(), 'va-ceph-'));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const uuid = () => [8, 4, 4, 4, 12].map((n) => randomBytes(n / 2).toString('hex')).join('-');
  const fsid = uuid();
  // The OSD's own uuid, registered with the monitor before mkfs: without it the monitor may hold
  // another uuid for the id and refuse the OSD's boot ("wrong fsid"), which happened under load.
  const osdUuid = uuid();
  const conf = join(dir, 'ceph.conf');
  const kmsKey = randomBytes(32).toString('base64');
  await writeFile(
    conf,
    `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 1
osd crush chooseleaf type = 0
osd objectstore = memstore
# the OSD's start-up crush commands raced the monitor under load ('wrong fsid', the OSD never
# came up): the test places the OSD in the crush map itself
osd class update on start = false
osd crush update on start = false
memstore device bytes = 1073741824
ms bind ipv4 = true
ms bind ipv6 = false
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
mon data = ${dir}/mon/$name
osd data = ${dir}/osd/$name
keyring = ${dir}/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = ${RGW_KMS_KEY}=${kmsKey}
`,
  );
  for (const d of ['run', 'log', 'mon/mon.a', 'osd/osd.0']) await mkdir(join(dir, d), { recursive: true });
  const children: ChildProcess[] = [];
  const daemon = (cmd: string, args: string[]) => {
    const child = spawn(cmd, ['-f', '-c', conf, ...args], { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  const ceph = (...args: string[]) => run('/usr/bin/ceph', ['-c', conf, '--connect-timeout', '10', ...args]);
  try {
    await run('/usr/bin/ceph-authtool', [
      '--create-keyring',
      join(dir, 'keyring'),
      '--gen-key',
      '-n',
      'mon.',
      '--cap',
      'mon',
      'allow *',
    ]);
    await run('/usr/bin/monmaptool', [
      '--create',
      '--add',
      'a',
      `v1:127.0.0.1:${monPort}`,
      '--fsid',
      fsid,
      join(dir, 'monmap'),
    ]);
    await run('/usr/bin/ceph-mon', [
      '-c',
      conf,
      '--mkfs',
      '-i',
      'a',
      '--monmap',
      join(dir, 'monmap'),
      '--keyring',
      join(dir, 'keyring'),
    ]);
    daemon('/usr/bin/ceph-mon', ['-i', 'a']);
    await waitFor(
      'monitor',
      async () => (await ceph('mon', 'stat')).stdout.includes('quorum'),
      90_000,
      join(dir, 'log', 'mon.a.log'),
    );
    const id = (await ceph('osd', 'create', osdUuid)).stdout.trim();
    await run('/usr/bin/ceph-osd', ['-c', conf, '-i', id, '--mkfs', '--osd-uuid', osdUuid]);
    daemon('/usr/bin/ceph-osd', ['-i', id]);
    await ceph('osd', 'crush', 'add', `osd.${id}`, '1', 'root=default', 'host=localhost');
    await waitFor(
      'osd',
      async () => /1 up/.test((await ceph('osd', 'stat')).stdout),
      60_000,
      join(dir, 'log', `osd.${id}.log`),
    );
    daemon('/usr/bin/radosgw', ['-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor(
      'radosgw',
      async () => (await fetch(endpoint)).status === 200,
      150_000,
      join(dir, 'log', 'client.rgw.log'),
    );
    const credentials = {
      accessKeyId: `AK${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString('hex'),
    };
    await run('/usr/bin/radosgw-admin', [
      '-c',
      conf,
      'user',
      'create',
      '--uid=atlas',
      '--display-name=atlas',
      `--access-key=${credentials.accessKeyId}`,
      `--secret=${credentials.secretAccessKey}`,
    ]);
    const env = {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
    for (const Bucket of buckets) await client.send(new CreateBucketCommand({ Bucket }));
    client.destroy();
    return {
      endpoint,
      credentials,
      env,
      s3Config: (bucket, prefix = 'vieweratlas/', overrides = {}) => ({
        bucket,
        prefix,
        region: 'us-east-1',
        endpoint,
        force_path_style: true,
        sse: 'aws:kms',
        kms_key_id: RGW_KMS_KEY,
        multipart_threshold_mb: 16,
        max_attempts: 3,
        ...overrides,
      }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
