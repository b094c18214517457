// Content-addressed storage of file bytes: each blob is named by the lowercase hex SHA-256 of its
// content, written to a temporary file and renamed into place, so a blob is whole or absent.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError } from '../config/index.js';
import { UppError } from '../domain/errors.js';
import { S3BlobStore } from './s3-blob-store.js';
import type { S3Settings } from './s3-blob-store.js';

export interface StoredBlob {
  sha256: string;
  size: number;
}

/** An inclusive byte range, as in HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /** Streams `source` into the store; memory does not grow with its size. */
  put(source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<StoredBlob>;
  /**
   * Takes over a finished local file whose hash the caller computed while receiving it: the file
   * is moved (not copied) when the store is on the same file system, and removed from `path`.
   */
  adopt(path: string, known: StoredBlob): Promise<StoredBlob>;
  has(sha256: string): Promise<boolean>;
  size(sha256: string): Promise<number | undefined>;
  open(sha256: string, range?: ByteRange): Promise<NodeJS.ReadableStream>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkedHash(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) {
    throw new UppError('blob.bad_hash', 400, 'a blob is named by 64 lowercase hex digits');
  }
  return sha256;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Blobs as files `<dir>/<first two hex digits>/<sha256>`, temporary files in `<dir>/tmp`. */
export class FileSystemBlobStore implements BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(sha256: string): string {
    const hash = checkedHash(sha256);
    return join(this.dir, hash.slice(0, 2), hash);
  }

  async put(source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<StoredBlob> {
    const temporary = await this.temporaryPath();
    try {
      const stored = await spool(source, temporary);
      await syncFile(temporary);
      await this.settle(temporary, stored.sha256);
      return stored;
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async adopt(path: string, known: StoredBlob): Promise<StoredBlob> {
    checkedHash(known.sha256);
    await syncFile(path);
    await this.settle(path, known.sha256);
    return known;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== undefined;
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    const path = this.pathOf(sha256);
    const size = await this.size(sha256);
    if (size === undefined) throw new UppError('blob.not_found', 404, `no blob ${sha256}`);
    if (range !== undefined) {
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
    const handle = await open(path, 'r');
    return handle.createReadStream(
      range === undefined ? {} : { start: range.start, end: range.end },
    );
  }

  private async temporaryPath(): Promise<string> {
    const dir = join(this.dir, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${randomUUID()}.part`);
  }

  /** Renames into place; an existing blob with the same hash already holds the same bytes. */
  private async settle(path: string, sha256: string): Promise<void> {
    const target = this.pathOf(sha256);
    await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
    if ((await this.size(sha256)) !== undefined) {
      await rm(path, { force: true });
      return;
    }
    await rename(path, target);
  }
}

/** Writes a stream to a new file at `path`, hashing and counting it on the way. */
export async function spool(
  source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  path: string,
): Promise<StoredBlob> {
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(source, measure, createWriteStream(path, { flags: 'wx' }));
  return { sha256: hash.digest('hex'), size };
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The configuration that chooses the store; without `blobStore` the data directory's store. */
export interface BlobStoreConfig {
  dataDir: string;
  blobStore?: 'fs' | 's3';
  s3Endpoint?: string | undefined;
  s3Bucket?: string | undefined;
  s3Region?: string;
  s3AccessKeyId?: string | undefined;
  s3SecretAccessKey?: string | undefined;
}

function s3Settings(config: BlobStoreConfig): S3Settings {
  const required = {
    UPP_S3_ENDPOINT: config.s3Endpoint,
    UPP_S3_BUCKET: config.s3Bucket,
    UPP_S3_ACCESS_KEY_ID: config.s3AccessKeyId,
    UPP_S3_SECRET_ACCESS_KEY: config.s3SecretAccessKey,
  };
  for (const [name, value] of Object.entries(required)) {
    if (value === undefined) throw new ConfigError(name, 'a value when UPP_BLOB_STORE=s3', '');
  }
  return {
    endpoint: config.s3Endpoint ?? '',
    bucket: config.s3Bucket ?? '',
    region: config.s3Region ?? 'us-east-1',
    accessKeyId: config.s3AccessKeyId ?? '',
    secretAccessKey: config.s3SecretAccessKey ?? '',
  };
}

const stores = new Map<string, { store: BlobStore; chosen: boolean }>();

/**
 * The platform's one blob store for a data directory, shared by uploads and documents. A call
 * that names the store (`blobStore`, as the full configuration does) decides; a call with only
 * `dataDir` gets whatever was decided, or the file-system store.
 */
export function blobStoreFor(config: BlobStoreConfig): BlobStore {
  const known = stores.get(config.dataDir);
  if (known !== undefined && (known.chosen || config.blobStore === undefined)) return known.store;
  const store =
    config.blobStore === 's3'
      ? new S3BlobStore(s3Settings(config), join(config.dataDir, 'blobs', 'tmp'))
      : new FileSystemBlobStore(join(config.dataDir, 'blobs'));
  stores.set(config.dataDir, { store, chosen: config.blobStore !== undefined });
  return store;
}
