/**
 * The S3 driver against a real S3 implementation: Ceph's RADOS Gateway (test/helpers/ceph-rgw.ts).
 * CI installs Debian's ceph-mon, ceph-osd and radosgw (.ci/run); on a developer machine without
 * them the suite is skipped, never in CI.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.js';
import { S3Storage } from '../src/storage/s3-driver.js';
import { type CephRgw, cephAvailable, RGW_KMS_KEY, startCephRgw } from './helpers/ceph-rgw.js';
import { syntheticPresence, writePresenceCsv } from './helpers/presence-fixture.js';
import { runCli } from './helpers/run-cli.js';
import { storageContract } from './storage-contract.js';

const BUCKET = 'va-rgw';
const enabled = cephAvailable() || Boolean(process.env.CI);

let started: Promise<CephRgw> | undefined;
let rgw: CephRgw | undefined;
const cluster = () => {
  started ??= startCephRgw([BUCKET]).then((c) => {
    rgw = c;
    return c;
  });
  return started;
};
afterAll(async () => {
  await rgw?.stop();
}, 30_000);

const open = (c: CephRgw, overrides: Partial<ReturnType<CephRgw['s3Config']>> = {}) =>
  new S3Storage(c.s3Config(BUCKET, `p-${randomBytes(3).toString('hex')}/`, overrides), {
    credentials: c.credentials,
  });

describe.skipIf(!enabled)('S3 driver on Ceph RGW (a real S3 server)', () => {
  beforeAll(async () => {
    await cluster();
  }, 400_000);

  // 1 MB multipart threshold so the contract's 6 MB putFile goes up in parts (and is checked too)
  storageContract('s3 on Ceph RGW with aws:kms', async () => ({
    storage: open(await cluster(), { multipart_threshold_mb: 1 }),
    cleanup: async () => {},
  }));

  it('the default AES256 is refused when RGW stores the object unencrypted, naming bucket and key', async () => {
    const c = await cluster();
    const s = open(c, { sse: 'AES256', kms_key_id: '' });
    await expect(s.put('a/plain.json', '{}')).rejects.toThrow(
      new RegExp(`s3 put s3://${BUCKET}/p-[0-9a-f]+/a/plain\\.json: the server did not confirm AES256`),
    );
    await expect(s.append('raw/x.jsonl', '{"a":1}\n')).rejects.toBeInstanceOf(StorageError);
    await s.close();
  });

  it('aws:kms with the cluster key is confirmed on put and multipart upload', async () => {
    const c = await cluster();
    const s = open(c, { multipart_threshold_mb: 1 });
    const tmp = await mkdtemp(join(tmpdir(), 'va-rgw-'));
    try {
      await s.put('k.json', '{"ok":true}');
      await writeFile(join(tmp, 'big.bin'), randomBytes(6 * 1024 * 1024));
      await s.putFile('big.bin', join(tmp, 'big.bin'));
      expect(Buffer.from((await s.get('k.json'))!).toString()).toBe('{"ok":true}');
      expect((await s.get('big.bin'))?.byteLength).toBe(6 * 1024 * 1024);
      // what RGW itself reports for the stored object
      const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
      const head = await s.client.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: `${s.location.split(`${BUCKET}/`)[1]}k.json` }),
      );
      expect(head.ServerSideEncryption).toBe('aws:kms');
      expect(head.SSEKMSKeyId).toBe(RGW_KMS_KEY);
    } finally {
      await s.close();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('import → analyze on RGW gives the same channels.csv as on the filesystem', async () => {
    const c = await cluster();
    const tmp = await mkdtemp(join(tmpdir(), 'va-rgw-run-'));
    try {
      const rows = syntheticPresence(5, { channels: 40, viewers: 3000, communities: 4 });
      const presence = join(tmp, 'presence.csv');
      await writePresenceCsv(presence, rows);
      const fsData = join(tmp, 'fs-data');
      expect((await runCli(['import', '--data', fsData, presence])).code).toBe(0);
      const fsAnalyze = await runCli(['analyze', '--data', fsData, '--out', join(tmp, 'out-fs')]);
      expect(fsAnalyze.code, fsAnalyze.err).toBe(0);

      const prefix = `run-${randomBytes(3).toString('hex')}/`;
      const env = {
        ...c.env,
        VIEWERATLAS_STORAGE_DRIVER: 's3',
        VIEWERATLAS_S3_BUCKET: BUCKET,
        VIEWERATLAS_S3_PREFIX: prefix,
        VIEWERATLAS_S3_ENDPOINT: c.endpoint,
        VIEWERATLAS_S3_FORCE_PATH_STYLE: 'true',
        VIEWERATLAS_S3_SSE: 'aws:kms',
        VIEWERATLAS_S3_KMS_KEY_ID: RGW_KMS_KEY,
      };
      const s3Import = await runCli(['import', presence], env);
      expect(s3Import.code, s3Import.err).toBe(0);
      const s3Analyze = await runCli(['analyze', '--out', join(tmp, 'out-s3')], env);
      expect(s3Analyze.code, s3Analyze.err).toBe(0);
      const fsChannels = await readFile(join(tmp, 'out-fs', 'channels.csv'), 'utf8');
      expect(fsChannels.split('\n').length).toBeGreaterThan(30);
      expect(await readFile(join(tmp, 'out-s3', 'channels.csv'), 'utf8')).toBe(fsChannels);

      // with the CLI's default sse (AES256) RGW stores in the clear: the import must fail, exit 1
      const plain = await runCli(['import', presence], {
        ...env,
        VIEWERATLAS_S3_SSE: 'AES256',
        VIEWERATLAS_S3_KMS_KEY_ID: '',
        VIEWERATLAS_S3_PREFIX: `plain-${prefix}`,
      });
      expect(plain.code).not.toBe(0);
      expect(plain.err).toMatch(/did not confirm AES256/);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 180_000);
});
