// Finished uploads as the rest of the platform sees them: whose they are, their size, name, type
// and SHA-256. Their bytes are in the blob store under that hash.
import { UppError } from '../domain/errors.js';
import type { Queryable } from '../store/database.js';

export interface CompletedUpload {
  id: string;
  ownerUserId: string;
  size: number;
  sha256: string;
  filename: string;
  filetype: string | null;
  metadata: Record<string, string>;
  completedAt: Date;
}

/** The upload table's row as both drivers return it (bigint columns come back as bigint). */
export interface UploadRow {
  id: string;
  owner_user_id: string;
  length: bigint | number | string;
  upload_offset: bigint | number | string;
  unverified_from: bigint | number | string | null;
  filename: string;
  filetype: string | null;
  metadata: Record<string, string> | string;
  status: 'receiving' | 'complete' | 'rejected' | 'expired' | 'terminated';
  rejection_code: string | null;
  sha256: string | null;
  created_at: Date | string;
  expires_at: Date | string;
  completed_at: Date | string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function uploadNotFound(uploadId: string): UppError {
  return new UppError('upload.not_found', 404, `no upload ${uploadId} of yours`);
}

/** The row of an upload owned by `ownerUserId`; unknown ids and others' uploads look the same. */
export async function ownedUploadRow(
  db: Queryable,
  uploadId: string,
  ownerUserId: string,
  lock = false,
): Promise<UploadRow> {
  if (!UUID.test(uploadId)) throw uploadNotFound(uploadId);
  const { rows } = await db.query<UploadRow>(
    `SELECT * FROM upload WHERE id = $1 AND owner_user_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [uploadId, ownerUserId],
  );
  const row = rows[0];
  if (row === undefined || row.status === 'terminated') throw uploadNotFound(uploadId);
  return row;
}

export function asDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function metadataOf(row: UploadRow): Record<string, string> {
  return typeof row.metadata === 'string'
    ? (JSON.parse(row.metadata) as Record<string, string>)
    : row.metadata;
}

/**
 * A finished, accepted upload of `ownerUserId`. Refuses with `upload.not_found` (404) for unknown
 * or others' uploads, `upload.incomplete` (409) while bytes are missing, and the rejection's own
 * code (e.g. `upload.type_mismatch`, 422) for an upload whose content was refused, and
 * `upload.expired` (410) for one left unfinished too long.
 */
export async function completedUpload(
  db: Queryable,
  uploadId: string,
  ownerUserId: string,
): Promise<CompletedUpload> {
  const row = await ownedUploadRow(db, uploadId, ownerUserId);
  if (row.status === 'rejected') {
    throw new UppError(
      row.rejection_code ?? 'upload.rejected',
      422,
      `upload ${uploadId} was refused and cannot be used`,
    );
  }
  if (row.status === 'expired') {
    throw new UppError('upload.expired', 410, `upload ${uploadId} expired before it was finished`);
  }
  if (row.status !== 'complete' || row.sha256 === null || row.completed_at === null) {
    throw new UppError(
      'upload.incomplete',
      409,
      `upload ${uploadId} has ${Number(row.upload_offset)} of ${Number(row.length)} bytes`,
    );
  }
  return {
    id: row.id,
    ownerUserId: row.owner_user_id,
    size: Number(row.length),
    sha256: row.sha256,
    filename: row.filename,
    filetype: row.filetype,
    metadata: metadataOf(row),
    completedAt: asDate(row.completed_at),
  };
}
