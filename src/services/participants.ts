// Participants and their users: registration as a signed document, users and rights granted by
// the first head, category confirmation by operators, operator designation by an administrator,
// and the public registry.
import { randomUUID } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { NCA_TEST_NUMBERS, parseBin, parseIin } from '../domain/identity.js';
import { RIGHTS, checkSigner } from '../domain/participants.js';
import type {
  Category,
  Membership,
  ParticipantIdentity,
  ParticipantKind,
  Right,
  SignedActionClass,
} from '../domain/participants.js';
import type { Database, Queryable } from '../store/database.js';
import { appendAudit, recordAudit } from './audit.js';
import type { Session } from './auth.js';
import {
  expectAction,
  payloadText,
  spendNonce,
  storeSignedDocument,
  verifySignedRequest,
} from './signed-document.js';
import type { SignatureVerifier, SignedRequest, VerifiedSignature } from './signed-document.js';

export interface ParticipantContext {
  db: Database;
  verifier: SignatureVerifier;
  clock: { now(): Date };
  /** Outside production the NCA RK test numbers (which fail the check digit) are accepted. */
  acceptTestNumbers: boolean;
}

export interface RegistrationDetails {
  kind: ParticipantKind;
  bin?: string;
  iin?: string;
  headBin?: string;
  foreignRegistration?: string;
  country?: string;
  names: { kk: string; ru: string };
  address: { kato: string; text: string };
  bank?: { iban: string; bic: string; bankName?: string };
  contacts: { email?: string; phone?: string };
  roles: string[];
  categories?: Category[];
}

/** A number a person typed is checked, except the NCA RK test numbers where allowed. */
function checkNumber(ctx: ParticipantContext, kind: 'iin' | 'bin', value: string): void {
  if (ctx.acceptTestNumbers && NCA_TEST_NUMBERS.includes(value)) return;
  if (kind === 'iin') parseIin(value);
  else parseBin(value);
}

function checkRegistrationNumbers(ctx: ParticipantContext, details: RegistrationDetails): void {
  if (details.bin !== undefined) checkNumber(ctx, 'bin', details.bin);
  if (details.headBin !== undefined) checkNumber(ctx, 'bin', details.headBin);
  if (details.iin !== undefined) checkNumber(ctx, 'iin', details.iin);
  const needs: Partial<Record<ParticipantKind, (keyof RegistrationDetails)[]>> = {
    legal_entity: ['bin'],
    branch: ['bin', 'headBin'],
    individual_entrepreneur: ['iin'],
    individual: ['iin'],
    non_resident: ['foreignRegistration', 'country'],
  };
  for (const field of needs[details.kind] ?? []) {
    if (details[field] === undefined) {
      throw new UppError('participant.field_missing', 422, `a ${details.kind} needs ${field}`);
    }
  }
}

/**
 * Runs a signed action; a refusal leaves an audit entry of the attempt, by its code alone (never
 * its content), and nothing else.
 */
export async function attempt<T>(
  ctx: Pick<ParticipantContext, 'db' | 'clock'>,
  action: string,
  actor: () => string,
  work: () => Promise<T>,
  target?: string,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UppError) {
      await recordAudit(ctx.db, ctx.clock, {
        actor: actor(),
        action: `${action}.refused`,
        ...(target === undefined ? {} : { target }),
        details: { code: error.code },
      });
    }
    throw error;
  }
}

async function userFor(
  tx: Queryable,
  person: { key: string; iin: string | undefined },
  fullName: string,
  now: Date,
): Promise<string> {
  const found = await tx.query<{ id: string }>(
    `INSERT INTO user_account (id, identity, iin, full_name, created_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (identity) DO UPDATE SET full_name = user_account.full_name
     RETURNING id`,
    [randomUUID(), person.key, person.iin ?? null, fullName, now],
  );
  return found.rows[0]!.id;
}

export async function registerParticipant(
  ctx: ParticipantContext,
  request: SignedRequest,
): Promise<{ participantId: string; documentId: string }> {
  let signer: string | undefined;
  return attempt(
    ctx,
    'participant.register',
    () => signer ?? 'anonymous',
    async () => {
      expectAction(request.payload, 'participant.register');
      const details = request.payload.participant as RegistrationDetails;
      checkRegistrationNumbers(ctx, details);
      const now = ctx.clock.now();
      const verified = await verifySignedRequest(ctx.verifier, request, now, 'sign');
      signer = verified.identity.key;
      const identity: ParticipantIdentity = {
        kind: details.kind,
        bin: details.bin ?? null,
        iin: details.iin ?? null,
      };
      checkSigner('registration', verified.identity, identity, undefined);
      return ctx.db.transaction(async (tx) => {
        await spendNonce(tx, request.payload.nonce, 'action', now);
        const headId = await headParticipant(tx, details);
        await refuseDuplicate(tx, details);
        const document = await storeSignedDocument(
          tx,
          'participant.register',
          null,
          request,
          verified,
          now,
        );
        const participantId = randomUUID();
        await insertParticipant(tx, participantId, headId, details, document.id, now);
        await tx.query('UPDATE signed_document SET participant_id = $2 WHERE id = $1', [
          document.id,
          participantId,
        ]);
        const userId = await userFor(tx, verified.identity, signerName(verified), now);
        await tx.query(
          `INSERT INTO membership (user_id, participant_id, rights, first_head, added_at)
         VALUES ($1, $2, $3, true, $4)`,
          [userId, participantId, [...RIGHTS], now],
        );
        for (const category of details.categories ?? []) {
          await tx.query(
            `INSERT INTO participant_category (participant_id, category, status, requested_at)
           VALUES ($1, $2, 'pending', $3)`,
            [participantId, category, now],
          );
        }
        await appendAudit(tx, ctx.clock, {
          actor: verified.identity.key,
          action: 'participant.registered',
          target: `participant:${participantId}`,
          details: { kind: details.kind, documentId: document.id },
        });
        return { participantId, documentId: document.id };
      });
    },
  );
}

function signerName(verified: VerifiedSignature): string {
  return verified.signer.subject.commonName ?? verified.signer.serial;
}

async function headParticipant(
  tx: Queryable,
  details: RegistrationDetails,
): Promise<string | null> {
  if (details.kind !== 'branch') return null;
  const head = await tx.query<{ id: string }>(
    "SELECT id FROM participant WHERE bin = $1 AND kind = 'legal_entity'",
    [details.headBin],
  );
  const id = head.rows[0]?.id;
  if (id === undefined) {
    throw new UppError(
      'participant.head_not_registered',
      422,
      'the head organisation of a branch registers first',
    );
  }
  return id;
}

async function refuseDuplicate(tx: Queryable, details: RegistrationDetails): Promise<void> {
  const existing = await tx.query(
    `SELECT 1 FROM participant
      WHERE ($1::text IS NOT NULL AND bin = $1)
         OR ($1::text IS NULL AND $2::text IS NOT NULL AND iin = $2 AND kind = $3)
         OR ($4::text IS NOT NULL AND foreign_registration = $4 AND country = $5)`,
    [
      details.bin ?? null,
      details.iin ?? null,
      details.kind,
      details.foreignRegistration ?? null,
      details.country ?? null,
    ],
  );
  if (existing.rows.length > 0) {
    throw new UppError('participant.already_registered', 409, 'this participant is registered');
  }
}

async function insertParticipant(
  tx: Queryable,
  id: string,
  headId: string | null,
  details: RegistrationDetails,
  documentId: string,
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO participant (id, kind, bin, iin, foreign_registration, country,
       head_participant_id, name_kk, name_ru, address, bank, contacts, roles, registered_at,
       registration_document_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      id,
      details.kind,
      details.bin ?? null,
      details.iin ?? null,
      details.foreignRegistration ?? null,
      details.country ?? null,
      headId,
      details.names.kk,
      details.names.ru,
      JSON.stringify(details.address),
      details.bank === undefined ? null : JSON.stringify(details.bank),
      JSON.stringify(details.contacts),
      [...new Set(details.roles)],
      now,
      documentId,
    ],
  );
}

export interface ActingParticipant {
  identity: ParticipantIdentity;
  roles: string[];
  membership: Membership;
}

/** A participant and the session user's membership in it, as `actingFromRow` reads them. */
export interface MembershipRow {
  kind: ParticipantKind;
  bin: string | null;
  iin: string | null;
  roles: string[];
  first_head: boolean;
  rights: Right[];
}

/** The membership row (MembershipRow) of a user in an active participant, given parameters. */
export function membershipSql(participant: string, user: string): string {
  return `SELECT p.kind, p.bin, p.iin, p.roles, m.first_head, m.rights
    FROM participant p JOIN membership m ON m.participant_id = p.id
   WHERE p.id = ${participant} AND m.user_id = ${user} AND m.removed_at IS NULL
     AND p.status = 'active'`;
}

/** The session must act for the participant a signed document names. */
export function checkActingFor(session: Session, participantId: string): void {
  if (session.actingParticipantId !== participantId) {
    throw new UppError('session.acting_for_other', 403, 'act for this participant first');
  }
}

/** The acting participant from its membership row; no row: the user is not its member. */
export function actingFromRow(row: MembershipRow | null | undefined): ActingParticipant {
  if (row === undefined || row === null) {
    throw new UppError('access.not_member', 403, 'you are not a user of that participant');
  }
  return {
    identity: { kind: row.kind, bin: row.bin, iin: row.iin },
    roles: row.roles,
    membership: { firstHead: row.first_head, rights: row.rights },
  };
}

export async function actingParticipant(
  tx: Queryable,
  session: Session,
  participantId: string,
): Promise<ActingParticipant> {
  checkActingFor(session, participantId);
  const found = await tx.query<MembershipRow>(membershipSql('$1', '$2'), [
    participantId,
    session.userId,
  ]);
  return actingFromRow(found.rows[0]);
}

/**
 * The common frame of a signed action by a logged-in user for a participant: signature, the
 * signer is the session's user, acting for the participant, allowed by the policy; then `work`
 * runs in the same transaction that spends the nonce and stores the document.
 */
export async function signedAction<T>(
  ctx: ParticipantContext,
  session: Session,
  request: SignedRequest,
  spec: { action: string; participantId: string; actionClass: SignedActionClass },
  work: (tx: Queryable, acting: ActingParticipant, documentId: string, now: Date) => Promise<T>,
): Promise<T> {
  return attempt(
    ctx,
    spec.action,
    () => session.identity,
    async () => {
      expectAction(request.payload, spec.action);
      const now = ctx.clock.now();
      const verified = await verifySignedRequest(ctx.verifier, request, now, 'sign');
      if (verified.identity.key !== session.identity) {
        throw new UppError('signer.not_session_user', 403, 'sign with your own certificate');
      }
      return ctx.db.transaction(async (tx) => {
        const acting = await actingParticipant(tx, session, spec.participantId);
        checkSigner(spec.actionClass, verified.identity, acting.identity, acting.membership);
        await spendNonce(tx, request.payload.nonce, 'action', now);
        const document = await storeSignedDocument(
          tx,
          spec.action,
          spec.participantId,
          request,
          verified,
          now,
        );
        const result = await work(tx, acting, document.id, now);
        await appendAudit(tx, ctx.clock, {
          actor: session.identity,
          action: spec.action,
          target: `participant:${spec.participantId}`,
          details: { documentId: document.id },
        });
        return result;
      });
    },
  );
}

export async function addMember(
  ctx: ParticipantContext,
  session: Session,
  request: SignedRequest,
): Promise<{ userId: string }> {
  const participantId = payloadText(request.payload, 'participantId');
  const iin = payloadText(request.payload, 'iin');
  checkNumber(ctx, 'iin', iin);
  const spec = {
    action: 'participant.member.add',
    participantId,
    actionClass: 'user_management',
  } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, _doc, now) => {
    const person = { key: `iin:${iin}`, iin };
    const userId = await userFor(tx, person, payloadText(request.payload, 'fullName'), now);
    const rights = (request.payload.rights as Right[]) ?? [];
    const added = await tx.query(
      `INSERT INTO membership (user_id, participant_id, rights, added_at, added_by_user_id)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (user_id, participant_id) DO UPDATE
         SET rights = EXCLUDED.rights, removed_at = NULL, added_at = EXCLUDED.added_at,
             added_by_user_id = EXCLUDED.added_by_user_id
         WHERE membership.removed_at IS NOT NULL`,
      [userId, participantId, rights, now, session.userId],
    );
    if (added.rowCount === 0) {
      throw new UppError('member.already_added', 409, 'this person is already a user here');
    }
    return { userId };
  });
}

export async function changeMember(
  ctx: ParticipantContext,
  session: Session,
  request: SignedRequest,
  change: 'remove' | 'rights',
): Promise<void> {
  const participantId = payloadText(request.payload, 'participantId');
  const iin = payloadText(request.payload, 'iin');
  const action = change === 'remove' ? 'participant.member.remove' : 'participant.member.rights';
  const spec = { action, participantId, actionClass: 'user_management' } as const;
  await signedAction(ctx, session, request, spec, async (tx, _acting, _doc, now) => {
    const target = await tx.query<{ user_id: string; first_head: boolean }>(
      `SELECT m.user_id, m.first_head FROM membership m JOIN user_account u ON u.id = m.user_id
        WHERE m.participant_id = $1 AND u.iin = $2 AND m.removed_at IS NULL`,
      [participantId, iin],
    );
    const member = target.rows[0];
    if (member === undefined) {
      throw new UppError('member.not_found', 404, 'no such user of this participant');
    }
    if (member.first_head) {
      throw new UppError('member.first_head', 409, "the first head's access follows the BIN");
    }
    if (change === 'remove') {
      await tx.query(
        'UPDATE membership SET removed_at = $3 WHERE user_id = $1 AND participant_id = $2',
        [member.user_id, participantId, now],
      );
      await tx.query(
        `UPDATE session SET ended_at = $2
          WHERE user_id = $1 AND acting_participant_id = $3 AND ended_at IS NULL`,
        [member.user_id, now, participantId],
      );
    } else {
      await tx.query(
        'UPDATE membership SET rights = $3 WHERE user_id = $1 AND participant_id = $2',
        [member.user_id, participantId, request.payload.rights as Right[]],
      );
    }
  });
}

const OPERATOR_ROLE_NAMES = ['single_operator', 'operator'];

/** An operator confirms or rejects a category that changes fees. */
export async function decideCategory(
  ctx: ParticipantContext,
  session: Session,
  request: SignedRequest,
): Promise<void> {
  const operatorId = payloadText(request.payload, 'operatorId');
  const subjectId = payloadText(request.payload, 'participantId');
  const category = payloadText(request.payload, 'category');
  const decision = payloadText(request.payload, 'decision');
  const spec = {
    action: 'operator.category.decide',
    participantId: operatorId,
    actionClass: 'other',
  } as const;
  await signedAction(ctx, session, request, spec, async (tx, acting, documentId, now) => {
    if (!acting.roles.some((role) => OPERATOR_ROLE_NAMES.includes(role))) {
      throw new UppError('access.not_operator', 403, 'only an operator decides categories');
    }
    const decided = await tx.query(
      `UPDATE participant_category
          SET status = $3, decided_at = $4, decided_by_participant_id = $5,
              decision_document_id = $6, reason = $7
        WHERE participant_id = $1 AND category = $2 AND status = 'pending'`,
      [subjectId, category, decision, now, operatorId, documentId, request.payload.reason ?? null],
    );
    if (decided.rowCount === 0) {
      throw new UppError('category.not_pending', 409, 'no pending request for this category');
    }
  });
}

/** An administrator of the authorized body makes a participant an operator. */
export async function designateOperator(
  ctx: ParticipantContext,
  session: Session,
  request: SignedRequest,
): Promise<void> {
  await attempt(
    ctx,
    'admin.operator.designate',
    () => session.identity,
    async () => {
      expectAction(request.payload, 'admin.operator.designate');
      if (!session.administrator) {
        throw new UppError('access.not_administrator', 403, 'only an administrator does this');
      }
      const participantId = payloadText(request.payload, 'participantId');
      const role = payloadText(request.payload, 'role');
      const now = ctx.clock.now();
      const verified = await verifySignedRequest(ctx.verifier, request, now, 'sign');
      if (verified.identity.key !== session.identity) {
        throw new UppError('signer.not_session_user', 403, 'sign with your own certificate');
      }
      await ctx.db.transaction(async (tx) => {
        await spendNonce(tx, request.payload.nonce, 'action', now);
        const document = await storeSignedDocument(
          tx,
          'admin.operator.designate',
          participantId,
          request,
          verified,
          now,
        );
        const updated = await tx.query(
          `UPDATE participant SET roles = array_append(array_remove(roles, $2), $2) WHERE id = $1`,
          [participantId, role],
        );
        if (updated.rowCount === 0) {
          throw new UppError('participant.not_found', 404, 'no such participant');
        }
        await appendAudit(tx, ctx.clock, {
          actor: session.identity,
          action: 'admin.operator.designated',
          target: `participant:${participantId}`,
          details: { role, documentId: document.id },
        });
      });
    },
  );
}

/** Makes a person an administrator of the platform (the `upp admin grant` command). */
export async function grantAdministrator(
  db: Database,
  clock: { now(): Date },
  iin: string,
  fullName: string,
): Promise<void> {
  parseIin(iin);
  await db.transaction(async (tx) => {
    const id = await userFor(tx, { key: `iin:${iin}`, iin }, fullName, clock.now());
    await tx.query('UPDATE user_account SET administrator = true WHERE id = $1', [id]);
    await appendAudit(tx, clock, {
      actor: 'cli',
      action: 'admin.granted',
      target: `user:${id}`,
      details: { iin },
    });
  });
}

export interface PublicParticipant {
  id: string;
  kind: ParticipantKind;
  bin: string | null;
  iin: string | null;
  foreignRegistration: string | null;
  country: string | null;
  names: { kk: string; ru: string };
  roles: string[];
  categories: string[];
  status: string;
  registeredAt: Date;
}

interface ParticipantRow {
  id: string;
  kind: ParticipantKind;
  bin: string | null;
  iin: string | null;
  foreign_registration: string | null;
  country: string | null;
  name_kk: string;
  name_ru: string;
  roles: string[];
  categories: string[];
  status: string;
  registered_at: Date;
}

const PUBLIC_COLUMNS = `p.id, p.kind, p.bin, p.iin, p.foreign_registration, p.country, p.name_kk,
  p.name_ru, p.roles, p.status, p.registered_at,
  ARRAY(SELECT category FROM participant_category c
         WHERE c.participant_id = p.id AND c.status = 'confirmed' ORDER BY category) AS categories`;

function publicView(row: ParticipantRow): PublicParticipant {
  return {
    id: row.id,
    kind: row.kind,
    bin: row.bin,
    iin: row.iin,
    foreignRegistration: row.foreign_registration,
    country: row.country,
    names: { kk: row.name_kk, ru: row.name_ru },
    roles: row.roles,
    categories: row.categories,
    status: row.status,
    registeredAt: row.registered_at,
  };
}

export interface RegistrySearch {
  q?: string;
  role?: string;
  kind?: string;
  limit: number;
  cursor?: { registeredAt: Date; id: string };
}

/** The public registry, newest first, with a (registered_at, id) cursor. */
export async function searchRegistry(
  db: Queryable,
  search: RegistrySearch,
): Promise<PublicParticipant[]> {
  const rows = await db.query<ParticipantRow>(
    `SELECT ${PUBLIC_COLUMNS} FROM participant p
      WHERE ($1::text IS NULL OR p.search @@ plainto_tsquery('simple', $1))
        AND ($2::text IS NULL OR $2 = ANY (p.roles))
        AND ($3::text IS NULL OR p.kind = $3)
        AND ($4::timestamptz IS NULL OR (p.registered_at, p.id) < ($4, $5::uuid))
      ORDER BY p.registered_at DESC, p.id DESC
      LIMIT $6`,
    [
      search.q ?? null,
      search.role ?? null,
      search.kind ?? null,
      search.cursor?.registeredAt ?? null,
      search.cursor?.id ?? null,
      search.limit,
    ],
  );
  return rows.rows.map(publicView);
}

export async function publicParticipant(
  db: Queryable,
  id: string,
): Promise<PublicParticipant | undefined> {
  const rows = await db.query<ParticipantRow>(
    `SELECT ${PUBLIC_COLUMNS} FROM participant p WHERE p.id = $1`,
    [id],
  );
  const row = rows.rows[0];
  return row === undefined ? undefined : publicView(row);
}

export interface PrivateParticipant extends PublicParticipant {
  address: unknown;
  bank: unknown;
  contacts: unknown;
  pendingCategories: string[];
  members: { iin: string; fullName: string; firstHead: boolean; rights: string[] }[];
}

/** Bank details, contacts and users: for the participant's own users and for operators. */
export async function privateParticipant(
  db: Queryable,
  session: Session,
  id: string,
): Promise<PrivateParticipant> {
  const allowed = await db.query<{ member: boolean; operator: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM membership WHERE user_id = $1 AND participant_id = $2
                      AND removed_at IS NULL) AS member,
            EXISTS (SELECT 1 FROM membership m JOIN participant o ON o.id = m.participant_id
                     WHERE m.user_id = $1 AND m.removed_at IS NULL
                       AND o.roles && ARRAY['single_operator', 'operator']) AS operator`,
    [session.userId, id],
  );
  const access = allowed.rows[0];
  if (access === undefined || (!access.member && !access.operator && !session.administrator)) {
    throw new UppError('access.denied', 403, "only the participant's users and operators");
  }
  const base = await publicParticipant(db, id);
  if (base === undefined) throw new UppError('participant.not_found', 404, 'no such participant');
  const details = await db.query<{ address: unknown; bank: unknown; contacts: unknown }>(
    'SELECT address, bank, contacts FROM participant WHERE id = $1',
    [id],
  );
  const pending = await db.query<{ category: string }>(
    "SELECT category FROM participant_category WHERE participant_id = $1 AND status = 'pending'",
    [id],
  );
  const members = await db.query<{
    iin: string;
    full_name: string;
    first_head: boolean;
    rights: string[];
  }>(
    `SELECT u.iin, u.full_name, m.first_head, m.rights FROM membership m
       JOIN user_account u ON u.id = m.user_id
      WHERE m.participant_id = $1 AND m.removed_at IS NULL ORDER BY m.first_head DESC, u.iin`,
    [id],
  );
  const row = details.rows[0]!;
  return {
    ...base,
    address: row.address,
    bank: row.bank,
    contacts: row.contacts,
    pendingCategories: pending.rows.map((p) => p.category),
    members: members.rows.map((m) => ({
      iin: m.iin,
      fullName: m.full_name,
      firstHead: m.first_head,
      rights: m.rights,
    })),
  };
}
