import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../src/config/schema.js';

/**
 * A small in-memory S3 server on 127.0.0.1 speaking the path-style REST protocol the AWS SDK
 * v3 uses: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjectsV2 (real
 * continuation tokens, prefix, max-keys, start-after), CreateBucket/HeadBucket and multipart
 * uploads (create, upload part, complete, abort), including `aws-chunked` bodies.
 *
 * Why not the s3rver package: 3.7.1 (2021, unmaintained, and its @20minutes fork has the
 * same code) signs ListObjectsV2 continuation tokens with DES, which Node 20's OpenSSL 3 only
 * has under `--openssl-legacy-provider`, and it writes objects in place, so two PUTs of one
 * key interleave into a mix of both (the storage contract caught it about one run in five)
 * and a PUT is acknowledged before its file is flushed. Here an object is replaced only once
 * its whole body has arrived, as on S3.
 *
 * Signatures are not verified (requests must still carry a SigV4 Authorization header); the
 * server records every request so tests can check headers (server-side encryption) as stored.
 */

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

export interface StoredObject {
  body: Buffer;
  etag: string;
  modified: Date;
  contentType?: string;
  /** `x-amz-server-side-encryption` as received. */
  sse?: string;
  /** `x-amz-server-side-encryption-aws-kms-key-id` as received. */
  kmsKeyId?: string;
}

export interface RecordedRequest {
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
}

export interface Fault {
  /** Only requests with this method fail (default: any). */
  method?: string;
  status: number;
  code: string;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Faults to answer the next matching requests with, consumed front to back. */
  faults: Fault[];
  /**
   * Behaviour switches. `missingAs403`: GET/HEAD of a missing key answer 403 AccessDenied, as S3
   * does for a caller whose s3:ListBucket is limited by an s3:prefix condition. `ignoreSse`: the
   * encryption header is accepted and nothing is confirmed (Ceph RGW with `AES256` and no SSE-S3 backend).
   */
  options: { missingAs403: boolean; ignoreSse: boolean };
  /** The stored object, as S3 would hold it. */
  object(bucket: string, key: string): StoredObject | undefined;
  /** Every stored key of a bucket, sorted. */
  keys(bucket: string): string[];
  /** Environment for a child process (the CLI) to reach this server and nothing else. */
  env: Record<string, string>;
  /** A config.s3 section pointing at this server. */
  s3Config(bucket: string, prefix?: string, overrides?: Partial<Config['s3']>): Config['s3'];
  close(): Promise<void>;
}

const xmlEscape = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
const xmlUnescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, '&');
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  return sha.startsWith('STREAMING-') ? decodeAwsChunked(raw) : raw;
}

/** `aws-chunked`: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0…\r\n` [trailers]. */
function decodeAwsChunked(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < raw.length) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** Starts the server with the given (empty) buckets; resolves once it listens. */
export async function startLocalS3(buckets: string[] = ['vieweratlas-test']): Promise<LocalS3> {
  const store = new Map<string, Map<string, StoredObject>>(buckets.map((b) => [b, new Map()]));
  const uploads = new Map<
    string,
    { bucket: string; key: string; parts: Map<number, Buffer>; sse?: string; kmsKeyId?: string }
  >();
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const options = { missingAs403: false, ignoreSse: false };

  const sendXml = (
    res: ServerResponse,
    status: number,
    xml: string,
    headers: Record<string, string> = {},
  ) => {
    const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': body.length, ...headers });
    res.end(body);
  };
  const sendError = (res: ServerResponse, status: number, code: string, message: string, head = false) => {
    if (head) {
      res.writeHead(status);
      res.end();
      return;
    }
    sendXml(res, status, `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
  };
  // ignoreSse: like Ceph RGW without an SSE-S3 backend, accept the header, store in the clear and
  // confirm nothing in the response
  const sseHeaders = (o: { sse?: string; kmsKeyId?: string }): Record<string, string> =>
    options.ignoreSse
      ? {}
      : {
          ...(o.sse ? { 'x-amz-server-side-encryption': o.sse } : {}),
          ...(o.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': o.kmsKeyId } : {}),
        };
  const header = (req: IncomingMessage, name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const bucket = segments[0] ?? '';
    const key = segments.slice(1).join('/');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    requests.push({ method, bucket, key, query, headers: req.headers });
    const head = method === 'HEAD';

    const faultAt = faults.findIndex((f) => f.method === undefined || f.method === method);
    if (faultAt >= 0) {
      const f = faults.splice(faultAt, 1)[0] as Fault;
      await readBody(req);
      return sendError(res, f.status, f.code, 'injected fault', head);
    }
    if (!String(header(req, 'authorization') ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
      await readBody(req);
      return sendError(res, 403, 'AccessDenied', 'missing SigV4 signature', head);
    }
    if (key === '' && method === 'PUT') {
      await readBody(req);
      if (!store.has(bucket)) store.set(bucket, new Map());
      res.writeHead(200, { location: `/${bucket}` });
      return res.end();
    }
    const objects = store.get(bucket);
    if (!objects) {
      await readBody(req);
      return sendError(res, 404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`, head);
    }

    if (key === '') {
      if (head) {
        res.writeHead(200);
        return res.end();
      }
      if (method === 'POST' && 'delete' in query) {
        const xml = (await readBody(req)).toString('utf8');
        const keys = [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => xmlUnescape(m[1] as string));
        for (const k of keys) objects.delete(k);
        const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
        const deleted = quiet
          ? ''
          : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('');
        return sendXml(res, 200, `<DeleteResult xmlns="${XMLNS}">${deleted}</DeleteResult>`);
      }
      if (method === 'GET' && query['list-type'] === '2') {
        if (query.delimiter) return sendError(res, 501, 'NotImplemented', 'delimiter is not supported here');
        const prefix = query.prefix ?? '';
        const maxKeys = Math.min(1000, Number(query['max-keys'] ?? 1000));
        const after = query['continuation-token']
          ? Buffer.from(query['continuation-token'], 'base64url').toString('utf8')
          : (query['start-after'] ?? '');
        const all = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
        const page = all.slice(0, maxKeys);
        const truncated = all.length > page.length;
        const contents = page
          .map((k) => {
            const o = objects.get(k) as StoredObject;
            return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.modified.toISOString()}</LastModified><ETag>&quot;${o.etag}&quot;</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
          })
          .join('');
        const token = query['continuation-token']
          ? `<ContinuationToken>${xmlEscape(query['continuation-token'])}</ContinuationToken>`
          : '';
        const next = truncated
          ? `<NextContinuationToken>${Buffer.from(page[page.length - 1] as string).toString('base64url')}</NextContinuationToken>`
          : '';
        return sendXml(
          res,
          200,
          `<ListBucketResult xmlns="${XMLNS}"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${token}${next}${contents}</ListBucketResult>`,
        );
      }
      await readBody(req);
      return sendError(res, 501, 'NotImplemented', `${method} ${url.search} on a bucket`);
    }

    if (method === 'POST' && 'uploads' in query) {
      await readBody(req);
      const id = randomBytes(12).toString('hex');
      const sse = {
        sse: header(req, 'x-amz-server-side-encryption'),
        kmsKeyId: header(req, 'x-amz-server-side-encryption-aws-kms-key-id'),
      };
      uploads.set(id, { bucket, key, parts: new Map(), ...sse });
      return sendXml(
        res,
        200,
        `<InitiateMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
        sseHeaders(sse),
      );
    }
    if (query.uploadId !== undefined) {
      const up = uploads.get(query.uploadId);
      if (!up) {
        await readBody(req);
        return sendError(res, 404, 'NoSuchUpload', `upload ${query.uploadId}`);
      }
      if (method === 'PUT') {
        const body = await readBody(req);
        up.parts.set(Number(query.partNumber), body);
        res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"`, ...sseHeaders(up) });
        return res.end();
      }
      if (method === 'POST') {
        const xml = (await readBody(req)).toString('utf8');
        const numbers = [...xml.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
        const missing = numbers.find((n) => !up.parts.has(n));
        if (missing !== undefined)
          return sendError(res, 400, 'InvalidPart', `part ${missing} was not uploaded`);
        const body = Buffer.concat(numbers.map((n) => up.parts.get(n) as Buffer));
        const etag = `${createHash('md5').update(body).digest('hex')}-${numbers.length}`;
        objects.set(key, { body, etag, modified: new Date(), sse: up.sse, kmsKeyId: up.kmsKeyId });
        uploads.delete(query.uploadId);
        return sendXml(
          res,
          200,
          `<CompleteMultipartUploadResult xmlns="${XMLNS}"><Location>/${xmlEscape(bucket)}/${xmlEscape(key)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>&quot;${etag}&quot;</ETag></CompleteMultipartUploadResult>`,
          sseHeaders(up),
        );
      }
      if (method === 'DELETE') {
        uploads.delete(query.uploadId);
        res.writeHead(204);
        return res.end();
      }
    }

    if (method === 'PUT') {
      if (header(req, 'x-amz-copy-source')) return sendError(res, 501, 'NotImplemented', 'CopyObject');
      const body = await readBody(req);
      const obj: StoredObject = {
        body,
        etag: createHash('md5').update(body).digest('hex'),
        modified: new Date(),
        contentType: header(req, 'content-type'),
        sse: header(req, 'x-amz-server-side-encryption'),
        kmsKeyId: header(req, 'x-amz-server-side-encryption-aws-kms-key-id'),
      };
      objects.set(key, obj); // replaced whole, only now that the body is complete
      res.writeHead(200, { etag: `"${obj.etag}"`, ...sseHeaders(obj) });
      return res.end();
    }
    if (method === 'GET' || head) {
      const o = objects.get(key);
      if (!o && options.missingAs403) return sendError(res, 403, 'AccessDenied', 'Access Denied', head);
      if (!o) return sendError(res, 404, 'NoSuchKey', `The specified key does not exist: ${key}`, head);
      res.writeHead(200, {
        'content-length': o.body.length,
        'content-type': o.contentType ?? 'application/octet-stream',
        etag: `"${o.etag}"`,
        'last-modified': o.modified.toUTCString(),
        ...sseHeaders(o),
      });
      return res.end(head ? undefined : o.body);
    }
    if (method === 'DELETE') {
      objects.delete(key);
      res.writeHead(204);
      return res.end();
    }
    await readBody(req);
    return sendError(res, 501, 'NotImplemented', `${method} on an object`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', err.message);
      else res.destroy(err);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    requests,
    faults,
    options,
    object: (bucket, key) => store.get(bucket)?.get(key),
    keys: (bucket) => [...(store.get(bucket)?.keys() ?? [])].sort(),
    env: {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
