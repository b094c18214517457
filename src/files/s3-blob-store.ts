// Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph): objects named by SHA-256, sent
// with that SHA-256 as x-amz-content-sha256 so the store itself rejects altered bytes. Requests
// are signed with AWS Signature Version 4; the secret key never leaves this module.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UppError } from '../domain/errors.js';
import { spool } from './blob-store.js';
import type { BlobStore, ByteRange, StoredBlob } from './blob-store.js';

export interface S3Settings {
  /** Base URL of the service, e.g. https://s3.eu-central-1.amazonaws.com or http://minio:9000. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A single PUT carries at most 5 GiB in S3. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const SHA256_HEX = /^[0-9a-f]{64}$/;

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export interface SignedRequest {
  headers: Record<string, string>;
}

/**
 * Signs a request (AWS Signature Version 4, service s3): every header given is signed, with
 * host, x-amz-date and x-amz-content-sha256 added. Returns the headers to send.
 */
export function signS3Request(
  request: { method: string; url: URL; headers: Record<string, string>; payloadSha256: string },
  credentials: { accessKeyId: string; secretAccessKey: string; region: string },
  at: Date,
): SignedRequest {
  const amzDate = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    host: request.url.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': request.payloadSha256,
  };
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name.toLowerCase()] = value.trim().replace(/\s+/g, ' ');
  }
  const names = Object.keys(headers).sort();
  const canonicalQuery = [...request.url.searchParams.entries()]
    .map(([key, value]) => `${uriEncode(key)}=${uriEncode(value)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    request.method,
    request.url.pathname
      .split('/')
      .map((segment) => uriEncode(decodeURIComponent(segment)))
      .join('/'),
    canonicalQuery,
    names.map((name) => `${name}:${headers[name]}\n`).join(''),
    names.join(';'),
    request.payloadSha256,
  ].join('\n');
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), credentials.region), 's3'),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  // fetch sets Host itself from the URL.
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'host'));
  return {
    headers: {
      ...sent,
      authorization:
        `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
        `SignedHeaders=${names.join(';')}, Signature=${signature}`,
    },
  };
}

export class S3BlobStore implements BlobStore {
  private readonly settings: S3Settings;
  private readonly spoolDir: string;

  /** `spoolDir` holds a blob while its hash is computed, before it is sent. */
  constructor(settings: S3Settings, spoolDir: string) {
    this.settings = settings;
    this.spoolDir = spoolDir;
  }

  private urlOf(sha256: string): URL {
    if (!SHA256_HEX.test(sha256)) {
      throw new UppError('blob.bad_hash', 400, 'a blob is named by 64 lowercase hex digits');
    }
    const base = this.settings.endpoint.replace(/\/+$/, '');
    return new URL(`${base}/${uriEncode(this.settings.bucket)}/${sha256.slice(0, 2)}/${sha256}`);
  }

  private async send(
    method: string,
    sha256: string,
    options: { headers?: Record<string, string>; payloadSha256?: string; body?: Readable } = {},
  ): Promise<Response> {
    const url = this.urlOf(sha256);
    const signed = signS3Request(
      {
        method,
        url,
        headers: options.headers ?? {},
        payloadSha256: options.payloadSha256 ?? EMPTY_SHA256,
      },
      this.settings,
      new Date(),
    );
    try {
      return await fetch(url, {
        method,
        headers: signed.headers,
        ...(options.body === undefined
          ? {}
          : { body: Readable.toWeb(options.body) as ReadableStream, duplex: 'half' }),
      } as RequestInit);
    } catch (error) {
      throw new UppError(
        'blob.store_unavailable',
        503,
        `the object store did not answer: ${error}`,
      );
    }
  }

  async put(source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<StoredBlob> {
    await mkdir(this.spoolDir, { recursive: true });
    const path = join(this.spoolDir, `${randomUUID()}.part`);
    try {
      return await this.adopt(path, await spool(source, path));
    } finally {
      await rm(path, { force: true });
    }
  }

  async adopt(path: string, known: StoredBlob): Promise<StoredBlob> {
    try {
      if (await this.has(known.sha256)) return known;
      if (known.size > MAX_SINGLE_PUT) {
        throw new UppError('blob.too_large', 413, 'the object store takes at most 5 GiB a blob');
      }
      const response = await this.send('PUT', known.sha256, {
        headers: { 'content-length': String(known.size) },
        payloadSha256: known.sha256,
        body: createReadStream(path),
      });
      if (!response.ok) {
        throw new UppError(
          'blob.store_failed',
          502,
          `the object store refused the blob: HTTP ${response.status}`,
        );
      }
      return known;
    } finally {
      await rm(path, { force: true });
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== undefined;
  }

  async size(sha256: string): Promise<number | undefined> {
    const response = await this.send('HEAD', sha256);
    if (response.status === 404) return undefined;
    if (!response.ok) {
      throw new UppError('blob.store_failed', 502, `object store HEAD: HTTP ${response.status}`);
    }
    return Number(response.headers.get('content-length'));
  }

  async open(sha256: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    if (range !== undefined) {
      const size = await this.size(sha256);
      if (size === undefined) throw new UppError('blob.not_found', 404, `no blob ${sha256}`);
      const valid =
        Number.isSafeInteger(range.start) &&
        Number.isSafeInteger(range.end) &&
        range.start >= 0 &&
        range.start <= range.end &&
        range.end < size;
      if (!valid) {
        throw new UppError('blob.bad_range', 416, `the range is outside the blob's ${size} bytes`);
      }
    }
    const response = await this.send('GET', sha256, {
      headers: range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` },
    });
    if (response.status === 404) throw new UppError('blob.not_found', 404, `no blob ${sha256}`);
    if (!response.ok || response.body === null) {
      throw new UppError('blob.store_failed', 502, `object store GET: HTTP ${response.status}`);
    }
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }
}
