import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Config } from '../config/schema.js';
import { ConfigError, StorageError } from '../errors.js';
import { validateKey } from './fs-driver.js';
import type { Storage, StorageEntry } from './storage.js';

/**
 * The S3 driver. Objects live at `s3://<bucket>/<prefix><key>`, every write carries
 * server-side encryption, retries use the SDK's standard mode (exponential backoff with jitter,
 * `max_attempts` tries) and large files go up in parts.
 *
 * Append: S3 has no append. Each `append` writes ONE new object, a chunk, under
 * `<key>@@append/<time>-<seq>-<writer>`; `get`/`getFile` concatenate the base object (if any)
 * and the chunks in key order, and `list` folds chunks into their logical key (size summed,
 * newest modification). Why not read-modify-write: a collector appends every few seconds to
 * an hourly file, so re-uploading the whole file each time costs O(file) per append (O(n²)
 * bytes per hour) and two writers could lose each other's records; a chunk PUT is O(chunk),
 * atomic, and safe under concurrent writers. The cost: one PUT per append (a collector
 * flushing every 2 s makes 1 800 PUTs an hour, about $0.009 at $0.005 per 1 000), and reading
 * a raw file lists its chunks and GETs each one; `compact` turns raw files into Parquet and
 * deletes them, so chunk counts stay bounded by the compaction interval.
 */

/** Marks the chunks of an appended object; reserved inside keys. */
export const APPEND_MARK = '@@append/';

/** lib-storage (and S3) refuse parts smaller than 5 MiB. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Parallel GETs when reassembling an appended object (S3 GETs are latency-bound, ~10–30 ms). */
const CHUNK_FETCH_CONCURRENCY = 32;

export interface S3StorageOptions {
  /** Explicit credentials (tests); default: the SDK's provider chain (env, profile, ECS task role). */
  credentials?: S3ClientConfig['credentials'];
  /** Retry mode: `standard` (default) or `adaptive` (adds client-side rate limiting on throttling). */
  retryMode?: 'standard' | 'adaptive';
}

type S3Section = Config['s3'];

/** Normalises a key prefix: no leading slash, exactly one trailing slash unless empty. */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return p === '' ? '' : `${p}/`;
}

export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly location: string;
  /** The SDK client; public so tests (and callers) can add middleware. */
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly sse: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  private readonly multipartThreshold: number;
  private readonly writerId = randomBytes(4).toString('hex');
  private lastStamp = 0;
  private seq = 0;

  constructor(config: S3Section, options: S3StorageOptions = {}) {
    if (!config.bucket) throw new ConfigError('s3.bucket: required when storage.driver is s3 (got "")');
    this.bucket = config.bucket;
    this.prefix = normalizePrefix(config.prefix);
    this.location = `s3://${this.bucket}/${this.prefix}`;
    this.multipartThreshold = config.multipart_threshold_mb * 1024 * 1024;
    this.sse =
      config.sse === 'aws:kms'
        ? // without a key id S3 uses the account's AWS-managed key (aws/s3)
          {
            ServerSideEncryption: 'aws:kms',
            ...(config.kms_key_id ? { SSEKMSKeyId: config.kms_key_id } : {}),
          }
        : { ServerSideEncryption: 'AES256' };
    const custom = config.endpoint !== '';
    // The SDK warns on every run under Node 20 that releases after January 2027 will need Node 22;
    // the pinned SDK supports Node 20, so the warning would only be noise on each command.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: config.region,
      ...(custom ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.force_path_style,
      maxAttempts: config.max_attempts,
      retryMode: options.retryMode ?? 'standard',
      // S3-compatible servers (MinIO, s3rver) often reject the CRC32 headers recent SDKs add by
      // default; on AWS itself keep the default end-to-end checksums.
      ...(custom
        ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
        : {}),
      // a hung connection must fail (and be retried) instead of stalling a collector's flush
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  async get(key: string): Promise<Uint8Array | null> {
    const full = this.fullKey(key);
    const [base, chunks] = await Promise.all([this.getObject(full, key), this.listChunks(full, key)]);
    if (chunks.length === 0) return base;
    const parts = await mapLimit(
      chunks,
      CHUNK_FETCH_CONCURRENCY,
      async (k) => (await this.getObject(k, key)) ?? new Uint8Array(),
    );
    return concat(base ? [base, ...parts] : parts);
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const full = this.fullKey(key);
    const body =
      typeof data === 'string'
        ? Buffer.from(data, 'utf8')
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.putObject(full, key, body);
    await this.dropChunks(full, key);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const full = this.fullKey(key);
    let size: number;
    try {
      size = (await stat(localPath)).size;
    } catch (err) {
      throw new StorageError(
        'storage',
        `s3 putFile ${this.url(key)}: cannot read ${localPath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (size <= this.multipartThreshold) {
      await this.putObject(full, key, await readFile(localPath));
    } else {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: full, Body: createReadStream(localPath), ...this.sse },
        partSize: Math.max(MIN_PART_BYTES, this.multipartThreshold),
        queueSize: 4,
        // a failed multipart upload must not leave invisible, billed parts behind
        leavePartsOnError: false,
      });
      let done: { ServerSideEncryption?: string; SSEKMSKeyId?: string };
      try {
        done = await upload.done();
      } catch (err) {
        throw this.fail('putFile (multipart)', key, err);
      }
      // Some servers (Ceph RGW) do not echo the encryption on CompleteMultipartUpload; then ask
      // the stored object itself (one HEAD per multi-MB upload).
      if (!this.confirms(done)) {
        try {
          done = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
        } catch (err) {
          throw this.fail('putFile (multipart, checking encryption)', key, err);
        }
      }
      this.checkEncrypted('putFile (multipart)', key, done);
    }
    await this.dropChunks(full, key);
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const full = this.fullKey(key);
    await mkdir(dirname(localPath), { recursive: true });
    const tmp = `${localPath}.part-${randomBytes(4).toString('hex')}`;
    try {
      if ((await this.listChunks(full, key)).length > 0) {
        const bytes = await this.get(key);
        if (bytes === null) return false;
        await pipeline(async function* () {
          yield bytes;
        }, createWriteStream(tmp));
      } else {
        let res: GetObjectCommandOutput;
        try {
          res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
        } catch (err) {
          if (await this.absent(err, full)) return false;
          throw this.fail('getFile', key, err);
        }
        await pipeline(res.Body as NodeJS.ReadableStream, createWriteStream(tmp));
      }
      await rename(tmp, localPath);
      return true;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw this.fail('getFile', key, err);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async append(key: string, data: Uint8Array | string): Promise<void> {
    const full = this.fullKey(key);
    const body =
      typeof data === 'string'
        ? Buffer.from(data, 'utf8')
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.putObject(`${full}${APPEND_MARK}${this.nextStamp()}`, key, body);
  }

  async exists(key: string): Promise<boolean> {
    const full = this.fullKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return true;
    } catch (err) {
      if (!(await this.absent(err, full))) throw this.fail('exists', key, err);
    }
    return (await this.listChunks(full, key, 1)).length > 0;
  }

  async list(prefix: string): Promise<StorageEntry[]> {
    if (prefix !== '' && (prefix.startsWith('/') || prefix.split('/').some((s) => s === '..' || s === '.'))) {
      throw new StorageError('storage', `invalid prefix "${prefix}"`);
    }
    const byKey = new Map<string, StorageEntry>();
    for (const obj of await this.listRaw(this.prefix + prefix, prefix)) {
      const rel = obj.key.slice(this.prefix.length);
      const mark = rel.indexOf(APPEND_MARK);
      const logical = mark >= 0 ? rel.slice(0, mark) : rel;
      if (!logical.startsWith(prefix)) continue;
      const seen = byKey.get(logical);
      if (seen) {
        seen.size += obj.size;
        seen.modified = Math.max(seen.modified, obj.modified);
      } else {
        byKey.set(logical, { key: logical, size: obj.size, modified: obj.modified });
      }
    }
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const full = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (err) {
      if (!isNotFound(err)) throw this.fail('delete', key, err);
    }
    await this.dropChunks(full, key);
  }

  localPath(_key: string): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // --- internals -------------------------------------------------------------------------

  private fullKey(key: string): string {
    // the same key rules as the filesystem driver, so data moves between drivers unchanged
    validateKey(key);
    if (key.includes(APPEND_MARK)) {
      throw new StorageError(
        'storage',
        `s3: invalid key "${key}" ("${APPEND_MARK}" is reserved for append chunks)`,
      );
    }
    return this.prefix + key;
  }

  private url(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  private fail(op: string, key: string, err: unknown): StorageError {
    const e = err as {
      name?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number; attempts?: number };
    };
    const status = e.$metadata?.httpStatusCode
      ? ` (HTTP ${e.$metadata.httpStatusCode}, ${e.$metadata.attempts ?? 1} attempts)`
      : '';
    return new StorageError(
      'storage',
      `s3 ${op} ${this.url(key)}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}${status}`,
      {
        cause: err,
      },
    );
  }

  private nextStamp(): string {
    // time first so chunks from several writers interleave in write order; the per-writer
    // sequence keeps this writer's chunks ordered even within one millisecond
    this.lastStamp = Math.max(this.lastStamp, Date.now());
    this.seq += 1;
    return `${String(this.lastStamp).padStart(14, '0')}-${String(this.seq).padStart(10, '0')}-${this.writerId}`;
  }

  private async putObject(full: string, key: string, body: Buffer): Promise<void> {
    let res: { ServerSideEncryption?: string; SSEKMSKeyId?: string };
    try {
      res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: full,
          Body: body,
          ContentLength: body.byteLength,
          ...this.sse,
        }),
      );
    } catch (err) {
      throw this.fail('put', key, err);
    }
    this.checkEncrypted('put', key, res);
  }

  /**
   * A 200 is not proof of encryption: some S3 servers (Ceph RGW without an encryption backend
   * for SSE-S3) accept `x-amz-server-side-encryption: AES256` and store the object in the clear.
   * S3 echoes the encryption it applied in the response; anything else is an error naming the
   * object and what came back. (The object was stored; the caller's write fails so nothing is
   * counted as safely written, and the operator fixes the server or the config.)
   */
  /** Whether a response confirms the configured encryption (and KMS key, when one is set). */
  private confirms(res: { ServerSideEncryption?: string; SSEKMSKeyId?: string }): boolean {
    const keyWanted = this.sse.SSEKMSKeyId;
    const keyGot = res.SSEKMSKeyId;
    // S3 reports the key as an ARN; a configured bare id or alias matches its tail
    const keyOk =
      !keyWanted ||
      (keyGot !== undefined &&
        (keyGot === keyWanted || keyGot.endsWith(`/${keyWanted}`) || keyGot.endsWith(`:${keyWanted}`)));
    return res.ServerSideEncryption === this.sse.ServerSideEncryption && keyOk;
  }

  private checkEncrypted(
    op: string,
    key: string,
    res: { ServerSideEncryption?: string; SSEKMSKeyId?: string },
  ): void {
    if (this.confirms(res)) return;
    const want = this.sse.ServerSideEncryption;
    const got = res.ServerSideEncryption;
    const keyWanted = this.sse.SSEKMSKeyId;
    const came = `ServerSideEncryption=${got ?? '(none)'}${keyWanted ? `, SSEKMSKeyId=${res.SSEKMSKeyId ?? '(none)'}` : ''}`;
    throw new StorageError(
      'storage',
      `s3 ${op} ${this.url(key)}: the server did not confirm ${want}${keyWanted ? ` with key ${keyWanted}` : ''} encryption (response: ${came}); the object may be stored unencrypted — check the server's encryption support or s3.sse`,
    );
  }

  private async getObject(full: string, key: string): Promise<Uint8Array | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (await this.absent(err, full)) return null;
      throw this.fail('get', key, err);
    }
  }

  /**
   * Whether a failed GET/HEAD means "no such object". S3 answers 404 only to callers allowed to
   * list the bucket; a least-privilege role whose s3:ListBucket carries an s3:prefix condition
   * (infrastructure/aws/iam) gets 403 for a missing key, so a 403 is settled by listing the key.
   */
  private async absent(err: unknown, full: string): Promise<boolean> {
    if (isNotFound(err)) return true;
    if ((err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode !== 403) return false;
    try {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, MaxKeys: 1 }),
      );
      return res.Contents?.[0]?.Key !== full;
    } catch {
      return false; // listing is denied too: report the original 403
    }
  }

  private async listChunks(full: string, key: string, max?: number): Promise<string[]> {
    return (await this.listRaw(full + APPEND_MARK, key, max)).map((o) => o.key);
  }

  /** ListObjectsV2 over the full prefix, following continuation tokens. */
  private async listRaw(
    fullPrefix: string,
    forKey: string,
    max?: number,
  ): Promise<{ key: string; size: number; modified: number }[]> {
    const out: { key: string; size: number; modified: number }[] = [];
    let token: string | undefined;
    do {
      let res: ListObjectsV2CommandOutput;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: fullPrefix,
            ContinuationToken: token,
            ...(max ? { MaxKeys: max } : {}),
          }),
        );
      } catch (err) {
        throw this.fail('list', forKey, err);
      }
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({ key: o.Key, size: o.Size ?? 0, modified: o.LastModified?.getTime() ?? 0 });
      }
      if (max !== undefined && out.length >= max) break;
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async dropChunks(full: string, key: string): Promise<void> {
    const chunks = await this.listChunks(full, key);
    for (let i = 0; i < chunks.length; i += 1000) {
      const batch = chunks.slice(i, i + 1000);
      try {
        const res = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = res.Errors?.[0];
        if (failed) throw new Error(`${failed.Code}: ${failed.Message} (${failed.Key})`);
      } catch (err) {
        throw this.fail('delete chunks of', key, err);
      }
    }
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
