import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ConfigError, StorageError } from '../src/errors.js';
import { APPEND_MARK, normalizePrefix, S3Storage } from '../src/storage/s3-driver.js';
import { syntheticPresence, writePresenceCsv } from './helpers/presence-fixture.js';
import { runCli } from './helpers/run-cli.js';
import { type LocalS3, startLocalS3, TEST_CREDENTIALS } from './helpers/s3-server.js';
import { storageContract } from './storage-contract.js';

const BUCKET = 'va-test';
let server: LocalS3;
let started: Promise<LocalS3> | undefined;
// one local S3 server for the whole file, started by whichever suite needs it first
const localS3 = () => {
  started ??= startLocalS3([BUCKET]).then((s) => {
    server = s;
    return s;
  });
  return started;
};
afterAll(async () => {
  await server?.close();
});

const open = (s3: LocalS3, overrides: Partial<Parameters<LocalS3['s3Config']>[2]> = {}, prefix?: string) =>
  new S3Storage(s3.s3Config(BUCKET, prefix ?? `p-${randomBytes(3).toString('hex')}/`, overrides), {
    credentials: TEST_CREDENTIALS,
  });

// Multipart threshold 1 MB so the contract's 6 MB putFile goes up in parts.
storageContract('s3 (local S3 server on 127.0.0.1)', async () => {
  const s3 = await localS3();
  return { storage: open(s3, { multipart_threshold_mb: 1 }), cleanup: async () => {} };
});

interface Sent {
  command: string;
  input: Record<string, unknown>;
  method?: string;
  headers?: Record<string, string>;
}

/** Records every command and the HTTP request it became (after signing). */
function record(storage: S3Storage): Sent[] {
  const sent: Sent[] = [];
  storage.client.middlewareStack.add(
    (next, context) => async (args) => {
      const entry: Sent = {
        command: String(context.commandName),
        input: { ...(args.input as Record<string, unknown>) },
      };
      sent.push(entry);
      const req = args.request as { method?: string; headers?: Record<string, string> } | undefined;
      if (req?.headers) {
        entry.method = req.method;
        entry.headers = { ...req.headers };
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests', priority: 'low' },
  );
  return sent;
}

describe('S3 encryption settings are checked when the config loads', () => {
  it('refuses aws:kms without a key id on an S3-compatible endpoint, and a key id without aws:kms', () => {
    expect(() =>
      parseConfig({ s3: { bucket: 'b', endpoint: 'http://127.0.0.1:7480', sse: 'aws:kms' } }),
    ).toThrow(/s3\.kms_key_id: required with sse "aws:kms" on an S3-compatible endpoint/);
    expect(() => parseConfig({ s3: { bucket: 'b', kms_key_id: 'alias/x' } })).toThrow(
      /s3\.kms_key_id: only used with sse "aws:kms"/,
    );
    expect(() =>
      parseConfig({ s3: { bucket: 'b', endpoint: 'http://127.0.0.1:7480', sse: 'aws:kms' } }),
    ).toThrow(ConfigError);
    // on AWS itself aws:kms without a key id means the account's aws/s3 key
    expect(parseConfig({ s3: { bucket: 'b', sse: 'aws:kms' } }).s3.sse).toBe('aws:kms');
  });
});

describe('S3Storage specifics', () => {
  let s3: LocalS3;
  let tmp: string;
  beforeAll(async () => {
    s3 = await localS3();
    tmp = await mkdtemp(join(tmpdir(), 'va-s3-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('a server that answers 200 but does not confirm the encryption is an error naming the object', async () => {
    s3.options.ignoreSse = true;
    try {
      const s = open(s3, { multipart_threshold_mb: 1 }, 'sse-ignored/');
      await expect(s.put('a/b.json', '{}')).rejects.toThrow(
        /s3 put s3:\/\/va-test\/sse-ignored\/a\/b\.json: the server did not confirm AES256 encryption \(response: ServerSideEncryption=\(none\)\)/,
      );
      await expect(s.append('raw/x.jsonl', '{"a":1}\n')).rejects.toBeInstanceOf(StorageError);
      const big = join(tmp, 'big.bin');
      await writeFile(big, randomBytes(6 * 1024 * 1024));
      await expect(s.putFile('big.bin', big)).rejects.toThrow(
        /putFile \(multipart\).*did not confirm AES256/,
      );
      // a KMS key the server did not use is caught the same way
      s3.options.ignoreSse = false;
      const kms = open(s3, { sse: 'aws:kms', kms_key_id: 'alias/atlas' }, 'sse-kms/');
      await kms.put('ok.json', '{}'); // echoed back: fine
    } finally {
      s3.options.ignoreSse = false;
    }
  });

  it('sends AES256 server-side encryption on every write (put, append, putFile, multipart)', async () => {
    const s = open(s3, { multipart_threshold_mb: 1 });
    const sent = record(s);
    await s.put('a/one.txt', 'x');
    await s.append('raw/log.jsonl', '{"a":1}\n');
    await s.append('raw/log.jsonl', '{"a":2}\n');
    const small = join(tmp, 'small.bin');
    const big = join(tmp, 'big.bin');
    await writeFile(small, 'small');
    await writeFile(big, Buffer.alloc(6 * 1024 * 1024 + 1, 1));
    await s.putFile('f/small', small);
    await s.putFile('f/big', big);
    const writes = sent.filter(
      (c) => c.command === 'PutObjectCommand' || c.command === 'CreateMultipartUploadCommand',
    );
    expect(writes.map((c) => c.command).sort()).toEqual([
      'CreateMultipartUploadCommand',
      'PutObjectCommand',
      'PutObjectCommand',
      'PutObjectCommand',
      'PutObjectCommand',
    ]);
    for (const w of writes) {
      expect(w.input.ServerSideEncryption, w.command).toBe('AES256');
      expect(w.headers?.['x-amz-server-side-encryption'], w.command).toBe('AES256');
    }
    // and the server stored every object encrypted (as S3 reports it back on GET/HEAD)
    for (const k of s3.keys(BUCKET).filter((k) => k.startsWith(s.location.slice(`s3://${BUCKET}/`.length)))) {
      expect(s3.object(BUCKET, k)?.sse, k).toBe('AES256');
    }
    // the 6 MB file really went up in parts (5 MiB minimum part size → 2 parts)
    expect(sent.filter((c) => c.command === 'UploadPartCommand')).toHaveLength(2);
    expect(sent.some((c) => c.command === 'CompleteMultipartUploadCommand')).toBe(true);
    expect((await s.list('f/')).map((e) => [e.key, e.size])).toEqual([
      ['f/big', 6 * 1024 * 1024 + 1],
      ['f/small', 5],
    ]);
    await s.close();
  });

  it('sends aws:kms with the key id when configured', async () => {
    const s = open(s3, { sse: 'aws:kms', kms_key_id: 'arn:aws:kms:us-east-1:111122223333:key/test-key' });
    const sent = record(s);
    await s.put('k.txt', 'secret');
    await s.append('k2.txt', 'line\n');
    const puts = sent.filter((c) => c.command === 'PutObjectCommand');
    expect(puts).toHaveLength(2);
    for (const p of puts) {
      expect(p.headers?.['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(p.headers?.['x-amz-server-side-encryption-aws-kms-key-id']).toBe(
        'arn:aws:kms:us-east-1:111122223333:key/test-key',
      );
    }
    await s.close();
  });

  it('stores each append as its own chunk object and folds chunks back into one key', async () => {
    const prefix = `chunks-${randomBytes(3).toString('hex')}/`;
    const s = open(s3, {}, prefix);
    const key = 'raw/presence/source=live/dt=2026-11-24/hour=13/c1.jsonl';
    await s.append(key, 'a\n');
    await s.append(key, 'bb\n');
    await s.append(key, 'ccc\n');
    const raw = await s.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    const rawKeys = (raw.Contents ?? []).map((o) => o.Key as string);
    expect(rawKeys).toHaveLength(3);
    for (const k of rawKeys) expect(k.startsWith(`${prefix}${key}${APPEND_MARK}`)).toBe(true);
    const listed = await s.list('raw/');
    expect(listed.map((e) => [e.key, e.size])).toEqual([[key, 9]]);
    expect(Buffer.from((await s.get(key)) as Uint8Array).toString()).toBe('a\nbb\nccc\n');
    expect(await s.exists(key)).toBe(true);
    // getFile reassembles too
    expect(await s.getFile(key, join(tmp, 'reassembled.jsonl'))).toBe(true);
    // put replaces the chunks; delete removes base and chunks
    await s.put(key, 'whole\n');
    const afterPut = await s.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    expect((afterPut.Contents ?? []).map((o) => o.Key)).toEqual([`${prefix}${key}`]);
    await s.append(key, 'more\n');
    await s.delete(key);
    expect(await s.exists(key)).toBe(false);
    expect(await s.list('')).toEqual([]);
    await expect(s.put(`x${APPEND_MARK}y`, 'no')).rejects.toBeInstanceOf(StorageError);
    await s.close();
  });

  it('follows ListObjectsV2 continuation tokens (pages of 3)', async () => {
    const s = open(s3);
    const sent = record(s);
    // shrink the page so pagination is exercised without thousands of objects
    s.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { MaxKeys?: number };
        if (input.MaxKeys === undefined) input.MaxKeys = 3;
        return next(args);
      },
      { step: 'initialize', name: 'smallPages' },
    );
    const keys = Array.from({ length: 10 }, (_, i) => `pg/k${String(i).padStart(2, '0')}`);
    for (const k of keys) await s.put(k, k);
    sent.length = 0;
    expect((await s.list('pg/')).map((e) => e.key)).toEqual(keys);
    const lists = sent.filter((c) => c.command === 'ListObjectsV2Command');
    expect(lists).toHaveLength(4);
    expect(lists[0]?.input.ContinuationToken).toBeUndefined();
    for (const l of lists.slice(1)) expect(typeof l.input.ContinuationToken).toBe('string');
    await s.close();
  });

  it('retries throttling (503 SlowDown) with backoff, and reports the status after max_attempts', async () => {
    const s = open(s3, { max_attempts: 3 });
    const puts = () => s3.requests.filter((r) => r.method === 'PUT' && r.key.endsWith('retry/ok.txt')).length;
    s3.faults.push(
      { method: 'PUT', status: 503, code: 'SlowDown' },
      { method: 'PUT', status: 503, code: 'SlowDown' },
    );
    await s.put('retry/ok.txt', 'made it');
    expect(puts()).toBe(3);
    expect(Buffer.from((await s.get('retry/ok.txt')) as Uint8Array).toString()).toBe('made it');
    await s.close();

    const impatient = open(s3, { max_attempts: 2 });
    s3.faults.push(...Array.from({ length: 3 }, () => ({ method: 'PUT', status: 503, code: 'SlowDown' })));
    const err = await impatient.put('retry/fail.txt', 'no').catch((e: unknown) => e);
    s3.faults.length = 0;
    expect(err).toBeInstanceOf(StorageError);
    expect(String((err as Error).message)).toMatch(
      /^storage: s3 put s3:\/\/va-test\/.*retry\/fail\.txt: SlowDown.*HTTP 503, 2 attempts/,
    );
    expect(s3.requests.filter((r) => r.method === 'PUT' && r.key.endsWith('retry/fail.txt'))).toHaveLength(2);
    await impatient.close();
  });

  it('tells a missing key from a denied one when S3 answers 403 (prefix-scoped ListBucket)', async () => {
    const s = open(s3);
    await s.put('there.txt', 'yes');
    await s.append('appended.jsonl', 'a\n');
    s3.options.missingAs403 = true;
    try {
      expect(await s.get('missing.txt')).toBeNull();
      expect(await s.exists('missing.txt')).toBe(false);
      expect(await s.getFile('missing.txt', join(tmp, 'never'))).toBe(false);
      expect(Buffer.from((await s.get('there.txt')) as Uint8Array).toString()).toBe('yes');
      expect(await s.exists('appended.jsonl')).toBe(true);
      expect(Buffer.from((await s.get('appended.jsonl')) as Uint8Array).toString()).toBe('a\n');
      // a real denial (listing refused too) is an error, not "missing"
      s3.faults.push(
        { method: 'GET', status: 403, code: 'AccessDenied' },
        { method: 'GET', status: 403, code: 'AccessDenied' },
      );
      await expect(s.get('there.txt')).rejects.toThrow(/AccessDenied/);
    } finally {
      s3.options.missingAs403 = false;
      s3.faults.length = 0;
      await s.close();
    }
  });

  it('names its location, has no local paths, and needs a bucket', async () => {
    const s = open(s3, {}, '/nested/prefix//');
    expect(s.location).toBe(`s3://${BUCKET}/nested/prefix/`);
    expect(s.localPath('a/b')).toBeUndefined();
    await s.put('a/b', '1');
    const raw = await s.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'nested/' }));
    expect((raw.Contents ?? []).map((o) => o.Key)).toContain('nested/prefix/a/b');
    await s.close();
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('x')).toBe('x/');
    expect(() => new S3Storage(s3.s3Config(''))).toThrow(ConfigError);
    expect(() => new S3Storage(s3.s3Config(''))).toThrow(/s3\.bucket/);
  });
});

const cli = runCli;

describe('full run on S3: import → analyze', () => {
  let s3: LocalS3;
  let tmp: string;
  beforeAll(async () => {
    s3 = await localS3();
    tmp = await mkdtemp(join(tmpdir(), 'va-s3-run-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('produces the same channels.csv as on the filesystem, every object encrypted', async () => {
    // seeded presence with community structure and bots, plus channel metadata
    const rows = syntheticPresence(3, { channels: 40, viewers: 3000, communities: 4 });
    const presence = join(tmp, 'presence.csv');
    const metadata = join(tmp, 'channels.csv');
    await writePresenceCsv(presence, rows);
    const games = ['Chess', 'Rust', 'Dota 2', 'Minecraft'];
    const names = [...new Set(rows.map((r) => r.channel))].sort();
    await writeFile(
      metadata,
      `channel,language,game\n${names.map((c, i) => `${c},en,${games[i % 4]}`).join('\n')}\n`,
    );

    const fsData = join(tmp, 'fs-data');
    const fsImport = await cli(['import', '--data', fsData, presence, metadata]);
    expect(fsImport.code, fsImport.err).toBe(0);
    const fsAnalyze = await cli(['analyze', '--data', fsData, '--out', join(tmp, 'out-fs')]);
    expect(fsAnalyze.code, fsAnalyze.err).toBe(0);

    const prefix = `run-${randomBytes(3).toString('hex')}/`;
    const env = {
      ...s3.env,
      VIEWERATLAS_STORAGE_DRIVER: 's3',
      VIEWERATLAS_S3_BUCKET: BUCKET,
      VIEWERATLAS_S3_PREFIX: prefix,
      VIEWERATLAS_S3_ENDPOINT: s3.endpoint,
      VIEWERATLAS_S3_FORCE_PATH_STYLE: 'true',
    };
    const s3Import = await cli(['import', presence, metadata], env);
    expect(s3Import.code, s3Import.err).toBe(0);
    expect(s3Import.out + s3Import.err).toContain(`s3://${BUCKET}/${prefix}`);
    // users on Node 20 are not nagged about the SDK's future Node 22 requirement on every command
    expect(s3Import.err).not.toContain('NodeVersionSupportWarning');
    const s3Analyze = await cli(['analyze', '--out', join(tmp, 'out-s3')], env);
    expect(s3Analyze.code, s3Analyze.err).toBe(0);

    const fsChannels = await readFile(join(tmp, 'out-fs', 'channels.csv'), 'utf8');
    const s3Channels = await readFile(join(tmp, 'out-s3', 'channels.csv'), 'utf8');
    expect(fsChannels.split('\n').length).toBeGreaterThan(30);
    expect(s3Channels).toBe(fsChannels);
    // same edges; their row order and orientation vary between runs even on one driver (noted for the lead)
    const lines = async (dir: string) =>
      (await readFile(join(tmp, dir, 'edges.csv'), 'utf8'))
        .split('\n')
        .map((l) => {
          const [a = '', b = '', ...rest] = l.split(',');
          return [...[a, b].sort(), ...rest].join(',');
        })
        .sort();
    expect(await lines('out-s3')).toEqual(await lines('out-fs'));

    // the data really went through the S3 server, and every object there is encrypted
    const stored = s3.keys(BUCKET).filter((k) => k.startsWith(prefix));
    expect(
      stored.some((k) => k.startsWith(`${prefix}presence/source=vod/dt=`) && k.endsWith('.parquet')),
    ).toBe(true);
    for (const k of stored) expect(s3.object(BUCKET, k)?.sse, k).toBe('AES256');
  }, 120_000);
});
