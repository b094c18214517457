// Receives resumable uploads: bytes go to `<data dir>/uploads/<id>.part` as they arrive, with
// SHA-256 kept running in memory; the stored file decides the offset after a crash, and a
// finished file moves into the blob store under its hash.
import { createHash, randomUUID } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { mkdir, open, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { UppError } from '../domain/errors.js';
import type { Database } from '../store/database.js';
import type { BlobStore } from './blob-store.js';
import { SAMPLE_BYTES, checkContent, declaredKinds } from './file-types.js';
import { CHECKSUM_ALGORITHMS, safeFilename } from './tus-headers.js';
import type { UploadChecksum } from './tus-headers.js';
import { asDate, metadataOf, ownedUploadRow, uploadNotFound } from './uploads.js';
import type { UploadRow } from './uploads.js';

/** The rules' largest part: 20 MiB. */
export const PART_MAX_BYTES = 20 * 1024 * 1024;
/** Received bytes are gathered up to this much before one write. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** Expired uploads whose files are removed when a new upload is created. */
const SWEEP_BATCH = 50;

export interface ReceiverSettings {
  dataDir: string;
  maxBytes: number;
  expiryMs: number;
  partMaxBytes?: number;
  blobs: BlobStore;
  clock: { now(): Date };
}

export interface UploadState {
  id: string;
  length: number;
  offset: number;
  metadata: Record<string, string>;
  /** Until when an unfinished upload may be continued; undefined once complete. */
  expiresAt: Date | undefined;
  sha256: string | undefined;
}

export interface NewUpload {
  length: number | undefined;
  metadata: Record<string, string>;
}

export interface Part {
  /** Where the client says the part starts (Upload-Offset). */
  offset: number;
  /** Content-Length when the client sent one. */
  declaredLength: number | undefined;
  body: AsyncIterable<Uint8Array>;
  checksum: UploadChecksum | undefined;
}

/** What this process knows of an upload beyond its row: the running hash and a lock. */
interface LiveUpload {
  offset: number;
  hash: Hash | undefined;
  busy: boolean;
  /** The flush to disk of the parts received so far, running while the next part arrives. */
  flushing?: Promise<void>;
}

class PartRefused extends Error {
  readonly refusal: UppError;

  constructor(refusal: UppError) {
    super(refusal.message);
    this.refusal = refusal;
  }
}

function stateOf(row: UploadRow, offset: number): UploadState {
  const complete = row.status === 'complete';
  return {
    id: row.id,
    length: Number(row.length),
    offset,
    metadata: metadataOf(row),
    expiresAt: complete ? undefined : asDate(row.expires_at),
    sha256: complete ? (row.sha256 ?? undefined) : undefined,
  };
}

/**
 * Flushes a part file to disk without holding up the reply: a killed process loses nothing that
 * was written, and the completion waits for the flush (and flushes again) before the file counts.
 */
function flushInBackground(path: string, previous: Promise<void> | undefined): Promise<void> {
  return (previous ?? Promise.resolve())
    .then(async () => {
      const handle = await open(path, 'r');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    })
    .catch(() => undefined);
}

async function* noBytes(): AsyncIterable<Uint8Array> {}

/** Read afresh: recovery may have finished the upload since the status was last checked. */
function isComplete(row: UploadRow): boolean {
  return row.status === 'complete';
}

async function sizeOnDisk(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export class UploadReceiver {
  private readonly live = new Map<string, LiveUpload>();
  private readonly db: Database;
  private readonly settings: ReceiverSettings;
  private readonly partMaxBytes: number;

  constructor(db: Database, settings: ReceiverSettings) {
    this.db = db;
    this.settings = settings;
    this.partMaxBytes = settings.partMaxBytes ?? PART_MAX_BYTES;
  }

  get maxBytes(): number {
    return this.settings.maxBytes;
  }

  private dir(): string {
    return join(this.settings.dataDir, 'uploads');
  }

  private pathOf(id: string): string {
    return join(this.dir(), `${id}.part`);
  }

  /** Creates an upload of `ownerUserId` (tus creation); its bytes may follow in `append`. */
  async create(ownerUserId: string, request: NewUpload): Promise<UploadState> {
    const { length, metadata } = request;
    if (length === undefined) {
      throw new UppError('upload.length_required', 400, 'send Upload-Length with the file size');
    }
    if (length === 0) throw new UppError('upload.empty', 400, 'an empty file cannot be uploaded');
    if (length > this.settings.maxBytes) {
      throw new UppError(
        'upload.too_large',
        413,
        `the file is ${length} bytes; at most ${this.settings.maxBytes} are accepted`,
      );
    }
    const filename = safeFilename(metadata.filename);
    const filetype = metadata.filetype ?? metadata.type ?? null;
    declaredKinds(filename, filetype);
    await this.sweepExpired();
    const id = randomUUID();
    const now = this.settings.clock.now();
    const expiresAt = new Date(now.getTime() + this.settings.expiryMs);
    await mkdir(this.dir(), { recursive: true });
    await (await open(this.pathOf(id), 'wx')).close();
    const { rows } = await this.db.query<UploadRow>(
      `INSERT INTO upload (id, owner_user_id, length, filename, filetype, metadata, created_at,
         expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [id, ownerUserId, length, filename, filetype, JSON.stringify(metadata), now, expiresAt],
    );
    this.live.set(id, { offset: 0, hash: createHash('sha256'), busy: false });
    return stateOf(rows[0] as UploadRow, 0);
  }

  /** The upload's state (tus HEAD); after a restart the stored file decides the offset. */
  async state(ownerUserId: string, id: string): Promise<UploadState> {
    const row = await this.usableRow(ownerUserId, id);
    if (row.status === 'complete') return stateOf(row, Number(row.length));
    const live = this.live.get(id);
    if (live !== undefined) return stateOf(row, live.offset);
    const offset = await this.recoverOffset(row);
    if (offset === Number(row.length) && row.status === 'receiving') {
      // Every byte arrived before a crash but the upload was not finished: finish it now.
      return this.append(ownerUserId, id, {
        offset,
        declaredLength: 0,
        body: noBytes(),
        checksum: undefined,
      });
    }
    return stateOf(row, offset);
  }

  /** Writes one part (tus PATCH); completes the upload when its last byte arrives. */
  async append(ownerUserId: string, id: string, part: Part): Promise<UploadState> {
    const row = await this.usableRow(ownerUserId, id);
    const length = Number(row.length);
    if (row.status === 'complete') {
      if (part.offset === length && (part.declaredLength ?? 0) === 0) return stateOf(row, length);
      throw new UppError('upload.offset_mismatch', 409, `the upload is complete at ${length}`);
    }
    let live = this.live.get(id);
    if (live?.busy === true) {
      throw new UppError('upload.locked', 423, 'another request is writing to this upload');
    }
    if (live === undefined) {
      const reserved: LiveUpload = { offset: 0, hash: undefined, busy: true };
      this.live.set(id, reserved);
      try {
        reserved.offset = await this.recoverOffset(row);
      } catch (error) {
        this.live.delete(id);
        throw error;
      }
      if (isComplete(row)) {
        this.live.delete(id);
        return stateOf(row, length);
      }
      live = reserved;
    } else {
      live.busy = true;
    }
    try {
      return await this.receive(row, live, part);
    } finally {
      live.busy = false;
    }
  }

  /** Ends an upload and deletes its stored bytes (tus termination). */
  async terminate(ownerUserId: string, id: string): Promise<void> {
    const row = await ownedUploadRow(this.db, id, ownerUserId);
    if (this.live.get(id)?.busy === true) {
      throw new UppError('upload.locked', 423, 'another request is writing to this upload');
    }
    await this.db.query(`UPDATE upload SET status = 'terminated' WHERE id = $1`, [row.id]);
    this.live.delete(id);
    await rm(this.pathOf(id), { force: true });
  }

  /** Removes the stored bytes of uploads whose time ran out; their rows answer upload.expired. */
  async sweepExpired(): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM upload WHERE status = 'receiving' AND expires_at <= $1
         ORDER BY expires_at LIMIT ${SWEEP_BATCH}`,
      [this.settings.clock.now()],
    );
    let swept = 0;
    for (const { id } of rows) {
      if (this.live.get(id)?.busy === true) continue;
      await this.expire(id);
      swept += 1;
    }
    return swept;
  }

  private async expire(id: string): Promise<void> {
    this.live.delete(id);
    await rm(this.pathOf(id), { force: true });
    await this.db.query(`UPDATE upload SET status = 'expired' WHERE id = $1`, [id]);
  }

  private async usableRow(ownerUserId: string, id: string): Promise<UploadRow> {
    const row = await ownedUploadRow(this.db, id, ownerUserId);
    if (row.status === 'rejected') {
      throw new UppError(
        row.rejection_code ?? 'upload.rejected',
        422,
        `upload ${id} was refused and cannot be continued`,
      );
    }
    const expired =
      row.status === 'receiving' && asDate(row.expires_at) <= this.settings.clock.now();
    if (expired && this.live.get(id)?.busy !== true) await this.expire(id);
    if (expired || row.status === 'expired') {
      throw new UppError('upload.expired', 410, `upload ${id} expired and its bytes are gone`);
    }
    return row;
  }

  /**
   * After a restart: the stored file is a prefix of what the client sent, except for a part
   * with a checksum that was not yet checked, which is dropped. The row catches up with the file.
   */
  private async recoverOffset(row: UploadRow): Promise<number> {
    const path = this.pathOf(row.id);
    const length = Number(row.length);
    const onDisk = await sizeOnDisk(path);
    if (onDisk === undefined) {
      if (row.sha256 !== null && (await this.settings.blobs.has(row.sha256))) {
        // The process died after moving the file into the blob store but before recording it.
        await this.markComplete(row.id, row.sha256);
        row.status = 'complete';
        return length;
      }
      throw uploadNotFound(row.id);
    }
    let offset = Math.min(onDisk, length);
    if (row.unverified_from !== null) offset = Math.min(offset, Number(row.unverified_from));
    if (offset !== onDisk) await truncate(path, offset);
    if (offset !== Number(row.upload_offset) || row.unverified_from !== null) {
      await this.db.query(
        'UPDATE upload SET upload_offset = $2, unverified_from = NULL WHERE id = $1',
        [row.id, offset],
      );
    }
    return offset;
  }

  /** Hashes the stored prefix once, when a part arrives for an upload this process did not see. */
  private async runningHash(id: string, live: LiveUpload): Promise<Hash> {
    if (live.hash !== undefined) return live.hash;
    const hash = createHash('sha256');
    if (live.offset > 0) {
      const handle = await open(this.pathOf(id), 'r');
      try {
        for await (const chunk of handle.createReadStream({ start: 0, end: live.offset - 1 })) {
          hash.update(chunk as Buffer);
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
    live.hash = hash;
    return hash;
  }

  private async receive(row: UploadRow, live: LiveUpload, part: Part): Promise<UploadState> {
    const length = Number(row.length);
    const start = live.offset;
    if (part.offset !== start) {
      throw new UppError(
        'upload.offset_mismatch',
        409,
        `Upload-Offset is ${part.offset} but the upload has ${start} bytes`,
      );
    }
    if (part.declaredLength !== undefined) {
      const refusal = this.partSizeRefusal(part.declaredLength, start, length);
      if (refusal !== undefined) throw refusal;
    }
    const path = this.pathOf(row.id);
    const hash = (await this.runningHash(row.id, live)).copy();
    const checksumAlgorithm =
      part.checksum === undefined ? undefined : CHECKSUM_ALGORITHMS[part.checksum.algorithm];
    const partDigest = checksumAlgorithm === undefined ? undefined : createHash(checksumAlgorithm);
    if (partDigest !== undefined) {
      await this.db.query('UPDATE upload SET unverified_from = $2 WHERE id = $1', [row.id, start]);
    }
    const handle = await open(path, 'r+');
    let received = 0;
    let written = 0;
    let failure: unknown;
    try {
      // One batch is written while the next is received, so the socket is rarely paused.
      let writing: Promise<void> = Promise.resolve();
      let batch: Buffer[] = [];
      let batched = 0;
      let queued = 0;
      const flush = () => {
        if (batched === 0) return;
        const buffers = batch;
        const size = batched;
        const position = start + queued;
        queued += size;
        batch = [];
        batched = 0;
        writing = writing.then(async () => {
          await handle.writev(buffers, position);
          written += size;
        });
      };
      try {
        for await (const data of part.body) {
          const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data);
          const refusal = this.partSizeRefusal(received + chunk.length, start, length);
          if (refusal !== undefined) throw new PartRefused(refusal);
          received += chunk.length;
          hash.update(chunk);
          partDigest?.update(chunk);
          batch.push(chunk);
          batched += chunk.length;
          if (batched >= WRITE_BATCH_BYTES) {
            await writing;
            flush();
          }
        }
      } catch (error) {
        failure = error;
      }
      // Bytes that arrived before a dropped connection are kept; a refused part is not.
      if (!(failure instanceof PartRefused)) flush();
      await writing;
    } finally {
      await handle.close();
    }
    const refusal =
      failure instanceof PartRefused
        ? failure.refusal
        : this.checksumRefusal(part.checksum, partDigest, failure);
    if (refusal !== undefined) {
      await truncate(path, start);
      await this.db.query('UPDATE upload SET unverified_from = NULL WHERE id = $1', [row.id]);
      throw refusal;
    }
    const offset = start + written;
    live.offset = offset;
    live.hash = hash;
    live.flushing = flushInBackground(path, live.flushing);
    await this.db.query(
      'UPDATE upload SET upload_offset = $2, unverified_from = NULL WHERE id = $1',
      [row.id, offset],
    );
    if (failure !== undefined) throw failure;
    if (offset < length) return stateOf(row, offset);
    await live.flushing;
    return this.complete(row, hash.digest('hex'));
  }

  /** Why a part of `partBytes` from `start` cannot be taken, if it cannot. */
  private partSizeRefusal(partBytes: number, start: number, length: number): UppError | undefined {
    if (partBytes > this.partMaxBytes) {
      return new UppError(
        'upload.part_too_large',
        413,
        `a part may carry at most ${this.partMaxBytes} bytes; the upload stays at ${start}`,
      );
    }
    if (start + partBytes > length) {
      return new UppError(
        'upload.too_large',
        413,
        `the part goes past the declared length of ${length} bytes`,
      );
    }
    return undefined;
  }

  /** A part with a checksum counts only when it arrived whole and its digest matches. */
  private checksumRefusal(
    checksum: UploadChecksum | undefined,
    digest: Hash | undefined,
    failure: unknown,
  ): UppError | undefined {
    if (checksum === undefined || digest === undefined) return undefined;
    if (failure !== undefined) {
      return new UppError('upload.interrupted', 400, 'the part did not arrive whole');
    }
    if (!digest.digest().equals(checksum.digest)) {
      return new UppError(
        'upload.checksum_mismatch',
        460,
        `the part's ${checksum.algorithm} does not match Upload-Checksum; send it again`,
      );
    }
    return undefined;
  }

  /** Checks the content against its declared type and moves it into the blob store. */
  private async complete(row: UploadRow, sha256: string): Promise<UploadState> {
    const path = this.pathOf(row.id);
    const length = Number(row.length);
    const handle = await open(path, 'r');
    const head = Buffer.alloc(Math.min(SAMPLE_BYTES, length));
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
    try {
      checkContent(declaredKinds(row.filename, row.filetype), head, length <= SAMPLE_BYTES);
    } catch (error) {
      const code = error instanceof UppError ? error.code : 'upload.rejected';
      await this.db.query(
        `UPDATE upload SET status = 'rejected', rejection_code = $2 WHERE id = $1`,
        [row.id, code],
      );
      this.live.delete(row.id);
      await rm(path, { force: true });
      throw error;
    }
    await this.db.query('UPDATE upload SET sha256 = $2 WHERE id = $1', [row.id, sha256]);
    await this.settings.blobs.adopt(path, { sha256, size: length });
    await this.markComplete(row.id, sha256);
    this.live.delete(row.id);
    return { ...stateOf(row, length), expiresAt: undefined, sha256 };
  }

  private async markComplete(id: string, sha256: string): Promise<void> {
    await this.db.query(
      `UPDATE upload SET status = 'complete', sha256 = $2, upload_offset = length,
         unverified_from = NULL, completed_at = $3 WHERE id = $1`,
      [id, sha256, this.settings.clock.now()],
    );
  }
}
