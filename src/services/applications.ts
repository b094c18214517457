// Applications of potential suppliers with sealed price offers: submitted, replaced or withdrawn
// with signed documents before the deadline, sealed on arrival with the procurement's key, and
// opened only by the chronograph at the deadline, which publishes the opening protocol.
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import { UppError } from '../domain/errors.js';
import { checkSigner } from '../domain/participants.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import { holdReference, insufficient, securityAmount } from '../domain/wallet.js';
import { isOpenForOffers } from '../domain/procurement-methods.js';
import { after } from '../domain/procurement-schedule.js';
import type { Queryable } from '../store/database.js';
import { PENDING_COLUMNS, appendAudit, pendingEntry } from './audit.js';
import type { PendingEntry } from './audit.js';
import type { Session } from './auth.js';
import { actingFromRow, attempt, checkActingFor, membershipSql } from './participants.js';
import type { MembershipRow } from './participants.js';
import type { ProcurementContext } from './procurements.js';
import {
  applyTransition,
  lockProcurement,
  methodOfRow,
  notFound,
  scheduleOf,
} from './procurement-state.js';
import type { ProcurementRow } from './procurement-state.js';
import { rememberAnswer } from './idempotency.js';
import type { IdempotentCall } from './idempotency.js';
import { receiptFor } from './receipts.js';
import type { Receipt, ReceiptPki } from './receipts.js';
import { newProcurementKeys, openingKey, seal, unseal } from './sealing.js';
import type { WrappingKey } from './sealing.js';
import {
  checkSpentNonce,
  expectAction,
  nonceOf,
  spendNonceSql,
  verifySignedRequest,
} from './signed-document.js';
import type { SpentNonce } from './signed-document.js';
import { availableSql, balance, checkGuarantee, release } from './wallet.js';
import type { SignedRequest, VerifiedSignature } from './signed-document.js';

export interface ApplicationContext extends ProcurementContext {
  sealing: WrappingKey;
  receipts: ReceiptPki;
}

/** What a supplier signs for each lot; the price never leaves the sealed envelope. */
export interface LotOffer {
  lotId: string;
  price: string;
  security?: { kind: 'wallet' } | { kind: 'guarantee'; documentId: string };
}

interface OpenProcurement {
  id: string;
  status: ProcurementRow['status'];
  /** A Date, or its ISO text where the row was read as JSON. */
  offers_end_at: Date | string | null;
  security_basis_points: number;
  customer_participant_id: string;
  organizer_participant_id: string;
  invited_participant_id: string | null;
  /** The key's DER, or its bytea text (\\x and hex) where the row was read as JSON. */
  public_key: Buffer | string | null;
  /** The lots with their amounts as text: fixed once the procurement is published. */
  lots: { id: string; number: number; amount: string }[] | null;
}

interface LotRow {
  id: string;
  number: number;
  amount: bigint;
}

function refuse(code: string, status: number, message: string): never {
  throw new UppError(code, status, message);
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Gives a procurement its key pair for sealed offers; called when it is published. */
export async function createProcurementKey(
  tx: Queryable,
  wrapping: WrappingKey,
  procurementId: string,
  now: Date,
): Promise<void> {
  const keys = newProcurementKeys(wrapping, procurementId);
  await tx.query(
    `INSERT INTO procurement_key (procurement_id, public_key, wrapped_private_key, created_at)
     VALUES ($1, $2, $3, $4) ON CONFLICT (procurement_id) DO NOTHING`,
    [procurementId, keys.publicKey, keys.wrappedPrivateKey, now],
  );
}

/**
 * The columns of OpenProcurement (procurement p, procurement_key k). The lots come along: their
 * numbers and amounts do not change once published, so a snapshot taken before the share lock
 * reads them as they are.
 */
const OPEN_PROCUREMENT_COLUMNS = `p.id, p.status, p.offers_end_at, p.security_basis_points,
  p.customer_participant_id, p.organizer_participant_id, p.invited_participant_id, k.public_key,
  (SELECT json_agg(json_build_object('id', l.id, 'number', l.number, 'amount', l.amount::text))
     FROM lot l WHERE l.procurement_id = p.id) AS lots`;

/**
 * Refuses an offer the procurement, read under its share lock, does not take at `now`. Acceptance
 * that the chronograph closed meanwhile is late too, once the clock has passed the deadline.
 */
function checkOpen(
  ctx: ApplicationContext,
  procurement: OpenProcurement | null | undefined,
  procurementId: string,
  now: Date,
): OpenProcurement {
  if (procurement === undefined || procurement === null || procurement.status === 'draft') {
    throw notFound(procurementId);
  }
  const deadline =
    procurement.offers_end_at === null ? null : new Date(procurement.offers_end_at).getTime();
  const open = isOpenForOffers(procurement.status);
  if (
    deadline !== null &&
    (now.getTime() >= deadline || (!open && ctx.clock.now().getTime() >= deadline))
  ) {
    const until = new Date(deadline).toISOString();
    refuse('offer.after_deadline', 409, `offers were accepted until ${until}`);
  }
  if (!open || procurement.public_key === null) {
    refuse('offer.not_accepted', 409, 'this procurement does not accept offers now');
  }
  return procurement;
}

function checkOffers(offers: readonly LotOffer[], lots: ReadonlyMap<string, LotRow>): void {
  if (new Set(offers.map((offer) => offer.lotId)).size !== offers.length) {
    refuse('application.duplicate_lot', 422, 'each lot is offered once');
  }
  for (const offer of offers) {
    const lot = lots.get(offer.lotId);
    if (lot === undefined)
      refuse('application.lot_unknown', 422, 'a lot is not of this procurement');
    let price: bigint;
    try {
      price = parseAmount(offer.price);
    } catch {
      refuse('offer.bad_price', 422, `the price of lot ${lot.number} is not an amount`);
    }
    if (price <= 0n)
      refuse('offer.bad_price', 422, `the price of lot ${lot.number} is not positive`);
    if (price > lot.amount) {
      refuse('offer.above_planned', 422, `the price of lot ${lot.number} is above its amount`);
    }
  }
}

function lotsOf(procurement: OpenProcurement): Map<string, LotRow> {
  return new Map(
    (procurement.lots ?? []).map((lot) => [
      lot.id,
      { id: lot.id, number: lot.number, amount: BigInt(lot.amount) },
    ]),
  );
}

/** How one lot of an application is secured, as application_lot keeps it. */
interface SecuredLot {
  lotId: string;
  kind: string;
  amount: bigint;
  reference: string | null;
}

interface NewApplication {
  id: string;
  version: number;
  procurementId: string;
  participantId: string;
  documentId: string;
  sealed: Buffer;
  sealedSha256: string;
  receivedAt: Date;
}

/** A wallet hold the submission takes for one lot, in the same statement as the application. */
interface NewHold {
  id: string;
  amount: bigint;
  reference: string;
}

/**
 * Stores a submitted application in one statement: the signed document (its payload without
 * prices, its CMS only inside the envelope), the application, how each lot is secured, the
 * wallet holds, the receipt and the audit entry. The holds are taken only if the wallet, read
 * under the lock the submission holds on it, still has their sum available; their references
 * are checked at the end of the statement, when all the rows exist. Answers how much the wallet
 * had and whether the holds were taken.
 */
async function storeApplication(
  tx: Queryable,
  request: SignedRequest,
  verified: VerifiedSignature,
  rows: {
    application: NewApplication;
    lots: SecuredLot[];
    holds: NewHold[];
    actor: string;
    receipt: Receipt;
    issuedAt: Date;
    audit: PendingEntry;
  },
): Promise<{ available: bigint; held: boolean }> {
  const { application, lots, receipt, holds } = rows;
  const offers = request.payload.lots as LotOffer[];
  const visible = {
    action: request.payload.action,
    procurementId: request.payload.procurementId,
    participantId: application.participantId,
    lots: offers.map((offer) => ({ lotId: offer.lotId, security: offer.security ?? null })),
    sealed: true,
  };
  const needed = holds.reduce((sum, hold) => sum + hold.amount, 0n);
  const stored = await tx.query<{ available: bigint; held: bigint }>(
    `WITH document AS (
       INSERT INTO signed_document (id, action, participant_id, signer_iin, signer_bin, payload,
         payload_sha256, cms, report, received_at, sealed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, '\\x', $8, $9, true)
     ), application AS (
       INSERT INTO application (id, procurement_id, supplier_participant_id, version, status,
         signed_document_id, sealed, sealed_sha256, received_at)
       VALUES ($10, $11, $3, $12, 'submitted', $1, $13, $7, $9)
     ), secured AS (
       INSERT INTO application_lot (application_id, lot_id, security_kind, security_amount,
         security_reference)
       SELECT $10::uuid, l.lot_id::uuid, l.kind, l.amount::bigint, l.reference
         FROM unnest($14::text[], $15::text[], $16::text[], $17::text[])
           AS l (lot_id, kind, amount, reference)
     ), receipt AS (
       INSERT INTO receipt (id, signed_document_id, receipt, issued_at) VALUES ($18, $1, $19, $20)
     ), wallet AS (
       SELECT ${availableSql('$3::uuid')} AS available
     ), held AS (
       INSERT INTO wallet_entry (id, participant_id, kind, amount, reference, at, recorded_by)
       SELECT h.id::uuid, $3, 'hold', h.amount::bigint, h.reference, $9, $24
         FROM unnest($21::text[], $22::text[], $23::text[]) AS h (id, amount, reference)
        WHERE (SELECT available FROM wallet) >= $25::bigint
       RETURNING 1
     ), audit AS (
       INSERT INTO audit_pending ${PENDING_COLUMNS}
       VALUES ($26, $27, $28, $29, $30, $31, $32, $33, $34, $35)
     )
     SELECT (SELECT available FROM wallet) AS available, (SELECT count(*) FROM held) AS held`,
    [
      application.documentId,
      request.payload.action,
      application.participantId,
      verified.identity.iin ?? null,
      verified.identity.bin ?? null,
      JSON.stringify(visible),
      application.sealedSha256,
      JSON.stringify(verified.report),
      application.receivedAt,
      application.id,
      application.procurementId,
      application.version,
      application.sealed,
      lots.map((lot) => lot.lotId),
      lots.map((lot) => lot.kind),
      lots.map((lot) => lot.amount.toString()),
      lots.map((lot) => lot.reference),
      receipt.receiptId,
      JSON.stringify(receipt),
      rows.issuedAt,
      holds.map((hold) => hold.id),
      holds.map((hold) => hold.amount.toString()),
      holds.map((hold) => hold.reference),
      rows.actor,
      needed.toString(),
      ...rows.audit.values,
    ],
    { prepared: true },
  );
  const answer = stored.rows[0]!;
  return { available: answer.available, held: answer.held === BigInt(holds.length) };
}

/** Gives back the money an application held: when it is replaced, withdrawn or loses. */
export async function releaseSecurity(
  tx: Queryable,
  applicationId: string,
  at: Date,
  actor: string,
): Promise<void> {
  const held = await tx.query<{ security_reference: string }>(
    `SELECT security_reference FROM application_lot
      WHERE application_id = $1 AND security_kind = 'wallet' AND security_reference IS NOT NULL`,
    [applicationId],
  );
  for (const row of held.rows) {
    await release(tx, row.security_reference, { at, actor, details: { applicationId } });
  }
}

/**
 * How each offered lot is secured, as the rules demand: nothing where its security is zero,
 * an electronic bank guarantee for at least the amount, or money held in the supplier's wallet.
 * The holds are taken with the application (storeApplication); `available` is what the wallet
 * had when it was locked, for a refusal that names the lot the money ran out at.
 */
async function securedLots(
  tx: Queryable,
  offers: readonly LotOffer[],
  need: { applicationId: string; participantId: string; procurement: OpenProcurement },
  available: bigint,
  at: Date,
): Promise<{ lots: SecuredLot[]; holds: NewHold[] }> {
  const lots = lotsOf(need.procurement);
  const secured: SecuredLot[] = [];
  const holds: NewHold[] = [];
  let left = available;
  for (const offer of offers) {
    const lot = lots.get(offer.lotId)!;
    const amount = securityAmount(lot.amount, need.procurement.security_basis_points);
    const security = offer.security;
    if (amount === 0n) {
      secured.push({ lotId: lot.id, kind: 'none', amount, reference: null });
      continue;
    }
    if (security === undefined) {
      refuse('application.security_missing', 422, `lot ${lot.number} needs its security`);
    }
    if (security.kind === 'guarantee') {
      if (typeof security.documentId !== 'string') {
        refuse('application.security_missing', 422, 'a guarantee is named by its documentId');
      }
      await checkGuarantee(tx, {
        documentId: security.documentId,
        participantId: need.participantId,
        procurementId: need.procurement.id,
        lotId: lot.id,
        amount,
        at,
      });
      secured.push({ lotId: lot.id, kind: 'guarantee', amount, reference: security.documentId });
      continue;
    }
    if (left < amount) throw insufficient(left, amount);
    left -= amount;
    const held = { id: randomUUID(), amount, reference: holdReference(need.applicationId, lot.id) };
    holds.push(held);
    secured.push({ lotId: lot.id, kind: 'wallet', amount, reference: held.id });
  }
  return { lots: secured, holds };
}

/** What a node keeps of a procurement that takes offers: its deadline as read, its sealing key. */
interface OfferTarget {
  deadline: number | null;
  publicKey: Buffer | null;
}

const offerTargets = new Map<string, OfferTarget>();
const OFFER_TARGETS = 10_000;

/**
 * The procurement's deadline and sealing key, refusing an offer that arrives after the deadline
 * before its signature is checked, so a rush of late offers costs little. While the deadline
 * this node read is still ahead nothing is read again: the key never changes, and this check
 * only ever refuses on a fresh read. The check under the lock decides every offer that passes.
 */
async function offerTarget(ctx: ApplicationContext, procurementId: string): Promise<OfferTarget> {
  const now = ctx.clock.now().getTime();
  const known = offerTargets.get(procurementId);
  if (known !== undefined && (known.deadline === null || now < known.deadline)) return known;
  const found = await ctx.db.query<{ offers_end_at: Date | null; public_key: Buffer | null }>(
    `SELECT p.offers_end_at, k.public_key
       FROM procurement p LEFT JOIN procurement_key k ON k.procurement_id = p.id
      WHERE p.id = $1`,
    [procurementId],
    { prepared: true },
  );
  const row = found.rows[0];
  const target = {
    deadline: row?.offers_end_at?.getTime() ?? null,
    publicKey: row?.public_key ?? null,
  };
  if (target.publicKey !== null) {
    if (offerTargets.size >= OFFER_TARGETS) offerTargets.clear();
    offerTargets.set(procurementId, target);
  }
  if (target.deadline !== null && now >= target.deadline) {
    const until = new Date(target.deadline).toISOString();
    refuse('offer.after_deadline', 409, `offers were accepted until ${until}`);
  }
  return target;
}

/** What a supplier's action reads in one statement, under the locks the action needs. */
interface OfferFacts {
  procurement: OpenProcurement | null;
  member: MembershipRow | null;
  nonce: SpentNonce | null;
  latest: { id: string; version: number; status: string } | null;
  available: bigint | null;
}

/**
 * Locks and reads everything a supplier's action on its application checks, in one statement:
 * the procurement (shared, against the chronograph's closing), the signer's membership, the
 * nonce (spent), the supplier's latest application and its wallet (both for update). Nothing of
 * the participant is locked unless the user is its member. The wallet's balance is as the
 * statement began; storeApplication checks it again under the lock.
 */
async function offerFacts(
  tx: Queryable,
  procurementId: string,
  session: Session,
  request: SignedRequest,
  now: Date,
): Promise<OfferFacts> {
  const participantId = request.payload.participantId;
  const nonce = request.payload.nonce;
  const found = await tx.query<OfferFacts>(
    `WITH procurement AS MATERIALIZED (
       SELECT ${OPEN_PROCUREMENT_COLUMNS}
         FROM procurement p LEFT JOIN procurement_key k ON k.procurement_id = p.id
        WHERE p.id = $1 FOR SHARE OF p
     ), member AS MATERIALIZED (${membershipSql('$2::uuid', '$3')}
     ), nonce AS (${spendNonceSql('$4', '$5')}
     ), latest AS MATERIALIZED (
       SELECT id, version, status FROM application
        WHERE procurement_id = $1 AND supplier_participant_id = $2::uuid
          AND EXISTS (SELECT 1 FROM member)
        ORDER BY version DESC LIMIT 1 FOR UPDATE
     ), wallet AS MATERIALIZED (
       SELECT id FROM participant WHERE id = $2::uuid AND EXISTS (SELECT 1 FROM member)
          FOR NO KEY UPDATE
     )
     SELECT (SELECT row_to_json(procurement) FROM procurement) AS procurement,
            (SELECT row_to_json(member) FROM member) AS member,
            (SELECT row_to_json(nonce) FROM nonce) AS nonce,
            (SELECT row_to_json(latest) FROM latest) AS latest,
            CASE WHEN EXISTS (SELECT 1 FROM wallet) THEN ${availableSql('$2::uuid')} END
              AS available`,
    [
      procurementId,
      typeof participantId === 'string' && UUID.test(participantId) ? participantId : null,
      session.userId,
      typeof nonce === 'string' ? nonce : null,
      now,
    ],
    { prepared: true },
  );
  const facts = found.rows[0]!;
  const procurement = facts.procurement;
  if (procurement !== null && typeof procurement.public_key === 'string') {
    procurement.public_key = Buffer.from(procurement.public_key.slice(2), 'hex');
  }
  return facts;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks every step before the business rule: signer, membership, supplier role, nonce. */
function checkSupplier(
  session: Session,
  request: SignedRequest,
  verified: VerifiedSignature,
  facts: OfferFacts,
  now: Date,
): string {
  const participantId = request.payload.participantId;
  if (typeof participantId !== 'string') refuse('document.invalid', 400, 'participantId is needed');
  checkActingFor(session, participantId);
  const acting = actingFromRow(facts.member);
  checkSigner('participation', verified.identity, acting.identity, acting.membership);
  if (!acting.roles.includes('potential_supplier')) {
    refuse('application.not_supplier', 403, 'applications are submitted by potential suppliers');
  }
  nonceOf(request.payload.nonce);
  checkSpentNonce(facts.nonce, 'action', now);
  return participantId;
}

export interface SubmittedApplication {
  applicationId: string;
  version: number;
  receivedAt: Date;
  receipt: Receipt;
}

/**
 * Runs a signed supplier action once its signature holds; a refusal is audited by its code
 * alone, never its content. `work` opens its own transaction.
 */
async function supplierAction<T>(
  ctx: ApplicationContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
  action: string,
  work: (verified: VerifiedSignature, target: OfferTarget) => Promise<T>,
): Promise<T> {
  const checked = async () => {
    expectAction(request.payload, action);
    if (request.payload.procurementId !== procurementId) {
      refuse('document.wrong_target', 400, 'the signed payload names another procurement');
    }
    const target = await offerTarget(ctx, procurementId);
    const verified = await verifySignedRequest(ctx.verifier, request, ctx.clock.now(), 'sign');
    if (verified.identity.key !== session.identity) {
      refuse('signer.not_session_user', 403, 'sign with your own certificate');
    }
    return work(verified, target);
  };
  return attempt(ctx, action, () => session.identity, checked, `procurement:${procurementId}`);
}

/** The sealed envelope of a signed application (its payload and CMS) and its receipt. */
interface SealedOffer {
  sealed: Buffer;
  sealedSha256: string;
  receipt: Receipt;
}

async function sealOffer(
  ctx: ApplicationContext,
  request: SignedRequest,
  verified: VerifiedSignature,
  to: { procurementId: string; publicKey: Buffer; documentId: string; receivedAt: Date },
): Promise<SealedOffer> {
  const envelope = JSON.stringify({
    payload: canonicalJson(request.payload),
    cms: Buffer.from(verified.cms).toString('base64'),
  });
  const sealed = seal(to.publicKey, to.procurementId, Buffer.from(envelope, 'utf8'));
  const sealedSha256 = sha256(sealed);
  const receipt = await receiptFor(ctx.receipts, {
    id: to.documentId,
    action: 'application.submit',
    payloadSha256: sealedSha256,
    receivedAt: to.receivedAt,
    signer: verified.signer,
  });
  return { sealed, sealedSha256, receipt };
}

/**
 * Submits an application, or replaces the supplier's live one with a new signed version. The
 * offer is received when the clock is read, before it is sealed and its receipt signed, which
 * is done outside the transaction; under the procurement's share lock that instant must still
 * be before the deadline. The rest is one statement that reads and locks and one that stores.
 */
export async function submitApplication(
  ctx: ApplicationContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
  idempotency?: IdempotentCall,
): Promise<SubmittedApplication> {
  return supplierAction(
    ctx,
    session,
    procurementId,
    request,
    'application.submit',
    async (verified, target) => {
      const now = ctx.clock.now();
      const applicationId = randomUUID();
      const documentId = randomUUID();
      const prepared = (publicKey: Buffer) =>
        sealOffer(ctx, request, verified, {
          procurementId,
          publicKey,
          documentId,
          receivedAt: now,
        });
      const early = target.publicKey === null ? undefined : await prepared(target.publicKey);
      return ctx.db.transaction(async (tx) => {
        const facts = await offerFacts(tx, procurementId, session, request, now);
        const procurement = checkOpen(ctx, facts.procurement, procurementId, now);
        const participantId = checkSupplier(session, request, verified, facts, now);
        if (
          [procurement.customer_participant_id, procurement.organizer_participant_id].includes(
            participantId,
          )
        ) {
          refuse(
            'application.own_procurement',
            403,
            'a customer does not bid in its own procurement',
          );
        }
        const invited = procurement.invited_participant_id;
        if (invited !== null && invited !== participantId) {
          refuse('application.not_invited', 403, 'only the invited supplier takes part');
        }
        const offers = request.payload.lots as LotOffer[];
        checkOffers(offers, lotsOf(procurement));
        const previous = facts.latest?.status === 'submitted' ? facts.latest : undefined;
        if (previous !== undefined) {
          await tx.query(
            `UPDATE application SET status = 'replaced', ended_at = $2 WHERE id = $1`,
            [previous.id, now],
          );
          await releaseSecurity(tx, previous.id, now, session.identity);
        }
        const available =
          previous === undefined
            ? (facts.available ?? 0n)
            : (await balance(tx, participantId)).available;
        const { lots, holds } = await securedLots(
          tx,
          offers,
          { applicationId, participantId, procurement },
          available,
          now,
        );
        const { sealed, sealedSha256, receipt } =
          early ?? (await prepared(procurement.public_key as Buffer));
        const version = (facts.latest?.version ?? 0) + 1;
        const audit = pendingEntry(ctx.clock, {
          actor: session.identity,
          action: previous === undefined ? 'application.submitted' : 'application.replaced',
          target: `procurement:${procurementId}`,
          details: { applicationId, version, documentId, sealedSha256 },
        });
        const stored = await storeApplication(tx, request, verified, {
          application: {
            id: applicationId,
            version,
            procurementId,
            participantId,
            documentId,
            sealed,
            sealedSha256,
            receivedAt: now,
          },
          lots,
          holds,
          actor: session.identity,
          receipt,
          issuedAt: ctx.clock.now(),
          audit,
        });
        if (!stored.held) {
          throw insufficient(
            stored.available,
            holds.reduce((sum, h) => sum + h.amount, 0n),
          );
        }
        if (invited !== null) await closeOnAgreement(ctx, tx, procurementId, session, now);
        const answer = { applicationId, version, receivedAt: now, receipt };
        if (idempotency !== undefined) {
          await rememberAnswer(tx, idempotency, { status: 201, body: answer }, now);
        }
        return answer;
      });
    },
  );
}

/**
 * A single-source procurement waits for one agreement: once the invited supplier has given it,
 * acceptance closes at once and the chronograph opens the offer, as at any deadline.
 */
async function closeOnAgreement(
  ctx: ApplicationContext,
  tx: Queryable,
  procurementId: string,
  session: Session,
  now: Date,
): Promise<void> {
  const row = await lockProcurement(tx, procurementId);
  const schedule = scheduleOf(row);
  const method = methodOfRow(row);
  if (schedule === undefined) return;
  const reviewEndsAt = method.review === undefined ? now : after(ctx.calendar, now, method.review);
  await applyTransition(
    tx,
    row,
    {
      trigger: undefined,
      schedule: { ...schedule, offersEndAt: now, reviewEndsAt },
      change: { kind: 'agreement_received', actor: session.identity, at: now },
    },
    now,
  );
}

/** Withdraws the supplier's live application before the deadline. */
export async function withdrawApplication(
  ctx: ApplicationContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
): Promise<{ applicationId: string; withdrawnAt: Date }> {
  return supplierAction(
    ctx,
    session,
    procurementId,
    request,
    'application.withdraw',
    async (verified) =>
      ctx.db.transaction(async (tx) => {
        const now = ctx.clock.now();
        const facts = await offerFacts(tx, procurementId, session, request, now);
        checkOpen(ctx, facts.procurement, procurementId, now);
        checkSupplier(session, request, verified, facts, now);
        const live = facts.latest?.status === 'submitted' ? facts.latest : undefined;
        if (live === undefined) {
          refuse('application.not_found', 404, 'there is no application to withdraw');
        }
        await tx.query(`UPDATE application SET status = 'withdrawn', ended_at = $2 WHERE id = $1`, [
          live.id,
          now,
        ]);
        await releaseSecurity(tx, live.id, now, session.identity);
        await appendAudit(tx, ctx.clock, {
          actor: session.identity,
          action: 'application.withdrawn',
          target: `procurement:${procurementId}`,
          details: { applicationId: live.id },
        });
        return { applicationId: live.id, withdrawnAt: now };
      }),
  );
}

export interface ApplicationView {
  applicationId: string;
  version: number;
  status: string;
  receivedAt: Date;
  sealedSha256: string;
  lots: { lotId: string; securityKind: string; securityAmount: string }[];
}

/** The supplier's own applications for a procurement, newest first; prices stay sealed. */
export async function ownApplications(
  db: Queryable,
  session: Session,
  procurementId: string,
): Promise<ApplicationView[]> {
  const found = await db.query<{
    id: string;
    version: number;
    status: string;
    received_at: Date;
    sealed_sha256: string;
  }>(
    `SELECT a.id, a.version, a.status, a.received_at, a.sealed_sha256 FROM application a
      WHERE a.procurement_id = $1 AND a.supplier_participant_id = $2 ORDER BY a.version DESC`,
    [procurementId, session.actingParticipantId],
  );
  const views: ApplicationView[] = [];
  for (const row of found.rows) {
    const lots = await db.query<{ lot_id: string; security_kind: string; security_amount: bigint }>(
      `SELECT lot_id, security_kind, security_amount FROM application_lot
        WHERE application_id = $1`,
      [row.id],
    );
    views.push({
      applicationId: row.id,
      version: row.version,
      status: row.status,
      receivedAt: row.received_at,
      sealedSha256: row.sealed_sha256,
      lots: lots.rows.map((lot) => ({
        lotId: lot.lot_id,
        securityKind: lot.security_kind,
        securityAmount: formatAmount(lot.security_amount),
      })),
    });
  }
  return views;
}

export interface OpenedApplication {
  applicationId: string;
  supplier: { participantId: string; bin: string | null; name: string };
  receivedAt: Date;
  qualification: unknown;
  lots: { lotId: string; lotNumber: number; price: string; rank: number | null }[];
}

/**
 * The opened applications of a procurement, for its organizer's and customer's users, once the
 * chronograph has opened them at the deadline; before that they are sealed (409).
 */
export async function openedApplications(
  db: Queryable,
  session: Session,
  procurementId: string,
): Promise<OpenedApplication[]> {
  const allowed = await db.query<{ opened_at: Date | null }>(
    `SELECT k.opened_at FROM procurement p LEFT JOIN procurement_key k ON k.procurement_id = p.id
      WHERE p.id = $1 AND EXISTS (SELECT 1 FROM membership m WHERE m.user_id = $2
        AND m.removed_at IS NULL
        AND m.participant_id IN (p.organizer_participant_id, p.customer_participant_id))`,
    [procurementId, session.userId],
  );
  const row = allowed.rows[0];
  if (row === undefined) throw notFound(procurementId);
  if (row.opened_at === null) {
    refuse('application.sealed', 409, 'applications are opened at the deadline');
  }
  const found = await db.query<{
    id: string;
    participant_id: string;
    bin: string | null;
    name_ru: string;
    received_at: Date;
    qualification: unknown;
    lot_id: string;
    lot_number: number;
    price: bigint;
    rank: number | null;
  }>(
    `SELECT a.id, p.id AS participant_id, p.bin, p.name_ru, a.received_at,
            s.payload -> 'qualification' AS qualification, o.lot_id, l.number AS lot_number,
            o.price, o.rank
       FROM application a
       JOIN participant p ON p.id = a.supplier_participant_id
       JOIN signed_document s ON s.id = a.signed_document_id
       JOIN price_offer o ON o.application_id = a.id
       JOIN lot l ON l.id = o.lot_id
      WHERE a.procurement_id = $1 ORDER BY a.received_at, a.id, l.number`,
    [procurementId],
  );
  const byId = new Map<string, OpenedApplication>();
  for (const offer of found.rows) {
    const application = byId.get(offer.id) ?? {
      applicationId: offer.id,
      supplier: { participantId: offer.participant_id, bin: offer.bin, name: offer.name_ru },
      receivedAt: offer.received_at,
      qualification: offer.qualification ?? null,
      lots: [],
    };
    application.lots.push({
      lotId: offer.lot_id,
      lotNumber: offer.lot_number,
      price: formatAmount(offer.price),
      rank: offer.rank,
    });
    byId.set(offer.id, application);
  }
  return [...byId.values()];
}

export interface OpenedOffer {
  lotNumber: number;
  supplierBin: string | null;
  supplierName: string;
  price: string;
  receivedAt: string;
  rank: number;
}

/**
 * Opens every live application of a procurement whose deadline has come (the chronograph calls
 * it inside the transition's transaction): the private key is unwrapped, each envelope opened,
 * the prices stored and ranked per lot (lower price first, then earlier receipt).
 */
export async function openOffers(
  tx: Queryable,
  wrapping: WrappingKey,
  procurementId: string,
  now: Date,
): Promise<OpenedOffer[]> {
  const key = await tx.query<{ wrapped_private_key: Buffer; opened_at: Date | null }>(
    `SELECT wrapped_private_key, opened_at FROM procurement_key
      WHERE procurement_id = $1 FOR UPDATE`,
    [procurementId],
  );
  const row = key.rows[0];
  if (row === undefined || row.opened_at !== null) return [];
  const privateKey = openingKey(wrapping, procurementId, row.wrapped_private_key);
  const applications = await tx.query<{
    id: string;
    sealed: Buffer;
    received_at: Date;
    signed_document_id: string;
    bin: string | null;
    name_ru: string;
  }>(
    `SELECT a.id, a.sealed, a.received_at, a.signed_document_id, p.bin, p.name_ru
       FROM application a JOIN participant p ON p.id = a.supplier_participant_id
      WHERE a.procurement_id = $1 AND a.status = 'submitted' ORDER BY a.received_at, a.id`,
    [procurementId],
  );
  const lots = await tx.query<{ id: string; number: number }>(
    'SELECT id, number FROM lot WHERE procurement_id = $1',
    [procurementId],
  );
  const numbers = new Map(lots.rows.map((lot) => [lot.id, lot.number]));
  const opened: (OpenedOffer & { applicationId: string; lotId: string; tiyn: bigint })[] = [];
  for (const application of applications.rows) {
    const envelope = JSON.parse(
      unseal(privateKey, procurementId, application.sealed).toString('utf8'),
    ) as {
      payload: string;
      cms: string;
    };
    const payload = JSON.parse(envelope.payload) as { lots: LotOffer[] };
    await tx.query('UPDATE signed_document SET payload = $2, cms = $3 WHERE id = $1', [
      application.signed_document_id,
      envelope.payload,
      Buffer.from(envelope.cms, 'base64'),
    ]);
    for (const offer of payload.lots) {
      opened.push({
        applicationId: application.id,
        lotId: offer.lotId,
        tiyn: parseAmount(offer.price),
        lotNumber: numbers.get(offer.lotId) ?? 0,
        supplierBin: application.bin,
        supplierName: application.name_ru,
        price: formatAmount(parseAmount(offer.price)),
        receivedAt: application.received_at.toISOString(),
        rank: 0,
      });
    }
  }
  opened.sort(
    (a, b) =>
      a.lotNumber - b.lotNumber ||
      (a.tiyn < b.tiyn ? -1 : a.tiyn > b.tiyn ? 1 : 0) ||
      a.receivedAt.localeCompare(b.receivedAt),
  );
  for (const [index, offer] of opened.entries()) {
    const previous = opened[index - 1];
    offer.rank =
      previous !== undefined && previous.lotNumber === offer.lotNumber ? previous.rank + 1 : 1;
    await tx.query(
      `INSERT INTO price_offer (application_id, lot_id, price, received_at, opened_at, rank)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [offer.applicationId, offer.lotId, offer.tiyn, offer.receivedAt, now, offer.rank],
    );
  }
  await tx.query('UPDATE procurement_key SET opened_at = $2 WHERE procurement_id = $1', [
    procurementId,
    now,
  ]);
  return opened.map((offer) => ({
    lotNumber: offer.lotNumber,
    supplierBin: offer.supplierBin,
    supplierName: offer.supplierName,
    price: offer.price,
    receivedAt: offer.receivedAt,
    rank: offer.rank,
  }));
}
