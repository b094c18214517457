// Applications of potential suppliers with sealed price offers: submitted, replaced or withdrawn
// with signed documents before the deadline, sealed on arrival with the procurement's key, and
// opened only by the chronograph at the deadline, which publishes the opening protocol.
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import { UppError } from '../domain/errors.js';
import { checkSigner } from '../domain/participants.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import { holdReference, securityAmount } from '../domain/wallet.js';
import { isOpenForOffers } from '../domain/procurement-methods.js';
import { after } from '../domain/procurement-schedule.js';
import type { Queryable } from '../store/database.js';
import { appendAudit } from './audit.js';
import type { Session } from './auth.js';
import { actingParticipant, attempt } from './participants.js';
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
import { expectAction, spendNonce, verifySignedRequest } from './signed-document.js';
import { checkGuarantee, hold, release } from './wallet.js';
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
  offers_end_at: Date | null;
  security_basis_points: number;
  customer_participant_id: string;
  organizer_participant_id: string;
  invited_participant_id: string | null;
  public_key: Buffer | null;
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
 * Locks the procurement against the chronograph (which closes acceptance under FOR UPDATE) and
 * only then reads the clock: an offer either holds the lock first, and its instant is before the
 * deadline, or arrives after the closing, and its instant is after it. Its lots come with it:
 * their numbers and amounts do not change after the draft, so the statement's snapshot, taken
 * before the lock, reads them as they are.
 */
async function openForOffers(
  ctx: ApplicationContext,
  tx: Queryable,
  procurementId: string,
): Promise<{ procurement: OpenProcurement; now: Date }> {
  const found = await tx.query<OpenProcurement>(
    `SELECT p.id, p.status, p.offers_end_at, p.security_basis_points, p.customer_participant_id,
            p.organizer_participant_id, p.invited_participant_id, k.public_key,
            (SELECT json_agg(json_build_object('id', l.id, 'number', l.number,
                                               'amount', l.amount::text))
               FROM lot l WHERE l.procurement_id = p.id) AS lots
       FROM procurement p LEFT JOIN procurement_key k ON k.procurement_id = p.id
      WHERE p.id = $1 FOR SHARE OF p`,
    [procurementId],
  );
  const procurement = found.rows[0];
  const now = ctx.clock.now();
  if (procurement === undefined || procurement.status === 'draft') throw notFound(procurementId);
  const deadline = procurement.offers_end_at;
  if (deadline !== null && now.getTime() >= deadline.getTime()) {
    refuse('offer.after_deadline', 409, `offers were accepted until ${deadline.toISOString()}`);
  }
  if (!isOpenForOffers(procurement.status) || procurement.public_key === null) {
    refuse('offer.not_accepted', 409, 'this procurement does not accept offers now');
  }
  return { procurement, now };
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

/**
 * Stores a submitted application in one statement: the signed document (its payload without
 * prices, its CMS only inside the envelope), the application, how each lot is secured, and the
 * receipt. Their references are checked at the end of the statement, when all the rows exist.
 */
async function storeApplication(
  tx: Queryable,
  request: SignedRequest,
  verified: VerifiedSignature,
  rows: { application: NewApplication; lots: SecuredLot[]; receipt: Receipt; issuedAt: Date },
): Promise<void> {
  const { application, lots, receipt } = rows;
  const offers = request.payload.lots as LotOffer[];
  const visible = {
    action: request.payload.action,
    procurementId: request.payload.procurementId,
    participantId: application.participantId,
    lots: offers.map((offer) => ({ lotId: offer.lotId, security: offer.security ?? null })),
    sealed: true,
  };
  await tx.query(
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
     )
     INSERT INTO receipt (id, signed_document_id, receipt, issued_at) VALUES ($18, $1, $19, $20)`,
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
    ],
  );
}

/**
 * Secures one lot of an application as the rules demand: money held in the supplier's wallet,
 * or an electronic bank guarantee for at least the amount. Answers what secures it.
 */
async function secureLot(
  tx: Queryable,
  security: LotOffer['security'],
  need: { applicationId: string; participantId: string; procurementId: string; lot: LotRow },
  amount: bigint,
  at: Date,
  actor: string,
): Promise<string | null> {
  if (amount === 0n) return null;
  if (security === undefined) {
    refuse('application.security_missing', 422, `lot ${need.lot.number} needs its security`);
  }
  if (security.kind === 'guarantee') {
    if (typeof security.documentId !== 'string') {
      refuse('application.security_missing', 422, 'a guarantee is named by its documentId');
    }
    await checkGuarantee(tx, {
      documentId: security.documentId,
      participantId: need.participantId,
      procurementId: need.procurementId,
      lotId: need.lot.id,
      amount,
      at,
    });
    return security.documentId;
  }
  const held = await hold(tx, {
    participantId: need.participantId,
    amount,
    reference: holdReference(need.applicationId, need.lot.id),
    at,
    actor,
  });
  return held.id;
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
 * The supplier's latest application, locked, with the next version number: the live one, if
 * any, is always the latest, since only a new version ends it.
 */
async function latestApplication(
  tx: Queryable,
  procurementId: string,
  participantId: string,
): Promise<{ live: { id: string; version: number } | undefined; nextVersion: number }> {
  const found = await tx.query<{ id: string; version: number; status: string }>(
    `SELECT id, version, status FROM application
      WHERE procurement_id = $1 AND supplier_participant_id = $2
      ORDER BY version DESC LIMIT 1 FOR UPDATE`,
    [procurementId, participantId],
  );
  const latest = found.rows[0];
  return {
    live: latest?.status === 'submitted' ? { id: latest.id, version: latest.version } : undefined,
    nextVersion: (latest?.version ?? 0) + 1,
  };
}

/** The supplier's live application, locked, if it has one. */
async function liveApplication(
  tx: Queryable,
  procurementId: string,
  participantId: string,
): Promise<{ id: string; version: number } | undefined> {
  const found = await tx.query<{ id: string; version: number }>(
    `SELECT id, version FROM application
      WHERE procurement_id = $1 AND supplier_participant_id = $2 AND status = 'submitted'
      FOR UPDATE`,
    [procurementId, participantId],
  );
  return found.rows[0];
}

/**
 * Refuses an offer that arrives after the deadline before its signature is checked: time only
 * moves on, so what is late now is late under the lock too, and a rush of late offers costs
 * little. The check under the lock still decides every offer that passes this one.
 */
async function refuseLate(ctx: ApplicationContext, procurementId: string): Promise<void> {
  const found = await ctx.db.query<{ offers_end_at: Date | null }>(
    'SELECT offers_end_at FROM procurement WHERE id = $1',
    [procurementId],
  );
  const deadline = found.rows[0]?.offers_end_at;
  if (deadline !== undefined && deadline !== null && ctx.clock.now() >= deadline) {
    refuse('offer.after_deadline', 409, `offers were accepted until ${deadline.toISOString()}`);
  }
}

/** Checks every step before the business rule: signature, signer, membership, nonce. */
async function verifiedSupplier(
  ctx: ApplicationContext,
  tx: Queryable,
  session: Session,
  request: SignedRequest,
  verified: VerifiedSignature,
  now: Date,
): Promise<string> {
  const participantId = request.payload.participantId;
  if (typeof participantId !== 'string') refuse('document.invalid', 400, 'participantId is needed');
  const acting = await actingParticipant(tx, session, participantId);
  checkSigner('participation', verified.identity, acting.identity, acting.membership);
  if (!acting.roles.includes('potential_supplier')) {
    refuse('application.not_supplier', 403, 'applications are submitted by potential suppliers');
  }
  await spendNonce(tx, request.payload.nonce, 'action', now);
  return participantId;
}

export interface SubmittedApplication {
  applicationId: string;
  version: number;
  receivedAt: Date;
  receipt: Receipt;
}

/** Runs a signed supplier action; a refusal is audited by its code alone, never its content. */
async function supplierAction<T>(
  ctx: ApplicationContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
  action: string,
  work: (tx: Queryable, verified: VerifiedSignature) => Promise<T>,
): Promise<T> {
  const checked = async () => {
    expectAction(request.payload, action);
    if (request.payload.procurementId !== procurementId) {
      refuse('document.wrong_target', 400, 'the signed payload names another procurement');
    }
    await refuseLate(ctx, procurementId);
    const verified = await verifySignedRequest(ctx.verifier, request, ctx.clock.now(), 'sign');
    if (verified.identity.key !== session.identity) {
      refuse('signer.not_session_user', 403, 'sign with your own certificate');
    }
    return ctx.db.transaction((tx) => work(tx, verified));
  };
  return attempt(ctx, action, () => session.identity, checked, `procurement:${procurementId}`);
}

/**
 * Submits an application, or replaces the supplier's live one with a new signed version. The
 * prices are checked in memory, then sealed with the CMS inside one envelope.
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
    async (tx, verified) => {
      const { procurement, now } = await openForOffers(ctx, tx, procurementId);
      const participantId = await verifiedSupplier(ctx, tx, session, request, verified, now);
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
      const lots = lotsOf(procurement);
      checkOffers(offers, lots);
      const envelope = JSON.stringify({
        payload: canonicalJson(request.payload),
        cms: Buffer.from(verified.cms).toString('base64'),
      });
      const sealed = seal(procurement.public_key!, procurementId, Buffer.from(envelope, 'utf8'));
      const sealedSha256 = sha256(sealed);
      const latest = await latestApplication(tx, procurementId, participantId);
      const previous = latest.live;
      if (previous !== undefined) {
        await tx.query(`UPDATE application SET status = 'replaced', ended_at = $2 WHERE id = $1`, [
          previous.id,
          now,
        ]);
        await releaseSecurity(tx, previous.id, now, session.identity);
      }
      const applicationId = randomUUID();
      const documentId = randomUUID();
      const version = latest.nextVersion;
      const secured: SecuredLot[] = [];
      for (const offer of offers) {
        const lot = lots.get(offer.lotId)!;
        const amount = securityAmount(lot.amount, procurement.security_basis_points);
        const need = { applicationId, participantId, procurementId, lot };
        const reference = await secureLot(tx, offer.security, need, amount, now, session.identity);
        const kind = reference === null ? 'none' : (offer.security?.kind ?? 'none');
        secured.push({ lotId: lot.id, kind, amount, reference });
      }
      const receipt = receiptFor(ctx.receipts, {
        id: documentId,
        action: 'application.submit',
        payloadSha256: sealedSha256,
        receivedAt: now,
        signer: verified.signer,
      });
      const application = {
        id: applicationId,
        version,
        procurementId,
        participantId,
        documentId,
        sealed,
        sealedSha256,
        receivedAt: now,
      };
      await storeApplication(tx, request, verified, {
        application,
        lots: secured,
        receipt,
        issuedAt: ctx.clock.now(),
      });
      if (invited !== null) await closeOnAgreement(ctx, tx, procurementId, session, now);
      const answer = { applicationId, version, receivedAt: now, receipt };
      if (idempotency !== undefined) {
        await rememberAnswer(tx, idempotency, { status: 201, body: answer }, now);
      }
      await appendAudit(tx, ctx.clock, {
        actor: session.identity,
        action: previous === undefined ? 'application.submitted' : 'application.replaced',
        target: `procurement:${procurementId}`,
        details: { applicationId, version, documentId, sealedSha256 },
      });
      return answer;
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
    async (tx, verified) => {
      const { now } = await openForOffers(ctx, tx, procurementId);
      const participantId = await verifiedSupplier(ctx, tx, session, request, verified, now);
      const live = await liveApplication(tx, procurementId, participantId);
      if (live === undefined)
        refuse('application.not_found', 404, 'there is no application to withdraw');
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
    },
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
