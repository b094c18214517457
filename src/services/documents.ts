// Documents: an owner signs uploaded files (an electronic copy, one file or the volumes of an
// archive) or structured content (an electronic document); readers get them by visibility.
import { UppError } from '../domain/errors.js';
import { completedUpload } from '../files/uploads.js';
import type { Queryable } from '../store/database.js';
import type { Session } from './auth.js';
import { signedAction } from './participants.js';
import type { ParticipantContext } from './participants.js';
import { issueReceipt } from './receipts.js';
import type { Receipt, ReceiptFile, ReceiptPki } from './receipts.js';
import type { SignedRequest } from './signed-document.js';

export const DOCUMENT_ACTION = 'document.sign';
export const LANGUAGES = ['kk', 'ru', 'en'] as const;
export const VISIBILITIES = ['public', 'parties'] as const;
export type Language = (typeof LANGUAGES)[number];
export type Visibility = (typeof VISIBILITIES)[number];

/** Most volumes a multi-volume archive may have (`.001` to `.999`). */
export const MAX_VOLUMES = 999;

export interface DocumentContext extends ParticipantContext {
  pki: ReceiptPki;
}

export interface SignedUpload {
  uploadId: string;
  sha256: string;
  size: number;
  name: string;
}

export interface DocumentFile extends ReceiptFile {
  mediaType: string | null;
}

export interface DocumentView {
  id: string;
  participantId: string;
  form: 'copy' | 'structured';
  type: string;
  titles: { kk: string; ru: string; en: string };
  language: Language;
  visibility: Visibility;
  /** SHA-256 (hex) of the canonical payload the owner signed. */
  sha256: string;
  createdAt: Date;
  files: DocumentFile[];
  content: Record<string, unknown> | null;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A name a file may carry: no path, no control characters, not a dot name. */
export function checkFileName(name: string): void {
  const bad =
    name.length === 0 ||
    name.length > 255 ||
    name === '.' ||
    name === '..' ||
    /[/\\]/.test(name) ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(name) ||
    LONE_SURROGATE.test(name);
  if (bad) {
    throw new UppError(
      'document.name_invalid',
      422,
      `not a safe file name: ${JSON.stringify(name)}`,
    );
  }
}

const VOLUME = /^(.+)\.(\d{3})$/;

/**
 * Several files form one document only as the volumes of one archive, listed in order:
 * `name.zip.001`, `name.zip.002`, ... with the same stem and no gap.
 */
export function checkVolumes(names: readonly string[]): void {
  if (names.length <= 1) return;
  if (names.length > MAX_VOLUMES) {
    throw new UppError('document.volumes_invalid', 422, `at most ${MAX_VOLUMES} volumes`);
  }
  const stem = VOLUME.exec(names[0] ?? '')?.[1];
  names.forEach((name, index) => {
    const match = VOLUME.exec(name);
    if (match === null || match[1] !== stem || Number(match[2]) !== index + 1) {
      throw new UppError(
        'document.volumes_invalid',
        422,
        `files of one document are the volumes ${stem ?? 'name'}.001, .002, ... in order; ` +
          `file ${index + 1} is ${JSON.stringify(name)}`,
      );
    }
  });
}

function text(payload: Record<string, unknown>, field: string): string {
  const value = payload[field];
  if (typeof value !== 'string') throw new UppError('document.invalid', 400, `${field} is needed`);
  return value;
}

function titlesOf(payload: Record<string, unknown>): DocumentView['titles'] {
  const titles = payload.titles as Partial<Record<Language, unknown>> | undefined;
  const read = (language: Language) => {
    const title = titles?.[language];
    if (typeof title !== 'string' || title.trim() === '') {
      throw new UppError('document.invalid', 400, `titles.${language} is needed`);
    }
    return title;
  };
  return { kk: read('kk'), ru: read('ru'), en: read('en') };
}

function uploadsOf(payload: Record<string, unknown>): SignedUpload[] {
  const uploads = payload.uploads;
  if (payload.form !== 'copy') {
    if (uploads !== undefined) {
      throw new UppError('document.invalid', 400, 'structured content has no uploads');
    }
    return [];
  }
  if (!Array.isArray(uploads) || uploads.length === 0) {
    throw new UppError('document.invalid', 400, 'an electronic copy lists its uploads');
  }
  return uploads as SignedUpload[];
}

/**
 * The uploads the owner signed must be theirs, finished, and exactly the bytes signed for:
 * same SHA-256 and size. Returns the files of the document in order.
 */
async function signedFiles(
  tx: Queryable,
  session: Session,
  uploads: readonly SignedUpload[],
): Promise<(DocumentFile & { uploadId: string })[]> {
  uploads.forEach((upload) => checkFileName(upload.name));
  checkVolumes(uploads.map((upload) => upload.name));
  if (new Set(uploads.map((upload) => upload.uploadId)).size !== uploads.length) {
    throw new UppError('document.invalid', 400, 'each upload is listed once');
  }
  const files: (DocumentFile & { uploadId: string })[] = [];
  for (const [index, upload] of uploads.entries()) {
    const stored = await completedUpload(tx, upload.uploadId, session.userId);
    if (stored.sha256 !== upload.sha256 || stored.size !== upload.size) {
      throw new UppError(
        'document.upload_mismatch',
        422,
        `upload ${upload.uploadId} is not the file that was signed (SHA-256 or size differ)`,
      );
    }
    files.push({
      uploadId: upload.uploadId,
      position: index + 1,
      name: upload.name,
      size: stored.size,
      sha256: stored.sha256,
      mediaType: stored.filetype,
    });
  }
  return files;
}

/**
 * Turns a signed request into a document with its receipt, in the transaction of the signed
 * action: a refusal at any step leaves only the audit entry of the attempt.
 */
export async function signDocument(
  ctx: DocumentContext,
  session: Session,
  request: SignedRequest,
): Promise<{ documentId: string; receipt: Receipt }> {
  const { payload } = request;
  const spec = {
    action: DOCUMENT_ACTION,
    participantId: text(payload, 'participantId'),
    actionClass: 'other',
  } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    const form = payload.form;
    if (form !== 'copy' && form !== 'structured') {
      throw new UppError('document.invalid', 400, 'form is copy or structured');
    }
    const content = payload.content;
    const structured = typeof content === 'object' && content !== null && !Array.isArray(content);
    if ((form === 'structured') !== structured) {
      throw new UppError(
        'document.invalid',
        400,
        'structured documents, and only they, have content',
      );
    }
    const language = text(payload, 'language') as Language;
    const visibility = text(payload, 'visibility') as Visibility;
    if (!LANGUAGES.includes(language) || !VISIBILITIES.includes(visibility)) {
      throw new UppError(
        'document.invalid',
        400,
        'language is kk, ru or en; visibility public or parties',
      );
    }
    const titles = titlesOf(payload);
    const files = await signedFiles(tx, session, uploadsOf(payload));
    await tx.query(
      `INSERT INTO document (id, participant_id, owner_user_id, form, type, title_kk, title_ru,
         title_en, language, visibility, content, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        documentId,
        spec.participantId,
        session.userId,
        form,
        text(payload, 'type'),
        titles.kk,
        titles.ru,
        titles.en,
        language,
        visibility,
        structured ? JSON.stringify(content) : null,
        now,
      ],
    );
    for (const file of files) {
      await tx.query(
        `INSERT INTO document_file (document_id, position, upload_id, name, media_type, size,
           sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          documentId,
          file.position,
          file.uploadId,
          file.name,
          file.mediaType,
          file.size,
          file.sha256,
        ],
      );
    }
    const receipt = await issueReceipt(tx, ctx.pki, ctx.clock, {
      documentId,
      files: files.map(({ position, name, size, sha256 }) => ({ position, name, size, sha256 })),
    });
    return { documentId, receipt };
  });
}

interface DocumentRow {
  id: string;
  participant_id: string;
  form: 'copy' | 'structured';
  type: string;
  title_kk: string;
  title_ru: string;
  title_en: string;
  language: Language;
  visibility: Visibility;
  content: Record<string, unknown> | null;
  created_at: Date;
  payload_sha256: string;
}

function notFound(id: string): UppError {
  return new UppError('document.not_found', 404, `no document ${id} you may read`);
}

/** The parties of a document: the owner participant's users and the operators' users. */
async function isParty(db: Queryable, session: Session | undefined, row: DocumentRow) {
  if (session === undefined) return false;
  const found = await db.query<{ allowed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM membership m LEFT JOIN participant p ON p.id = m.participant_id
                     WHERE m.user_id = $1 AND m.removed_at IS NULL
                       AND (m.participant_id = $2
                            OR p.roles && ARRAY['single_operator', 'operator'])) AS allowed`,
    [session.userId, row.participant_id],
  );
  return found.rows[0]?.allowed === true;
}

/**
 * A document as its reader may see it; a document the reader may not see is "not found", so
 * that its existence is not revealed. Public documents are open to every reader; what only the
 * parties see (the receipt, with the signer's IIN) asks for `audience` 'parties'.
 */
export async function readableDocument(
  db: Queryable,
  session: Session | undefined,
  id: string,
  audience: 'readers' | 'parties' = 'readers',
): Promise<DocumentView> {
  const found = await db.query<DocumentRow>(
    `SELECT d.id, d.participant_id, d.form, d.type, d.title_kk, d.title_ru, d.title_en,
            d.language, d.visibility, d.content, d.created_at, s.payload_sha256
       FROM document d JOIN signed_document s ON s.id = d.id WHERE d.id = $1`,
    [id],
  );
  const row = found.rows[0];
  const open = row?.visibility === 'public' && audience === 'readers';
  if (row === undefined || !(open || (await isParty(db, session, row)))) throw notFound(id);
  const files = await db.query<{
    position: number;
    name: string;
    size: bigint | number | string;
    sha256: string;
    media_type: string | null;
  }>(
    `SELECT position, name, size, sha256, media_type FROM document_file
      WHERE document_id = $1 ORDER BY position`,
    [id],
  );
  return {
    id: row.id,
    participantId: row.participant_id,
    form: row.form,
    type: row.type,
    titles: { kk: row.title_kk, ru: row.title_ru, en: row.title_en },
    language: row.language,
    visibility: row.visibility,
    sha256: row.payload_sha256,
    createdAt: row.created_at,
    files: files.rows.map((file) => ({
      position: file.position,
      name: file.name,
      size: Number(file.size),
      sha256: file.sha256,
      mediaType: file.media_type,
    })),
    content: row.content,
  };
}
