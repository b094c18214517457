// Bank statements in ISO 20022 camt.053 (BankToCustomerStatement): booked KZT credits that name a
// participant become wallet deposits, once each; every other booked entry is kept and reported.
import { createHash, randomUUID } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { UppError } from '../domain/errors.js';
import { TIYN_PER_TENGE, formatAmount } from '../domain/money.js';
import type { Tiyn } from '../domain/money.js';
import { PkiError } from '../pki/errors.js';
import { parseXml } from '../pki/xml/parse.js';
import type { Database, Queryable } from '../store/database.js';
import { appendAudit } from './audit.js';
import type { Session } from './auth.js';
import { actingParticipant } from './participants.js';
import { deposit } from './wallet.js';

/** ISO 4217's code for "no currency", kept when a statement names none we can read. */
const NO_CURRENCY = ['X', 'X', 'X'].join('');

export const MAX_STATEMENT_BYTES = 5 * 1024 * 1024;
export const MAX_STATEMENT_ENTRIES = 10_000;
const MAX_ID_LENGTH = 64;
const MAX_REMITTANCE = 2000;
const CAMT053 = /^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d{2}$/;
const WALLET_TAG = /UPP-WALLET-(\d{12})(?!\d)/gi;
const TWELVE_DIGITS = /(?<!\d)\d{12}(?!\d)/g;

export interface StatementEntry {
  /** AcctSvcrRef, else NtryRef: unique per account at the bank. */
  bankReference: string | null;
  direction: 'credit' | 'debit';
  status: string;
  amountText: string;
  currency: string;
  bookedOn: string | null;
  remittance: string[];
}

export interface AccountStatement {
  id: string;
  account: string;
  entries: StatementEntry[];
}

export interface ParsedStatement {
  messageId: string;
  statements: AccountStatement[];
}

function refuse(code: string, message: string, status = 422): UppError {
  return new UppError(`statement.${code}`, status, message);
}

function children(parent: Element, name: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === name) found.push(node as Element);
  }
  return found;
}

function child(parent: Element | undefined, ...path: string[]): Element | undefined {
  let current = parent;
  for (const name of path) {
    if (current === undefined) return undefined;
    current = children(current, name)[0];
  }
  return current;
}

function textOf(element: Element | undefined): string | undefined {
  const text = element?.textContent?.trim();
  return text === undefined || text === '' ? undefined : text;
}

function requiredId(parent: Element, what: string, ...path: string[]): string {
  const text = textOf(child(parent, ...path));
  if (text === undefined || text.length > MAX_ID_LENGTH) {
    throw refuse('malformed', `${what} (${path.join('/')}) is missing or longer than 64`);
  }
  return text;
}

function parseDocument(xml: string): Element {
  try {
    return parseXml(xml, { maxBytes: MAX_STATEMENT_BYTES, maxDepth: 64 }).documentElement!;
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    if (error.code === 'xml.too_large') throw refuse('too_large', error.message, 413);
    if (error.code === 'xml.forbidden_dtd') throw refuse('forbidden_dtd', error.message);
    throw refuse('malformed', error.message);
  }
}

function entryOf(ntry: Element): StatementEntry {
  const amount = child(ntry, 'Amt');
  const indicator = textOf(child(ntry, 'CdtDbtInd'));
  if (amount === undefined || (indicator !== 'CRDT' && indicator !== 'DBIT')) {
    throw refuse('malformed', 'an entry needs Amt and CdtDbtInd CRDT or DBIT');
  }
  const status = textOf(child(ntry, 'Sts', 'Cd')) ?? textOf(child(ntry, 'Sts')) ?? '';
  const reference = textOf(child(ntry, 'AcctSvcrRef')) ?? textOf(child(ntry, 'NtryRef'));
  const remittance = children(child(ntry, 'NtryDtls') ?? ntry, 'TxDtls').flatMap((tx) =>
    children(child(tx, 'RmtInf') ?? tx, 'Ustrd').map((u) => textOf(u) ?? ''),
  );
  return {
    bankReference: reference !== undefined && reference.length <= MAX_ID_LENGTH ? reference : null,
    direction: indicator === 'CRDT' ? 'credit' : 'debit',
    status: status.slice(0, 4),
    amountText: (textOf(amount) ?? '').slice(0, 40),
    currency: (amount.getAttribute('Ccy') ?? '').slice(0, 3),
    bookedOn: textOf(child(ntry, 'BookgDt', 'Dt'))?.slice(0, 10) ?? null,
    remittance,
  };
}

/**
 * Reads a camt.053 message (any 001.xx version). Refuses with `statement.too_large`,
 * `statement.forbidden_dtd`, `statement.malformed` or `statement.not_camt053`.
 */
export function parseCamt053(xml: string): ParsedStatement {
  const root = parseDocument(xml);
  if (root.localName !== 'Document' || !CAMT053.test(root.namespaceURI ?? '')) {
    throw refuse('not_camt053', 'the root is not a camt.053 Document');
  }
  const message = child(root, 'BkToCstmrStmt');
  if (message === undefined) throw refuse('not_camt053', 'BkToCstmrStmt is missing');
  const messageId = requiredId(message, 'the message id', 'GrpHdr', 'MsgId');
  let count = 0;
  const statements = children(message, 'Stmt').map((stmt) => {
    const account =
      textOf(child(stmt, 'Acct', 'Id', 'IBAN')) ?? textOf(child(stmt, 'Acct', 'Id', 'Othr', 'Id'));
    if (account === undefined || account.length > MAX_ID_LENGTH) {
      throw refuse('malformed', 'a statement names its account (Acct/Id/IBAN)');
    }
    const entries = children(stmt, 'Ntry').map(entryOf);
    count += entries.length;
    if (count > MAX_STATEMENT_ENTRIES) {
      throw refuse('too_large', `at most ${MAX_STATEMENT_ENTRIES} entries in one import`, 413);
    }
    return { id: requiredId(stmt, 'the statement id', 'Id'), account, entries };
  });
  if (statements.length === 0) throw refuse('malformed', 'the message has no Stmt');
  return { messageId, statements };
}

/**
 * An ISO 20022 amount (up to 5 decimals) in tiyn, exactly: digits past the second decimal must be
 * zeros, since KZT has two. Answers undefined for anything else.
 */
export function statementAmount(text: string): Tiyn | undefined {
  const match = /^(\d{1,18})(?:\.(\d{1,5}))?$/.exec(text);
  if (match === null) return undefined;
  const decimals = (match[2] ?? '').padEnd(5, '0');
  if (decimals.slice(2) !== '000') return undefined;
  const amount = BigInt(match[1]!) * TIYN_PER_TENGE + BigInt(decimals.slice(0, 2));
  return amount > 0n ? amount : undefined;
}

/** Whom the remittance names: UPP-WALLET-<BIN or IIN> tags first, else bare 12-digit BINs. */
export function walletTarget(remittance: readonly string[]): {
  tagged: boolean;
  numbers: string[];
} {
  const text = remittance.join(' ');
  const tags = new Set([...text.matchAll(WALLET_TAG)].map((m) => m[1]!));
  if (tags.size > 0) return { tagged: true, numbers: [...tags] };
  return { tagged: false, numbers: [...new Set(text.match(TWELVE_DIGITS) ?? [])] };
}

export type EntryOutcome =
  'deposited' | 'already_imported' | 'unmatched' | 'ignored' | 'pending' | 'rejected';

export interface EntryResult {
  statementId: string;
  bankReference: string | null;
  outcome: EntryOutcome;
  reason?: string;
  direction: 'credit' | 'debit';
  amount: string;
  currency: string;
  participantId?: string;
  walletEntryId?: string;
}

export interface StatementImport {
  messageId: string;
  statements: { id: string; account: string; importId: string }[];
  entries: EntryResult[];
  counts: Record<EntryOutcome, number>;
}

const OPERATOR_ROLES = ['single_operator', 'operator'];

async function requireOperator(tx: Queryable, session: Session): Promise<string> {
  const participantId = session.actingParticipantId;
  if (participantId === null) {
    throw new UppError('access.not_operator', 403, 'act for an operator to import statements');
  }
  const acting = await actingParticipant(tx, session, participantId);
  if (!acting.roles.some((role) => OPERATOR_ROLES.includes(role))) {
    throw new UppError('access.not_operator', 403, 'only an operator imports bank statements');
  }
  return participantId;
}

async function matchParticipant(
  tx: Queryable,
  remittance: readonly string[],
): Promise<string | undefined> {
  const target = walletTarget(remittance);
  if (target.numbers.length === 0) return undefined;
  const found = await tx.query<{ id: string }>(
    `SELECT id FROM participant
      WHERE status = 'active'
        AND (bin = ANY ($1::text[]) OR ($2 AND bin IS NULL AND iin = ANY ($1::text[])))
      LIMIT 2`,
    [target.numbers, target.tagged],
  );
  // A remittance that could name two wallets is left for the operator to match.
  return found.rows.length === 1 ? found.rows[0]!.id : undefined;
}

interface Importing {
  tx: Queryable;
  now: Date;
  actor: string;
  importId: string;
  account: string;
}

type Decision = { outcome: 'unmatched' | 'ignored' | 'deposited'; reason?: string };

function rule(entry: StatementEntry, amount: Tiyn | undefined): Decision | undefined {
  if (entry.direction === 'debit') return { outcome: 'ignored', reason: 'debit' };
  if (entry.currency !== 'KZT') return { outcome: 'ignored', reason: 'currency' };
  if (amount === undefined) return { outcome: 'ignored', reason: 'amount' };
  return undefined;
}

async function importEntry(run: Importing, entry: StatementEntry): Promise<EntryResult> {
  const base = {
    statementId: run.importId,
    bankReference: entry.bankReference,
    direction: entry.direction,
    amount: entry.amountText,
    currency: entry.currency,
  };
  if (entry.status !== 'BOOK') {
    // Not stored: the same entry comes again, booked, in a later statement.
    return { ...base, outcome: 'pending', reason: `status ${entry.status || 'missing'}` };
  }
  if (entry.bankReference === null) {
    return { ...base, outcome: 'rejected', reason: 'no AcctSvcrRef or NtryRef' };
  }
  const reference = `bank:${run.account}:${entry.bankReference}`;
  const known = await run.tx.query<{ outcome: string }>(
    'SELECT outcome FROM bank_entry WHERE reference = $1 FOR UPDATE',
    [reference],
  );
  const previous = known.rows[0]?.outcome;
  if (previous !== undefined && previous !== 'unmatched') {
    return { ...base, outcome: 'already_imported' };
  }
  const amount = statementAmount(entry.amountText);
  const decided = rule(entry, amount);
  const participantId =
    decided === undefined ? await matchParticipant(run.tx, entry.remittance) : undefined;
  if (previous === 'unmatched' && participantId === undefined) {
    return { ...base, outcome: 'already_imported', reason: 'still unmatched' };
  }
  const walletEntry =
    participantId === undefined
      ? undefined
      : await deposit(run.tx, {
          participantId,
          amount: amount!,
          reference,
          at: run.now,
          actor: run.actor,
          details: { statementId: run.importId, bookedOn: entry.bookedOn },
        });
  const decision: Decision = decided ?? {
    outcome: walletEntry === undefined ? 'unmatched' : 'deposited',
  };
  await recordBankEntry(run, reference, entry, amount, decision, participantId, walletEntry?.id);
  return {
    ...base,
    ...decision,
    ...(participantId === undefined ? {} : { participantId }),
    ...(walletEntry === undefined ? {} : { walletEntryId: walletEntry.id }),
    ...(walletEntry === undefined ? {} : { amount: formatAmount(walletEntry.amount) }),
  };
}

async function recordBankEntry(
  run: Importing,
  reference: string,
  entry: StatementEntry,
  amount: Tiyn | undefined,
  decision: Decision,
  participantId: string | undefined,
  walletEntryId: string | undefined,
): Promise<void> {
  await run.tx.query(
    `INSERT INTO bank_entry (reference, statement_id, direction, amount, amount_text, currency,
       booked_on, remittance, outcome, reason, participant_id, wallet_entry_id, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (reference) DO UPDATE
       SET outcome = EXCLUDED.outcome, participant_id = EXCLUDED.participant_id,
           wallet_entry_id = EXCLUDED.wallet_entry_id, recorded_at = EXCLUDED.recorded_at
       WHERE bank_entry.outcome = 'unmatched'`,
    [
      reference,
      run.importId,
      entry.direction,
      amount ?? null,
      entry.amountText || '?',
      /^[A-Z]{3}$/.test(entry.currency) ? entry.currency : NO_CURRENCY,
      /^\d{4}-\d{2}-\d{2}$/.test(entry.bookedOn ?? '') ? entry.bookedOn : null,
      entry.remittance.join('\n').slice(0, MAX_REMITTANCE),
      decision.outcome,
      decision.reason ?? null,
      walletEntryId === undefined ? null : (participantId ?? null),
      walletEntryId ?? null,
      run.now,
    ],
  );
}

async function statementImportId(
  tx: Queryable,
  statement: AccountStatement,
  messageId: string,
  sha256: string,
  importer: { participantId: string; userId: string },
  now: Date,
): Promise<string> {
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO bank_statement (id, account, statement_id, message_id, sha256, imported_at,
       imported_by_participant_id, imported_by_user_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (account, statement_id) DO NOTHING RETURNING id`,
    [
      randomUUID(),
      statement.account,
      statement.id,
      messageId,
      sha256,
      now,
      importer.participantId,
      importer.userId,
    ],
  );
  if (inserted.rows[0] !== undefined) return inserted.rows[0].id;
  const existing = await tx.query<{ id: string }>(
    'SELECT id FROM bank_statement WHERE account = $1 AND statement_id = $2',
    [statement.account, statement.id],
  );
  return existing.rows[0]!.id;
}

/**
 * Imports a camt.053 statement for an operator's user, in one transaction: a refusal imports
 * nothing. Importing the same statement again deposits nothing new.
 */
export async function importStatement(
  db: Database,
  clock: { now(): Date },
  session: Session,
  xml: string,
): Promise<StatementImport> {
  const parsed = parseCamt053(xml);
  const sha256 = createHash('sha256').update(xml, 'utf8').digest('hex');
  const now = clock.now();
  return db.transaction(async (tx) => {
    const participantId = await requireOperator(tx, session);
    const importer = { participantId, userId: session.userId };
    const statements: StatementImport['statements'] = [];
    const entries: EntryResult[] = [];
    for (const statement of parsed.statements) {
      const importId = await statementImportId(
        tx,
        statement,
        parsed.messageId,
        sha256,
        importer,
        now,
      );
      statements.push({ id: statement.id, account: statement.account, importId });
      const run = { tx, now, actor: session.identity, importId, account: statement.account };
      for (const entry of statement.entries) entries.push(await importEntry(run, entry));
    }
    const counts = countOutcomes(entries);
    await appendAudit(tx, clock, {
      actor: session.identity,
      action: 'wallet.statement.imported',
      target: `participant:${participantId}`,
      details: { messageId: parsed.messageId, sha256, counts },
    });
    return { messageId: parsed.messageId, statements, entries, counts };
  });
}

function countOutcomes(entries: readonly EntryResult[]): Record<EntryOutcome, number> {
  const counts: Record<EntryOutcome, number> = {
    deposited: 0,
    already_imported: 0,
    unmatched: 0,
    ignored: 0,
    pending: 0,
    rejected: 0,
  };
  for (const entry of entries) counts[entry.outcome] += 1;
  return counts;
}
