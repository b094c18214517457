// Admission and results: the organizer (or its commission) admits or rejects each opened offer
// with a signed decision and reasons; when the review ends, the chronograph ranks the admitted
// offers per lot and publishes the results protocol. Automatic methods admit every opened offer.
import { randomUUID } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { conditionalPrice, discountBasisPoints, rank } from '../domain/evaluation.js';
import type { Candidate, Claims } from '../domain/evaluation.js';
import { formatAmount } from '../domain/money.js';
import type { Queryable } from '../store/database.js';
import { releaseSecurity } from './applications.js';
import type { Session } from './auth.js';
import { signedAction } from './participants.js';
import type { ProcurementContext } from './procurements.js';
import { recordRelease } from './ocds.js';
import { lockProcurement, methodOfRow, recordEvent } from './procurement-state.js';
import type { ProcurementRow } from './procurement-state.js';
import { payloadText } from './signed-document.js';
import type { SignedRequest } from './signed-document.js';
import { retain } from './wallet.js';

export interface AdmissionDecision {
  applicationId: string;
  lotId: string;
  admitted: boolean;
  reasons?: { code: string; text: string }[];
}

function refuse(code: string, status: number, message: string): never {
  throw new UppError(code, status, message);
}

/** Signed admission decisions while the applications are reviewed; a later one replaces. */
export async function decideAdmissions(
  ctx: ProcurementContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
): Promise<{ decided: number }> {
  if (request.payload.procurementId !== procurementId) {
    refuse('document.wrong_target', 400, 'the signed payload names another procurement');
  }
  const participantId = payloadText(request.payload, 'participantId');
  const decisions = (request.payload.decisions ?? []) as AdmissionDecision[];
  const spec = { action: 'admission.decide', participantId, actionClass: 'other' } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    const row = await lockProcurement(tx, procurementId);
    if (row.organizer_participant_id !== participantId) {
      refuse('procurement.not_organizer', 403, 'only the organizer decides on admission');
    }
    if (row.status !== 'review') {
      refuse(
        'procurement.wrong_status',
        409,
        'admission is decided while applications are reviewed',
      );
    }
    for (const decision of decisions) {
      if (!decision.admitted && (decision.reasons ?? []).length === 0) {
        refuse('admission.reason_required', 422, 'a rejection gives its reasons');
      }
      const offer = await tx.query(
        `SELECT 1 FROM price_offer o JOIN application a ON a.id = o.application_id
          WHERE o.application_id = $1 AND o.lot_id = $2 AND a.procurement_id = $3`,
        [decision.applicationId, decision.lotId, procurementId],
      );
      if (offer.rows.length === 0) {
        refuse('admission.offer_unknown', 422, 'decide on opened offers of this procurement');
      }
      await tx.query(
        `INSERT INTO admission (application_id, lot_id, admitted, reasons, document_id, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (application_id, lot_id) DO UPDATE SET admitted = EXCLUDED.admitted,
           reasons = EXCLUDED.reasons, document_id = EXCLUDED.document_id,
           decided_at = EXCLUDED.decided_at`,
        [
          decision.applicationId,
          decision.lotId,
          decision.admitted,
          JSON.stringify(decision.reasons ?? []),
          documentId,
          now,
        ],
      );
    }
    await recordEvent(tx, procurementId, {
      kind: 'admission_decided',
      at: now,
      actor: session.identity,
      documentId,
      details: { decisions },
    });
    return { decided: decisions.length };
  });
}

interface OfferRow {
  application_id: string;
  lot_id: string;
  lot_number: number;
  price: bigint;
  received_at: Date;
  admitted: boolean | null;
  qualification: Claims | null;
  bin: string | null;
  name_ru: string;
}

export interface LotResult {
  lotNumber: number;
  bidders: number;
  winner: { bin: string | null; name: string; price: string; conditionalPrice: string } | null;
}

/**
 * Ranks the admitted offers of every lot and stores the winner and the runner-up; the money of
 * the other bidders is released (the runner-up's is kept, as it may yet be invited). One
 * admitted bidder is enough; a lot with none has failed. Called by the chronograph.
 */
export async function publishResults(
  tx: Queryable,
  row: ProcurementRow,
  now: Date,
): Promise<LotResult[]> {
  const method = methodOfRow(row);
  const offers = await tx.query<OfferRow>(
    `SELECT o.application_id, o.lot_id, l.number AS lot_number, o.price, o.received_at,
            d.admitted, s.payload -> 'qualification' AS qualification, p.bin, p.name_ru
       FROM price_offer o
       JOIN application a ON a.id = o.application_id
       JOIN lot l ON l.id = o.lot_id
       JOIN participant p ON p.id = a.supplier_participant_id
       JOIN signed_document s ON s.id = a.signed_document_id
       LEFT JOIN admission d ON d.application_id = o.application_id AND d.lot_id = o.lot_id
      WHERE a.procurement_id = $1 ORDER BY l.number, o.received_at`,
    [row.id],
  );
  const lots = await tx.query<{ id: string; number: number }>(
    'SELECT id, number FROM lot WHERE procurement_id = $1 ORDER BY number',
    [row.id],
  );
  const admitted = (offer: OfferRow) =>
    method.automaticEvaluation ? offer.admitted !== false : offer.admitted === true;
  const results: LotResult[] = [];
  const keep = new Set<string>();
  for (const lot of lots.rows) {
    const forLot = offers.rows.filter((offer) => offer.lot_id === lot.id && admitted(offer));
    const ranked = rank(
      forLot.map((offer): Candidate => ({
        applicationId: offer.application_id,
        price: offer.price,
        conditionalPrice: method.conditionalPrice
          ? conditionalPrice(offer.price, discountBasisPoints(offer.qualification ?? {}))
          : offer.price,
        receivedAt: offer.received_at,
      })),
    );
    const [winner, second] = ranked;
    for (const kept of [winner, second]) if (kept !== undefined) keep.add(kept.applicationId);
    await tx.query(
      `INSERT INTO lot_result (lot_id, procurement_id, winner_application_id, winner_price,
         winner_conditional_price, second_application_id, bidders, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (lot_id) DO NOTHING`,
      [
        lot.id,
        row.id,
        winner?.applicationId ?? null,
        winner?.price ?? null,
        winner?.conditionalPrice ?? null,
        second?.applicationId ?? null,
        ranked.length,
        now,
      ],
    );
    const offer = forLot.find((one) => one.application_id === winner?.applicationId);
    results.push({
      lotNumber: lot.number,
      bidders: ranked.length,
      winner:
        winner === undefined || offer === undefined
          ? null
          : {
              bin: offer.bin,
              name: offer.name_ru,
              price: formatAmount(winner.price),
              conditionalPrice: formatAmount(winner.conditionalPrice),
            },
    });
  }
  const losers = new Set(offers.rows.map((offer) => offer.application_id));
  for (const applicationId of losers) {
    if (!keep.has(applicationId)) await releaseSecurity(tx, applicationId, now, 'chronograph');
  }
  await recordEvent(tx, row.id, {
    kind: 'results_published',
    at: now,
    actor: 'chronograph',
    details: { lots: results },
  });
  return results;
}

interface WonLot {
  winner_application_id: string | null;
  evaded_at: Date | null;
  number: number;
  supplier_participant_id: string | null;
  bin: string | null;
  iin: string | null;
  name_kk: string | null;
  name_ru: string | null;
  security_kind: string | null;
  security_reference: string | null;
}

export interface Evasion {
  lotId: string;
  evadedAt: Date;
  /** How the lot's application security was kept: a wallet retention, a guarantee to claim. */
  security: { kind: string; reference: string | null };
  unreliableUntil: Date;
}

/**
 * The winner of a lot declines the contract, signed: it has evaded it. Once per lot, after the
 * results: its application security for the lot is kept (money held in its wallet is retained;
 * a bank guarantee is named for the customer to claim) and it enters the register of
 * unreliable suppliers for `registerMonths`. The runner-up's security stays held, as the
 * customer may yet invite it.
 */
export async function declineContract(
  ctx: ProcurementContext,
  session: Session,
  procurementId: string,
  lotId: string,
  request: SignedRequest,
  registerMonths: number,
): Promise<Evasion> {
  if (request.payload.procurementId !== procurementId || request.payload.lotId !== lotId) {
    refuse('document.wrong_target', 400, 'the signed payload names another procurement or lot');
  }
  const participantId = payloadText(request.payload, 'participantId');
  const reason = payloadText(request.payload, 'reason');
  const spec = { action: 'contract.decline', participantId, actionClass: 'participation' } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    const row = await lockProcurement(tx, procurementId);
    if (row.status !== 'results') {
      refuse('procurement.wrong_status', 409, 'a contract is declined once the results are out');
    }
    const found = await tx.query<WonLot>(
      `SELECT r.winner_application_id, r.evaded_at, l.number, a.supplier_participant_id,
              p.bin, p.iin, p.name_kk, p.name_ru, al.security_kind, al.security_reference
         FROM lot_result r
         JOIN lot l ON l.id = r.lot_id
         LEFT JOIN application a ON a.id = r.winner_application_id
         LEFT JOIN participant p ON p.id = a.supplier_participant_id
         LEFT JOIN application_lot al
           ON al.application_id = r.winner_application_id AND al.lot_id = r.lot_id
        WHERE r.lot_id = $1 AND r.procurement_id = $2
          FOR UPDATE OF r`,
      [lotId, procurementId],
    );
    const lot = found.rows[0];
    if (lot === undefined || lot.supplier_participant_id !== participantId) {
      refuse('contract.not_winner', 403, 'only the winner of the lot declines its contract');
    }
    if (lot.evaded_at !== null) {
      refuse('contract.already_declined', 409, 'the winner has already declined this contract');
    }
    const details = { procurementId, lotId, applicationId: lot.winner_application_id };
    if (lot.security_kind === 'wallet' && lot.security_reference !== null) {
      await retain(tx, lot.security_reference, { at: now, actor: session.identity, details });
    }
    await tx.query(
      'UPDATE lot_result SET evaded_at = $2, evasion_document_id = $3 WHERE lot_id = $1',
      [lotId, now, documentId],
    );
    const until = new Date(now);
    until.setUTCMonth(until.getUTCMonth() + registerMonths);
    await tx.query(
      `INSERT INTO unreliable_supplier (id, participant_id, bin, iin, name_kk, name_ru, reason,
         procurement_id, included_at, excluded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        randomUUID(),
        participantId,
        lot.bin,
        lot.iin,
        lot.name_kk,
        lot.name_ru,
        EVASION_REASON,
        procurementId,
        now,
        until,
      ],
    );
    const security = { kind: lot.security_kind ?? 'none', reference: lot.security_reference };
    await recordEvent(tx, procurementId, {
      kind: 'winner_evaded',
      at: now,
      actor: session.identity,
      documentId,
      details: { lotId, lotNumber: lot.number, bin: lot.bin, reason, security: security.kind },
    });
    await recordRelease(tx, procurementId, { tag: ['awardCancellation'], date: now });
    return { lotId, evadedAt: now, security, unreliableUntil: until };
  });
}

/** The register's wording for a winner who evaded the contract. */
export const EVASION_REASON = 'Уклонение победителя от заключения договора о закупках';
