// The wallet's ledger in the database: balance, holds and their end, deposits, withdrawals and
// bank guarantees. Each function takes the caller's transaction, so an application composes them.
import { randomUUID } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import type { Tiyn } from '../domain/money.js';
import { checkEnd, checkGuaranteeContent, checkPositive, checkSpend } from '../domain/wallet.js';
import type { GuaranteeTerms, WalletBalance, WalletEntryKind } from '../domain/wallet.js';
import type { Queryable } from '../store/database.js';
import type { Session } from './auth.js';
import { signedAction } from './participants.js';
import type { ParticipantContext } from './participants.js';
import type { SignedRequest } from './signed-document.js';

export const WITHDRAW_ACTION = 'wallet.withdraw';

export interface WalletEntry {
  id: string;
  seq: bigint;
  participantId: string;
  kind: WalletEntryKind;
  amount: Tiyn;
  reference: string;
  holdId: string | null;
  at: Date;
  recordedBy: string;
  details: Record<string, unknown>;
}

interface EntryRow {
  id: string;
  seq: bigint;
  participant_id: string;
  kind: WalletEntryKind;
  amount: bigint;
  reference: string;
  hold_id: string | null;
  at: Date;
  recorded_by: string;
  details: Record<string, unknown>;
}

const ENTRY_COLUMNS =
  'id, seq, participant_id, kind, amount, reference, hold_id, at, recorded_by, details';

function entryOf(row: EntryRow): WalletEntry {
  return {
    id: row.id,
    seq: row.seq,
    participantId: row.participant_id,
    kind: row.kind,
    amount: row.amount,
    reference: row.reference,
    holdId: row.hold_id,
    at: row.at,
    recordedBy: row.recorded_by,
    details: row.details,
  };
}

/**
 * Serialises every change of one participant's wallet until the caller's transaction ends. A row
 * lock that does not conflict with the key-share locks of foreign keys, so other work that
 * merely references the participant is not held up.
 */
export async function lockWallet(tx: Queryable, participantId: string): Promise<void> {
  const locked = await tx.query('SELECT 1 FROM participant WHERE id = $1 FOR NO KEY UPDATE', [
    participantId,
  ]);
  if (locked.rows.length === 0) {
    throw new UppError('wallet.participant_unknown', 404, 'no such participant');
  }
}

/**
 * The available balance of a participant (the parameter named) as one SQL expression: what
 * `balance` calls available, for statements that check and spend at once.
 */
export function availableSql(participant: string): string {
  return `(SELECT COALESCE(SUM(CASE kind WHEN 'deposit' THEN amount WHEN 'release' THEN amount
                                    WHEN 'hold' THEN -amount WHEN 'withdrawal' THEN -amount
                                    ELSE 0 END), 0)::int8
             FROM wallet_entry WHERE participant_id = ${participant})`;
}

/** The balance by the definition of domain/wallet.ts, summed in one statement. */
export async function balance(tx: Queryable, participantId: string): Promise<WalletBalance> {
  const sums = await tx.query<Record<WalletEntryKind, bigint>>(
    `SELECT COALESCE(SUM(amount) FILTER (WHERE kind = 'deposit'), 0)::int8 AS deposit,
            COALESCE(SUM(amount) FILTER (WHERE kind = 'hold'), 0)::int8 AS hold,
            COALESCE(SUM(amount) FILTER (WHERE kind = 'release'), 0)::int8 AS release,
            COALESCE(SUM(amount) FILTER (WHERE kind = 'retention'), 0)::int8 AS retention,
            COALESCE(SUM(amount) FILTER (WHERE kind = 'withdrawal'), 0)::int8 AS withdrawal
       FROM wallet_entry WHERE participant_id = $1`,
    [participantId],
  );
  const s = sums.rows[0]!;
  const held = s.hold - s.release - s.retention;
  return {
    deposited: s.deposit,
    withdrawn: s.withdrawal,
    held,
    retained: s.retention,
    available: s.deposit - s.withdrawal - held - s.retention,
  };
}

interface NewEntry {
  participantId: string;
  kind: WalletEntryKind;
  amount: Tiyn;
  reference: string;
  holdId?: string | null;
  at: Date;
  actor: string;
  details?: Record<string, unknown> | undefined;
}

async function insertEntry(tx: Queryable, entry: NewEntry): Promise<WalletEntry> {
  const inserted = await tx.query<EntryRow>(
    `INSERT INTO wallet_entry (id, participant_id, kind, amount, reference, hold_id, at,
       recorded_by, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     RETURNING ${ENTRY_COLUMNS}`,
    [
      randomUUID(),
      entry.participantId,
      entry.kind,
      entry.amount,
      entry.reference,
      entry.holdId ?? null,
      entry.at,
      entry.actor,
      JSON.stringify(entry.details ?? {}),
    ],
  );
  return entryOf(inserted.rows[0]!);
}

function checkReference(reference: string): void {
  if (reference.length === 0 || reference.length > 300) {
    throw new UppError('wallet.bad_reference', 422, 'a reference has 1 to 300 characters');
  }
}

export interface HoldRequest {
  participantId: string;
  amount: Tiyn;
  /** What the money secures, e.g. `application:<id>:lot:<id>` (see holdReference). */
  reference: string;
  at: Date;
  /** Who records it: an identity key, `system:<job>` or similar. */
  actor: string;
  details?: Record<string, unknown>;
}

/**
 * Holds money as security, in the caller's transaction. Refuses 422 `wallet.insufficient` when
 * less is available, and 409 `wallet.already_held` when an open hold has the same reference.
 */
export async function hold(tx: Queryable, request: HoldRequest): Promise<WalletEntry> {
  checkPositive(request.amount);
  checkReference(request.reference);
  await lockWallet(tx, request.participantId);
  const open = await openHold(tx, request.participantId, request.reference);
  if (open !== undefined) {
    throw new UppError('wallet.already_held', 409, `${request.reference} is already secured`);
  }
  checkSpend(await balance(tx, request.participantId), request.amount);
  return insertEntry(tx, { ...request, kind: 'hold' });
}

/** The open hold of a participant with this reference, if there is one. */
export async function openHold(
  tx: Queryable,
  participantId: string,
  reference: string,
): Promise<WalletEntry | undefined> {
  const found = await tx.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM wallet_entry h
      WHERE h.participant_id = $1 AND h.kind = 'hold' AND h.reference = $2
        AND NOT EXISTS (SELECT 1 FROM wallet_entry e WHERE e.hold_id = h.id)`,
    [participantId, reference],
  );
  const row = found.rows[0];
  return row === undefined ? undefined : entryOf(row);
}

/** The open holds of a participant, oldest first. */
export async function openHolds(tx: Queryable, participantId: string): Promise<WalletEntry[]> {
  const found = await tx.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM wallet_entry h
      WHERE h.participant_id = $1 AND h.kind = 'hold'
        AND NOT EXISTS (SELECT 1 FROM wallet_entry e WHERE e.hold_id = h.id)
      ORDER BY h.seq LIMIT 1000`,
    [participantId],
  );
  return found.rows.map(entryOf);
}

export interface HoldEnd {
  at: Date;
  actor: string;
  details?: Record<string, unknown>;
}

async function endHold(
  tx: Queryable,
  holdId: string,
  kind: 'release' | 'retention',
  end: HoldEnd,
): Promise<WalletEntry> {
  const found = await tx.query<{ participant_id: string }>(
    "SELECT participant_id FROM wallet_entry WHERE id = $1 AND kind = 'hold'",
    [holdId],
  );
  const participantId = found.rows[0]?.participant_id;
  if (participantId === undefined) {
    throw new UppError('wallet.hold_unknown', 404, `no hold ${holdId}`);
  }
  await lockWallet(tx, participantId);
  const rows = await tx.query<{ amount: bigint; ended: boolean; reference: string }>(
    `SELECT h.amount, h.reference, EXISTS (SELECT 1 FROM wallet_entry e WHERE e.hold_id = h.id)
            AS ended
       FROM wallet_entry h WHERE h.id = $1`,
    [holdId],
  );
  const held = rows.rows[0]!;
  const state = {
    balance: await balance(tx, participantId),
    openHolds: new Map(held.ended ? [] : [[holdId, held.amount]]),
    endedHolds: new Set(held.ended ? [holdId] : []),
  };
  checkEnd(state, holdId, held.amount);
  return insertEntry(tx, {
    participantId,
    kind,
    amount: held.amount,
    reference: held.reference,
    holdId,
    at: end.at,
    actor: end.actor,
    details: end.details,
  });
}

/** Gives a hold's money back (application withdrawn, lost, procurement cancelled...). */
export function release(tx: Queryable, holdId: string, end: HoldEnd): Promise<WalletEntry> {
  return endHold(tx, holdId, 'release', end);
}

/** Keeps a hold's money for good (a winner evaded the contract). */
export function retain(tx: Queryable, holdId: string, end: HoldEnd): Promise<WalletEntry> {
  return endHold(tx, holdId, 'retention', end);
}

export interface DepositRequest {
  participantId: string;
  amount: Tiyn;
  /** The bank entry's unique reference: a second deposit with it adds nothing. */
  reference: string;
  at: Date;
  actor: string;
  details?: Record<string, unknown>;
}

/** Records money received; answers undefined when that bank entry was already deposited. */
export async function deposit(
  tx: Queryable,
  request: DepositRequest,
): Promise<WalletEntry | undefined> {
  checkPositive(request.amount);
  checkReference(request.reference);
  const inserted = await tx.query<EntryRow>(
    `INSERT INTO wallet_entry (id, participant_id, kind, amount, reference, at, recorded_by,
       details)
     VALUES ($1, $2, 'deposit', $3, $4, $5, $6, $7)
     ON CONFLICT (reference) WHERE kind = 'deposit' DO NOTHING
     RETURNING ${ENTRY_COLUMNS}`,
    [
      randomUUID(),
      request.participantId,
      request.amount,
      request.reference,
      request.at,
      request.actor,
      JSON.stringify(request.details ?? {}),
    ],
  );
  const row = inserted.rows[0];
  return row === undefined ? undefined : entryOf(row);
}

export interface Withdrawal {
  entryId: string;
  documentId: string;
  amount: string;
  account: string;
  available: string;
}

/**
 * A withdrawal to the participant's bank account on record, signed as a payment document (first
 * head or financial signing right). The signed payload names the account, so the signer sees
 * where the money goes.
 */
export async function withdraw(
  ctx: ParticipantContext,
  session: Session,
  request: SignedRequest,
): Promise<Withdrawal> {
  const { participantId, amount: amountText, account } = request.payload;
  if (typeof participantId !== 'string' || typeof amountText !== 'string') {
    throw new UppError('document.invalid', 400, 'participantId and amount are needed');
  }
  const amount = parseAmount(amountText);
  const spec = { action: WITHDRAW_ACTION, participantId, actionClass: 'payment' } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    await lockWallet(tx, participantId);
    const found = await tx.query<{ bank: { iban?: string } | null }>(
      'SELECT bank FROM participant WHERE id = $1',
      [participantId],
    );
    const iban = found.rows[0]?.bank?.iban;
    if (iban === undefined) {
      throw new UppError('wallet.no_account', 422, 'register a bank account first');
    }
    if (account !== iban) {
      throw new UppError('wallet.account_mismatch', 422, 'money goes to the account on record');
    }
    checkSpend(await balance(tx, participantId), amount);
    const entry = await insertEntry(tx, {
      participantId,
      kind: 'withdrawal',
      amount,
      reference: `withdrawal:${documentId}`,
      at: now,
      actor: session.identity,
      details: { documentId, account: iban },
    });
    const after = await balance(tx, participantId);
    return {
      entryId: entry.id,
      documentId,
      amount: formatAmount(amount),
      account: iban,
      available: formatAmount(after.available),
    };
  });
}

export interface EntryPage {
  entries: WalletEntry[];
  /** The seq to pass as `before` for the next (older) page, or null at the end. */
  nextBefore: bigint | null;
}

/** A participant's entries, newest first, `limit` at a time, older than `before` (a seq). */
export async function walletEntries(
  tx: Queryable,
  participantId: string,
  page: { limit: number; before?: bigint | undefined },
): Promise<EntryPage> {
  const found = await tx.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM wallet_entry
      WHERE participant_id = $1 AND ($2::int8 IS NULL OR seq < $2)
      ORDER BY seq DESC LIMIT $3`,
    [participantId, page.before ?? null, page.limit + 1],
  );
  const entries = found.rows.slice(0, page.limit).map(entryOf);
  const more = found.rows.length > page.limit;
  return { entries, nextBefore: more ? (entries.at(-1)?.seq ?? null) : null };
}

export interface GuaranteeCheck {
  documentId: string;
  participantId: string;
  procurementId: string;
  lotId: string;
  amount: Tiyn;
  at: Date;
}

export interface CheckedGuarantee extends GuaranteeTerms {
  documentId: string;
  issuerParticipantId: string;
  issuerBin: string;
}

/**
 * Checks an electronic bank guarantee for a lot: a structured `bank_guarantee` document signed for
 * a registered legal entity other than the supplier, naming the lot, the supplier's BIN, at least
 * the amount, in KZT, valid after `at`. There is no `bank` role yet, so any active legal entity
 * (or branch) other than the supplier counts as an issuer; the signature was bound to that
 * entity's BIN when the document was signed.
 */
export async function checkGuarantee(
  tx: Queryable,
  check: GuaranteeCheck,
): Promise<CheckedGuarantee> {
  const found = await tx.query<{
    form: string;
    type: string;
    content: Record<string, unknown> | null;
    issuer_id: string;
    issuer_kind: string;
    issuer_bin: string | null;
    issuer_status: string;
    signer_bin: string | null;
  }>(
    `SELECT d.form, d.type, d.content, p.id AS issuer_id, p.kind AS issuer_kind,
            p.bin AS issuer_bin, p.status AS issuer_status, s.signer_bin
       FROM document d JOIN participant p ON p.id = d.participant_id
       JOIN signed_document s ON s.id = d.id
      WHERE d.id = $1`,
    [check.documentId],
  );
  const row = found.rows[0];
  if (row === undefined) {
    throw new UppError('guarantee.not_found', 422, `no document ${check.documentId}`);
  }
  if (row.form !== 'structured' || row.type !== 'bank_guarantee' || row.content === null) {
    throw new UppError('guarantee.wrong_type', 422, 'a structured bank_guarantee is needed');
  }
  // An individual entrepreneur is named by IIN, which stands where a BIN would.
  const supplier = await tx.query<{ number: string | null }>(
    'SELECT COALESCE(bin, iin) AS number FROM participant WHERE id = $1',
    [check.participantId],
  );
  const principalBin = supplier.rows[0]?.number;
  if (principalBin === undefined || principalBin === null) {
    throw new UppError('guarantee.wrong_principal', 422, 'the supplier has no BIN or IIN');
  }
  const issuerBin = row.issuer_bin;
  const issuerOk =
    row.issuer_id !== check.participantId &&
    ['legal_entity', 'branch'].includes(row.issuer_kind) &&
    row.issuer_status === 'active' &&
    issuerBin !== null &&
    issuerBin !== principalBin &&
    row.signer_bin === issuerBin;
  if (!issuerOk) {
    throw new UppError(
      'guarantee.issuer_not_bank',
      422,
      'a guarantee is issued by another registered legal entity',
    );
  }
  const terms = checkGuaranteeContent(row.content, {
    procurementId: check.procurementId,
    lotId: check.lotId,
    principalBin,
    amount: check.amount,
    at: check.at,
  });
  return {
    ...terms,
    documentId: check.documentId,
    issuerParticipantId: row.issuer_id,
    issuerBin: issuerBin!,
  };
}
