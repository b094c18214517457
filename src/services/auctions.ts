// Real-time reverse auctions: opened per lot from the admitted opened offers, bids as signed
// documents decided under the auction's row lock by the server's clock, live messages to each
// participant with its own rank, and the close that writes the lot's result exactly once.
import { randomUUID } from 'node:crypto';
import {
  AUCTION_DEFAULTS,
  checkSettings,
  decideBid,
  highestAcceptedBid,
  rankStandings,
} from '../domain/auction.js';
import type { AuctionSettings, RankedStanding } from '../domain/auction.js';
import { UppError } from '../domain/errors.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import type { Tiyn } from '../domain/money.js';
import { checkSigner } from '../domain/participants.js';
import type { Database, Queryable } from '../store/database.js';
import { appendAudit } from './audit.js';
import type { Session } from './auth.js';
import { publish } from './live.js';
import { actingParticipant, attempt } from './participants.js';
import { applyTransition, lockProcurement, methodOfRow, scheduleOf } from './procurement-state.js';
import type { ProcurementRow } from './procurement-state.js';
import { issueReceipt } from './receipts.js';
import type { Receipt, ReceiptPki } from './receipts.js';
import {
  expectAction,
  spendNonce,
  storeSignedDocument,
  verifySignedRequest,
  payloadText,
} from './signed-document.js';
import type { SignatureVerifier, SignedRequest } from './signed-document.js';

export const AUCTION_ACTOR = 'chronograph';
export const BID_ACTION = 'auction.bid';

export interface AuctionContext {
  db: Database;
  clock: { now(): Date };
  verifier: SignatureVerifier;
  receipts: ReceiptPki;
}

interface AuctionRow {
  id: string;
  procurement_id: string;
  lot_id: string;
  status: 'open' | 'closed';
  starting_price: bigint;
  best_price: bigint;
  step_basis_points: number;
  extension_window_ms: number;
  extension_ms: number;
  starts_at: Date;
  ends_at: Date;
  sequence: bigint;
}

const AUCTION_COLUMNS = `id, procurement_id, lot_id, status, starting_price, best_price,
  step_basis_points, extension_window_ms, extension_ms, starts_at, ends_at, sequence`;

interface SeatRow {
  participant_id: string;
  application_id: string;
  seat: number;
  price: bigint;
  priced_at: Date;
}

interface RankedSeat extends RankedStanding {
  applicationId: string;
}

/** What one participant may see of an auction: prices, times, its own rank; no identities. */
export interface AuctionView {
  auctionId: string;
  procurementId: string;
  lotId: string;
  status: 'scheduled' | 'running' | 'ended' | 'closed';
  startingPrice: string;
  bestPrice: string;
  /** The highest price the next bid may name (one step below the best), or null. */
  highestAcceptedBid: string | null;
  startsAt: string;
  endsAt: string;
  /** The live topic's sequence the view includes; SSE events carry it as their id. */
  sequence: string;
  participants: number;
  own: { rank: number; price: string; leading: boolean };
}

/** Each participant's live topic: its seat's messages carry its own rank. */
export function seatTopic(auctionId: string, seat: number): string {
  return `auction.${auctionId}.s${seat}`;
}

export function auctionNotFound(auctionId: string): UppError {
  return new UppError('auction.not_found', 404, `no auction ${auctionId} of yours`);
}

async function rankedSeats(tx: Queryable, auctionId: string): Promise<RankedSeat[]> {
  const found = await tx.query<SeatRow>(
    `SELECT participant_id, application_id, seat, price, priced_at FROM auction_participant
      WHERE auction_id = $1`,
    [auctionId],
  );
  const applications = new Map(found.rows.map((row) => [row.participant_id, row.application_id]));
  return rankStandings(
    found.rows.map((row) => ({
      participantId: row.participant_id,
      price: row.price,
      at: row.priced_at,
      seat: row.seat,
    })),
  ).map((standing) => ({
    ...standing,
    applicationId: applications.get(standing.participantId)!,
  }));
}

function statusAt(auction: AuctionRow, now: Date): AuctionView['status'] {
  if (auction.status === 'closed') return 'closed';
  if (now.getTime() < auction.starts_at.getTime()) return 'scheduled';
  if (now.getTime() >= auction.ends_at.getTime()) return 'ended';
  return 'running';
}

function viewOf(
  auction: AuctionRow,
  seats: readonly RankedSeat[],
  own: RankedSeat,
  now: Date,
): AuctionView {
  const ceiling = highestAcceptedBid(auction.best_price, auction.step_basis_points);
  const status = statusAt(auction, now);
  return {
    auctionId: auction.id,
    procurementId: auction.procurement_id,
    lotId: auction.lot_id,
    status,
    startingPrice: formatAmount(auction.starting_price),
    bestPrice: formatAmount(auction.best_price),
    highestAcceptedBid: status === 'closed' || ceiling <= 0n ? null : formatAmount(ceiling),
    startsAt: auction.starts_at.toISOString(),
    endsAt: auction.ends_at.toISOString(),
    sequence: auction.sequence.toString(),
    participants: seats.length,
    own: { rank: own.rank, price: formatAmount(own.price), leading: own.rank === 1 },
  };
}

/** Sends every participant its own view of the auction's new state when `tx` commits. */
async function announce(
  tx: Queryable,
  auction: AuctionRow,
  event: string,
  now: Date,
): Promise<RankedSeat[]> {
  const seats = await rankedSeats(tx, auction.id);
  for (const seat of seats) {
    await publish(tx, seatTopic(auction.id, seat.seat), {
      sequence: auction.sequence,
      event,
      body: viewOf(auction, seats, seat, now),
    });
  }
  return seats;
}

interface AdmittedOffer {
  application_id: string;
  participant_id: string;
  price: bigint;
  received_at: Date;
}

/** The lot's opened offers that were not refused admission, best first. */
async function admittedOffers(tx: Queryable, lotId: string): Promise<AdmittedOffer[]> {
  const found = await tx.query<AdmittedOffer>(
    `SELECT o.application_id, a.supplier_participant_id AS participant_id, o.price, o.received_at
       FROM price_offer o
       JOIN application a ON a.id = o.application_id
       LEFT JOIN admission d ON d.application_id = o.application_id AND d.lot_id = o.lot_id
      WHERE o.lot_id = $1 AND coalesce(d.admitted, true)
      ORDER BY o.price, o.received_at, o.application_id`,
    [lotId],
  );
  return found.rows;
}

export interface OpenedAuction {
  auctionId: string;
  lotId: string;
  startingPrice: string;
  startsAt: Date;
  endsAt: Date;
  participants: number;
}

async function completeProcurement(
  tx: Queryable,
  row: ProcurementRow,
  at: Date,
  now: Date,
  details: Record<string, unknown>,
): Promise<void> {
  if (row.status !== 'auction_pending') return;
  await applyTransition(
    tx,
    row,
    {
      trigger: { action: 'complete' },
      schedule: scheduleOf(row),
      change: { kind: 'status_changed', actor: AUCTION_ACTOR, at, details },
    },
    now,
  );
}

/**
 * Opens one auction per lot of a procurement waiting for its auction (the chronograph calls it in
 * its transaction). A lot that already has an auction or a result is left alone, so a retry
 * opens nothing twice; a lot without an admitted offer gets a failed result at once, and when no
 * lot has an auction the procurement moves on to its results here.
 */
export async function openAuction(
  tx: Queryable,
  procurementId: string,
  now: Date,
  settings: AuctionSettings = AUCTION_DEFAULTS,
): Promise<OpenedAuction[]> {
  checkSettings(settings);
  const row = await lockProcurement(tx, procurementId);
  if (row.status !== 'auction_pending' || !methodOfRow(row).hasAuction) {
    throw new UppError(
      'auction.wrong_status',
      409,
      `a procurement that is ${row.status} (${row.method}) does not open an auction`,
    );
  }
  const lots = await tx.query<{ id: string; decided: boolean }>(
    `SELECT l.id, EXISTS (SELECT 1 FROM auction a WHERE a.lot_id = l.id)
              OR EXISTS (SELECT 1 FROM lot_result r WHERE r.lot_id = l.id) AS decided
       FROM lot l WHERE l.procurement_id = $1 ORDER BY l.number`,
    [procurementId],
  );
  const opened: OpenedAuction[] = [];
  for (const lot of lots.rows.filter((candidate) => !candidate.decided)) {
    const offers = await admittedOffers(tx, lot.id);
    if (offers.length === 0) {
      await tx.query(
        `INSERT INTO lot_result (lot_id, procurement_id, bidders, decided_at)
         VALUES ($1, $2, 0, $3)`,
        [lot.id, procurementId, now],
      );
      continue;
    }
    opened.push(await createAuction(tx, procurementId, lot.id, offers, now, settings));
  }
  const open = await tx.query<{ n: bigint }>(
    `SELECT count(*) AS n FROM auction WHERE procurement_id = $1 AND status = 'open'`,
    [procurementId],
  );
  if (open.rows[0]!.n === 0n) {
    await completeProcurement(tx, row, now, now, { auctions: 0 });
  }
  return opened;
}

async function createAuction(
  tx: Queryable,
  procurementId: string,
  lotId: string,
  offers: readonly AdmittedOffer[],
  now: Date,
  settings: AuctionSettings,
): Promise<OpenedAuction> {
  const startsAt = new Date(now.getTime() + settings.startDelayMs);
  const endsAt = new Date(startsAt.getTime() + settings.durationMs);
  const startingPrice = offers[0]!.price;
  const inserted = await tx.query<AuctionRow>(
    `INSERT INTO auction (id, procurement_id, lot_id, status, starting_price, best_price,
       step_basis_points, extension_window_ms, extension_ms, starts_at, ends_at, sequence,
       opened_at)
     VALUES ($1, $2, $3, 'open', $4, $4, $5, $6, $7, $8, $9, 1, $10)
     RETURNING ${AUCTION_COLUMNS}`,
    [
      randomUUID(),
      procurementId,
      lotId,
      startingPrice,
      settings.stepBasisPoints,
      settings.extensionWindowMs,
      settings.extensionMs,
      startsAt,
      endsAt,
      now,
    ],
  );
  const auction = inserted.rows[0]!;
  for (const [index, offer] of offers.entries()) {
    await tx.query(
      `INSERT INTO auction_participant (auction_id, participant_id, application_id, seat, price,
         priced_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        auction.id,
        offer.participant_id,
        offer.application_id,
        index + 1,
        offer.price,
        offer.received_at,
      ],
    );
  }
  await announce(tx, auction, 'opened', now);
  await appendAudit(
    tx,
    { now: () => now },
    {
      actor: AUCTION_ACTOR,
      action: 'auction.opened',
      target: `procurement:${procurementId}`,
      details: { auctionId: auction.id, lotId, participants: offers.length },
    },
  );
  return {
    auctionId: auction.id,
    lotId,
    startingPrice: formatAmount(startingPrice),
    startsAt,
    endsAt,
    participants: offers.length,
  };
}

export interface AcceptedBid {
  bidId: string;
  auctionId: string;
  price: string;
  sequence: string;
  receivedAt: Date;
  endsAt: string;
  extended: boolean;
  own: AuctionView['own'];
  receipt: Receipt;
}

function refuse(code: string, status: number, message: string): never {
  throw new UppError(code, status, message);
}

async function lockAuction(tx: Queryable, auctionId: string): Promise<AuctionRow> {
  const found = await tx.query<AuctionRow>(
    `SELECT ${AUCTION_COLUMNS} FROM auction WHERE id = $1 FOR UPDATE`,
    [auctionId],
  );
  const auction = found.rows[0];
  if (auction === undefined) throw auctionNotFound(auctionId);
  return auction;
}

/**
 * Places a signed bid. The auction's row is locked before the clock is read, so of two bids the
 * one that takes the lock second is judged against the first one's price and end.
 */
export async function placeBid(
  ctx: AuctionContext,
  session: Session,
  auctionId: string,
  request: SignedRequest,
): Promise<AcceptedBid> {
  const bid = async (): Promise<AcceptedBid> => {
    expectAction(request.payload, BID_ACTION);
    if (request.payload.auctionId !== auctionId) {
      refuse('document.wrong_target', 400, 'the signed payload names another auction');
    }
    const participantId = payloadText(request.payload, 'participantId');
    const price = parseAmount(String(request.payload.price));
    const verified = await verifySignedRequest(ctx.verifier, request, ctx.clock.now(), 'sign');
    if (verified.identity.key !== session.identity) {
      refuse('signer.not_session_user', 403, 'sign with your own certificate');
    }
    return await ctx.db.transaction(async (tx) => {
      const auction = await lockAuction(tx, auctionId);
      const now = ctx.clock.now();
      const acting = await actingParticipant(tx, session, participantId);
      checkSigner('participation', verified.identity, acting.identity, acting.membership);
      const seat = await tx.query<{ seat: number }>(
        'SELECT seat FROM auction_participant WHERE auction_id = $1 AND participant_id = $2',
        [auctionId, participantId],
      );
      if (seat.rows[0] === undefined) {
        refuse('auction.not_participant', 403, 'only suppliers admitted to the auction bid');
      }
      const decided = decideBid(
        {
          status: auction.status,
          startsAt: auction.starts_at,
          endsAt: auction.ends_at,
          bestPrice: auction.best_price,
          stepBasisPoints: auction.step_basis_points,
          extensionWindowMs: auction.extension_window_ms,
          extensionMs: auction.extension_ms,
        },
        price,
        now,
      );
      await spendNonce(tx, request.payload.nonce, 'action', now);
      const document = await storeSignedDocument(
        tx,
        BID_ACTION,
        participantId,
        request,
        verified,
        now,
      );
      const bidId = randomUUID();
      const updated = await recordBid(tx, auction, {
        bidId,
        participantId,
        price,
        at: now,
        endsAt: decided.endsAt,
        documentId: document.id,
      });
      const seats = await announce(tx, updated, 'bid', now);
      const own = seats.find((candidate) => candidate.participantId === participantId)!;
      const receipt = await issueReceipt(tx, ctx.receipts, ctx.clock, { documentId: document.id });
      await appendAudit(tx, ctx.clock, {
        actor: session.identity,
        action: 'auction.bid',
        target: `auction:${auctionId}`,
        details: { bidId, documentId: document.id, sequence: updated.sequence },
      });
      return {
        bidId,
        auctionId,
        price: formatAmount(price),
        sequence: updated.sequence.toString(),
        receivedAt: now,
        endsAt: updated.ends_at.toISOString(),
        extended: decided.extended,
        own: viewOf(updated, seats, own, now).own,
        receipt,
      };
    });
  };
  return attempt(ctx, BID_ACTION, () => session.identity, bid, `auction:${auctionId}`);
}

/** Stores the bid, the bidder's own best and the auction's best, end and sequence together. */
async function recordBid(
  tx: Queryable,
  auction: AuctionRow,
  bid: {
    bidId: string;
    participantId: string;
    price: Tiyn;
    at: Date;
    endsAt: Date;
    documentId: string;
  },
): Promise<AuctionRow> {
  const updated = await tx.query<AuctionRow>(
    `UPDATE auction SET best_price = $2, ends_at = $3, sequence = sequence + 1 WHERE id = $1
     RETURNING ${AUCTION_COLUMNS}`,
    [auction.id, bid.price, bid.endsAt],
  );
  const row = updated.rows[0]!;
  await tx.query(
    `INSERT INTO auction_bid (id, auction_id, participant_id, price, sequence, received_at,
       signed_document_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [bid.bidId, auction.id, bid.participantId, bid.price, row.sequence, bid.at, bid.documentId],
  );
  await tx.query(
    `UPDATE auction_participant SET price = $3, priced_at = $4
      WHERE auction_id = $1 AND participant_id = $2`,
    [auction.id, bid.participantId, bid.price, bid.at],
  );
  return row;
}

/** The seat of the session's participant in the auction; anyone else is told it does not exist. */
export async function seatOf(
  db: Queryable,
  session: Session,
  auctionId: string,
): Promise<{ participantId: string; seat: number }> {
  const participantId = session.actingParticipantId;
  if (participantId === null) throw auctionNotFound(auctionId);
  const found = await db.query<{ seat: number }>(
    `SELECT p.seat FROM auction_participant p
       JOIN membership m ON m.participant_id = p.participant_id
      WHERE p.auction_id = $1 AND p.participant_id = $2 AND m.user_id = $3
        AND m.removed_at IS NULL`,
    [auctionId, participantId, session.userId],
  );
  const row = found.rows[0];
  if (row === undefined) throw auctionNotFound(auctionId);
  return { participantId, seat: row.seat };
}

/** The auction as the participant sees it now (also the catch-up snapshot of its stream). */
export async function participantView(
  db: Queryable,
  auctionId: string,
  participantId: string,
  now: Date,
): Promise<AuctionView> {
  const found = await db.query<AuctionRow>(`SELECT ${AUCTION_COLUMNS} FROM auction WHERE id = $1`, [
    auctionId,
  ]);
  const auction = found.rows[0];
  if (auction === undefined) throw auctionNotFound(auctionId);
  const seats = await rankedSeats(db, auctionId);
  const own = seats.find((seat) => seat.participantId === participantId);
  if (own === undefined) throw auctionNotFound(auctionId);
  return viewOf(auction, seats, own, now);
}

export interface ClosedAuction {
  auctionId: string;
  procurementId: string;
  lotId: string;
  winnerApplicationId: string;
  winnerPrice: string;
  secondApplicationId: string | null;
  bidders: number;
  endedAt: Date;
}

/**
 * Closes every open auction whose end has passed, one transaction each, earliest end first. An
 * auction another node holds (closing it, or taking a bid that may extend it) is skipped, not
 * waited for. The lot's result is written once; the procurement moves on to its results when
 * none of its auctions is open any more.
 */
export async function closeDueAuctions(
  db: Database,
  clock: { now(): Date },
  limit = 100,
): Promise<ClosedAuction[]> {
  const closed: ClosedAuction[] = [];
  for (let claimed = 0; claimed < limit; claimed += 1) {
    const now = clock.now();
    const result = await db.transaction(async (tx) => {
      const due = await tx.query<AuctionRow>(
        `SELECT ${AUCTION_COLUMNS} FROM auction WHERE status = 'open' AND ends_at <= $1
          ORDER BY ends_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const auction = due.rows[0];
      return auction === undefined ? undefined : closeAuction(tx, clock, auction, now);
    });
    if (result === undefined) break;
    closed.push(result);
  }
  return closed;
}

async function closeAuction(
  tx: Queryable,
  clock: { now(): Date },
  auction: AuctionRow,
  now: Date,
): Promise<ClosedAuction> {
  const updated = await tx.query<AuctionRow>(
    `UPDATE auction SET status = 'closed', closed_at = $2, sequence = sequence + 1 WHERE id = $1
     RETURNING ${AUCTION_COLUMNS}`,
    [auction.id, now],
  );
  const seats = await announce(tx, updated.rows[0]!, 'closed', now);
  const winner = seats[0]!;
  const second = seats[1];
  await tx.query(
    `INSERT INTO lot_result (lot_id, procurement_id, winner_application_id, winner_price,
       winner_conditional_price, second_application_id, bidders, decided_at)
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
    [
      auction.lot_id,
      auction.procurement_id,
      winner.applicationId,
      winner.price,
      second?.applicationId ?? null,
      seats.length,
      now,
    ],
  );
  const open = await tx.query<{ n: bigint }>(
    `SELECT count(*) AS n FROM auction WHERE procurement_id = $1 AND status = 'open'`,
    [auction.procurement_id],
  );
  if (open.rows[0]!.n === 0n) {
    const row = await lockProcurement(tx, auction.procurement_id);
    await completeProcurement(tx, row, auction.ends_at, now, {
      auctionId: auction.id,
      recordedAt: now.toISOString(),
    });
  }
  await appendAudit(tx, clock, {
    actor: AUCTION_ACTOR,
    action: 'auction.closed',
    target: `procurement:${auction.procurement_id}`,
    details: { auctionId: auction.id, lotId: auction.lot_id, bidders: seats.length },
  });
  return {
    auctionId: auction.id,
    procurementId: auction.procurement_id,
    lotId: auction.lot_id,
    winnerApplicationId: winner.applicationId,
    winnerPrice: formatAmount(winner.price),
    secondApplicationId: second?.applicationId ?? null,
    bidders: seats.length,
    endedAt: auction.ends_at,
  };
}
