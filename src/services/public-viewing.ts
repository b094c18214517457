// Free public viewing: published lots and procurements, approved plans, the register of
// unreliable suppliers and the reference tables, in the reader's language (kk, ru, en).
import { createHash } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import {
  PROCUREMENT_METHODS,
  PROCUREMENT_STATUSES,
  REGIMES,
  REGIME_TITLES,
  STATUS_TITLES,
  methodOf,
} from '../domain/procurement-methods.js';
import type { Duration, ProcurementStatus, Regime, Titles } from '../domain/procurement-methods.js';
import type { Database, Queryable } from '../store/database.js';

export type Language = 'kk' | 'ru' | 'en';
export const LANGUAGES: readonly Language[] = ['kk', 'ru', 'en'];
export const DEFAULT_LANGUAGE: Language = 'ru';

/** Kinds of procurement events whose details say nothing a bidder or official must keep back. */
export const PUBLIC_EVENT_KINDS: ReadonlySet<string> = new Set([
  'published',
  'amended',
  'status_changed',
  'extended_for_outage',
  'offers_opened',
  'results_published',
  'winner_evaded',
  'cancelled',
  'refused',
  'completed',
  'appeal',
  'appeal_closed',
]);

export interface Coded {
  code: string;
  title: string;
}

/** `lang` when given, else the best kk/ru/en of Accept-Language, else Russian. */
export function chooseLanguage(lang: string | undefined, acceptLanguage: string | undefined) {
  if (lang !== undefined && (LANGUAGES as readonly string[]).includes(lang)) {
    return lang as Language;
  }
  const offers = (acceptLanguage ?? '')
    .slice(0, 500)
    .split(',')
    .map((entry, index) => {
      const [tag = '', ...parameters] = entry.trim().toLowerCase().split(';');
      const q = parameters.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find(Boolean);
      return { primary: tag.split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), index };
    })
    .filter((offer) => offer.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  const found = offers.find((offer) => (LANGUAGES as readonly string[]).includes(offer.primary));
  return (found?.primary as Language | undefined) ?? DEFAULT_LANGUAGE;
}

/** Participants have names in Kazakh and Russian only; English readers get the Russian one. */
function nameIn(lang: Language, names: { kk: string; ru: string }): string {
  return lang === 'kk' ? names.kk : names.ru;
}

function methodCoded(lang: Language, regime: string, code: string): Coded {
  const method = methodOf(regime as Regime, code);
  return { code, title: method?.titles[lang] ?? code };
}

function statusCoded(lang: Language, code: string): Coded {
  return { code, title: STATUS_TITLES[code as ProcurementStatus]?.[lang] ?? code };
}

function regimeCoded(lang: Language, code: string): Coded {
  return { code, title: REGIME_TITLES[code as Regime]?.[lang] ?? code };
}

function iso(instant: Date | null): string | null {
  return instant === null ? null : instant.toISOString();
}

// Paging: a position is the sort key of the last row given (its instant to the microsecond, as
// the database wrote it, and its id), so equal instants never make a row repeat or vanish.

export interface Position {
  at: string;
  id: string;
}

const POSITION_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The SQL that writes a timestamptz column as a position instant. */
export const positionOf = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The entity tag is a digest of the body as sent, so it changes exactly when the answer does. */
export function entityTag(body: string | Buffer): string {
  return `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.at}|${position.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  const badCursor = new UppError('search.bad_cursor', 400, 'the cursor is not one this API gave');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw badCursor;
  const [at = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !POSITION_AT.test(at) || !UUID.test(id)) throw badCursor;
  const millis = new Date(`${at.slice(0, 23)}Z`);
  if (Number.isNaN(millis.getTime()) || millis.toISOString().slice(0, 23) !== at.slice(0, 23)) {
    throw badCursor;
  }
  return { at, id };
}

// Filters: amounts and instants arrive as text and are refused with `search.bad_filter`.

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|([+-])(\d{2}):(\d{2}))$/;

function badFilter(message: string): UppError {
  return new UppError('search.bad_filter', 400, message);
}

/** Checks an ISO instant with an offset; the text itself goes to the database, exact. */
export function checkInstant(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = INSTANT.exec(text);
  const [year, month, day, hour, minute, second] = (match ?? [])
    .slice(1, 7)
    .map((part) => Number(part ?? 0));
  const calendarDay = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1));
  const valid =
    match !== null &&
    calendarDay.getUTCMonth() === (month ?? 0) - 1 &&
    calendarDay.getUTCDate() === day &&
    (hour ?? 0) <= 23 &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 59 &&
    Number(match[9] ?? 0) <= 14 &&
    Number(match[10] ?? 0) <= 59;
  if (!valid) {
    throw badFilter(`${name} is not an ISO instant with an offset, e.g. 2026-03-02T09:00+05:00`);
  }
  return Date.parse(text);
}

function amountFilter(name: string, text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  try {
    return parseAmount(text);
  } catch {
    throw badFilter(`${name} is not an amount in tenge with at most two decimals`);
  }
}

export interface SearchFilters {
  q?: string;
  method?: string;
  status?: string;
  regime?: string;
  customerBin?: string;
  region?: string;
  ensTru?: string;
  amountMin?: string;
  amountMax?: string;
  publishedFrom?: string;
  publishedTo?: string;
  offersEndFrom?: string;
  offersEndTo?: string;
}

export interface Page {
  limit: number;
  cursor?: string;
}

/** Parameter list of one statement: each value gets the next placeholder. */
class Parameters {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function checkRange(
  name: string,
  from: number | bigint | undefined,
  to: number | bigint | undefined,
) {
  if (from !== undefined && to !== undefined && from > to) {
    throw badFilter(`${name}: the lower bound is above the upper one`);
  }
}

/** The amount and instant filters, checked; a wrong one is refused with `search.bad_filter`. */
export function checkFilters(filters: SearchFilters) {
  const amountMin = amountFilter('amountMin', filters.amountMin);
  const amountMax = amountFilter('amountMax', filters.amountMax);
  checkRange('amountMin, amountMax', amountMin, amountMax);
  const published = [
    checkInstant('publishedFrom', filters.publishedFrom),
    checkInstant('publishedTo', filters.publishedTo),
  ] as const;
  checkRange('publishedFrom, publishedTo', ...published);
  const offersEnd = [
    checkInstant('offersEndFrom', filters.offersEndFrom),
    checkInstant('offersEndTo', filters.offersEndTo),
  ] as const;
  checkRange('offersEndFrom, offersEndTo', ...offersEnd);
  return { amountMin, amountMax, published, offersEnd };
}

/**
 * The conditions of a search over the one table aliased `t` (lot or procurement: both carry the
 * same filter columns). `ensTru` is the lot's own column, or any of the procurement's lots.
 */
function searchConditions(
  filters: SearchFilters,
  position: Position | undefined,
  params: Parameters,
  ensTruOf: (prefix: string) => string,
  textMatch: (q: string) => string = (q) =>
    `t.search @@ (websearch_to_tsquery('russian', ${q}) || websearch_to_tsquery('simple', ${q}))`,
): string[] {
  const { amountMin, amountMax } = checkFilters(filters);
  const where = ['t.published_at IS NOT NULL', "t.status <> 'draft'"];
  if (filters.q !== undefined) where.push(textMatch(params.add(filters.q)));
  const equal: [string, string | undefined][] = [
    ['method', filters.method],
    ['status', filters.status],
    ['regime', filters.regime],
    ['customer_bin', filters.customerBin],
    ['kato_region', filters.region],
  ];
  for (const [column, value] of equal) {
    if (value !== undefined) where.push(`t.${column} = ${params.add(value)}`);
  }
  if (filters.ensTru !== undefined) where.push(ensTruOf(params.add(filters.ensTru)));
  if (amountMin !== undefined) where.push(`t.amount >= ${params.add(amountMin)}`);
  if (amountMax !== undefined) where.push(`t.amount <= ${params.add(amountMax)}`);
  const instants: [string, string, string | undefined][] = [
    ['published_at', '>=', filters.publishedFrom],
    ['published_at', '<', filters.publishedTo],
    ['offers_end_at', '>=', filters.offersEndFrom],
    ['offers_end_at', '<', filters.offersEndTo],
  ];
  for (const [column, operator, value] of instants) {
    if (value !== undefined)
      where.push(`t.${column} ${operator} ${params.add(value)}::timestamptz`);
  }
  // Offers always end after publication, so the same bound on published_at changes no answer
  // but lets the (published_at, id) index start at the bound instead of at the newest row.
  if (filters.offersEndTo !== undefined) {
    where.push(`t.published_at < ${params.add(filters.offersEndTo)}::timestamptz`);
  }
  if (position !== undefined) where.push(before('t', position, params));
  return where;
}

/** Rows of `alias` after `position` in the newest-first order. */
function before(alias: string, position: Position, params: Parameters): string {
  const at = params.add(position.at);
  const id = params.add(position.id);
  return `(${alias}.published_at, ${alias}.id) < (${at}::timestamptz, ${id}::uuid)`;
}

export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

/** Rows were asked for one beyond the limit: that extra row only says another page exists. */
function pageOf<R extends { cursor_at: string; id: string }, T>(
  rows: R[],
  limit: number,
  shape: (row: R) => T,
): PageOf<T> {
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    items: shown.map(shape),
    nextCursor:
      rows.length > limit && last ? encodeCursor({ at: last.cursor_at, id: last.id }) : null,
  };
}

// Lots.

export interface LotRow {
  id: string;
  procurement_id: string;
  procurement_number: string;
  number: number;
  title_kk: string;
  title_ru: string;
  title_en: string;
  ens_tru: string;
  unit: string;
  quantity: string;
  unit_price: bigint;
  amount: bigint;
  kato: string;
  delivery_place: string;
  method: string;
  status: string;
  regime: string;
  customer_bin: string | null;
  published_at: Date | null;
  offers_end_at: Date | null;
  cursor_at: string;
}

export interface PublicLot {
  id: string;
  procurementId: string;
  procurementNumber: string;
  number: number;
  title: string;
  titles: Titles;
  ensTru: string;
  unit: string;
  quantity: string;
  unitPrice: string;
  amount: string;
  kato: string;
  deliveryPlace: string;
  method: Coded;
  status: Coded;
  regime: Coded;
  customerBin: string | null;
  publishedAt: string | null;
  offersEndAt: string | null;
}

export const LOT_COLUMNS = `t.id, t.procurement_id, t.number, t.title_kk, t.title_ru, t.title_en,
  t.ens_tru, t.unit, t.quantity, t.unit_price, t.amount, t.kato, t.delivery_place, t.method,
  t.status, t.regime, t.customer_bin, t.published_at, t.offers_end_at`;

export function lotView(lang: Language, row: LotRow): PublicLot {
  const titles = { kk: row.title_kk, ru: row.title_ru, en: row.title_en };
  return {
    id: row.id,
    procurementId: row.procurement_id,
    procurementNumber: row.procurement_number,
    number: row.number,
    title: titles[lang],
    titles,
    ensTru: row.ens_tru,
    unit: row.unit,
    quantity: row.quantity,
    unitPrice: formatAmount(row.unit_price),
    amount: formatAmount(row.amount),
    kato: row.kato,
    deliveryPlace: row.delivery_place,
    method: methodCoded(lang, row.regime, row.method),
    status: statusCoded(lang, row.status),
    regime: regimeCoded(lang, row.regime),
    customerBin: row.customer_bin,
    publishedAt: iso(row.published_at),
    offersEndAt: iso(row.offers_end_at),
  };
}

/** Lots looked at newest first before the search turns to the lookup index instead. */
const WINDOW_ROWS = 1000;

/** The lookup tokens of the equality filters (see the lot table's `lookup` column). */
export function facetTokens(filters: SearchFilters): string[] {
  const token = (prefix: string, value: string | undefined) =>
    value === undefined ? [] : [`${prefix}${value.replace(/[^0-9a-z]/g, '')}`];
  const ensDigits = filters.ensTru?.replace(/\D/g, '');
  const ensLength = [15, 6, 4, 2].find((length) => (ensDigits?.length ?? 0) >= length);
  return [
    ...token('zm', filters.method),
    ...token('zg', filters.regime),
    ...token('zs', filters.status),
    ...token('zr', filters.region),
    ...token('zc', filters.customerBin),
    ...(ensLength === undefined ? [] : token('ze', ensDigits!.slice(0, ensLength))),
  ];
}

function facetQuery(filters: SearchFilters): string | undefined {
  const tokens = facetTokens(filters);
  return tokens.length === 0 ? undefined : tokens.join(' & ');
}

const LOT_TEXT = (q: string) =>
  `t.lookup @@ (websearch_to_tsquery('russian', ${q}) || websearch_to_tsquery('simple', ${q}))`;

function lotConditions(filters: SearchFilters, position: Position | undefined, params: Parameters) {
  return searchConditions(
    filters,
    position,
    params,
    (prefix) => `t.ens_tru LIKE ${prefix} || '%'`,
    LOT_TEXT,
  );
}

function lotPage(where: string[], order: string, limit: string, from = 'lot t'): string {
  return `SELECT t.*, p.number AS procurement_number
       FROM (SELECT ${LOT_COLUMNS}, ${positionOf('t.published_at')} AS cursor_at
               FROM ${from} WHERE ${where.join(' AND ')} ${order} LIMIT ${limit}) t
       JOIN procurement p ON p.id = t.procurement_id
      ORDER BY t.published_at DESC, t.id DESC`;
}

const NEWEST_FIRST = 'ORDER BY t.published_at DESC, t.id DESC';

/** A search the planner expects to match at most this many lots is answered from the index. */
const INDEX_ROWS = 5000;
/** After the first window, lots are read in order this many times further before the index. */
const FURTHER_WINDOWS = 100;

/**
 * Published lots, newest first, at a cost that stays small whatever the filters. Lots are read
 * newest first and filtered, which stops as soon as a page is full: quick for any search that
 * matches often among recent lots. When the first window of WINDOW_ROWS lots does not fill the
 * page, a search the planner expects to be rare is answered from the lookup index (words and
 * filter tokens in one GIN scan); a common one, rare only among recent lots, reads further.
 */
export async function searchLots(
  db: Queryable,
  lang: Language,
  filters: SearchFilters,
  page: Page,
  tuning: { windowRows: number; indexRows: number } = {
    windowRows: WINDOW_ROWS,
    indexRows: INDEX_ROWS,
  },
): Promise<PageOf<PublicLot>> {
  const { windowRows, indexRows } = tuning;
  const position = decodeCursor(page.cursor);
  const wanted = page.limit + 1;
  const shape = (rows: LotRow[]) => pageOf(rows, page.limit, (row) => lotView(lang, row));
  const recent = await walk(db, filters, position, windowRows, wanted);
  if (recent.length === wanted) return shape(recent);
  const edge = await windowEdge(db, position, windowRows);
  if (edge === undefined) return shape(recent);
  const rest = wanted - recent.length;
  if ((await expectedMatches(db, filters, edge)) > indexRows) {
    const further = await walk(db, filters, edge, windowRows * FURTHER_WINDOWS, rest);
    if (further.length === rest) return shape([...recent, ...further]);
  }
  return shape([...recent, ...(await rareMatches(db, filters, edge, rest))]);
}

/** The matches among the next `rows` lots after `position`, newest first, at most `wanted`. */
async function walk(
  db: Queryable,
  filters: SearchFilters,
  position: Position | undefined,
  rows: number,
  wanted: number,
): Promise<LotRow[]> {
  const params = new Parameters();
  const window = newestLots(position, params, rows);
  const where = lotConditions(filters, undefined, params);
  const found = await db.query<LotRow>(
    lotPage(where, NEWEST_FIRST, params.add(wanted), window),
    params.values,
  );
  return found.rows;
}

/** How many lots after `position` the planner expects the search to match. */
async function expectedMatches(db: Queryable, filters: SearchFilters, position: Position) {
  const params = new Parameters();
  const where = indexConditions(filters, position, params);
  const plan = await db.query<{ 'QUERY PLAN': unknown }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM lot t WHERE ${where.join(' AND ')}`,
    params.values,
  );
  const text = plan.rows[0]?.['QUERY PLAN'];
  const parsed = (typeof text === 'string' ? JSON.parse(text) : text) as [
    { Plan: { 'Plan Rows': number } },
  ];
  return parsed[0].Plan['Plan Rows'];
}

/** The search's conditions with its filter tokens, for the lookup index. */
function indexConditions(filters: SearchFilters, position: Position, params: Parameters) {
  const where = lotConditions(filters, position, params);
  const facets = facetQuery(filters);
  if (facets !== undefined) where.push(`t.lookup @@ to_tsquery('simple', ${params.add(facets)})`);
  return where;
}

/** The newest WINDOW_ROWS published lots after `position`, as the table `t`. */
function newestLots(
  position: Position | undefined,
  params: Parameters,
  windowRows: number,
): string {
  const start = position === undefined ? [] : [before('w', position, params)];
  return `(SELECT * FROM lot w WHERE ${['w.published_at IS NOT NULL', ...start].join(' AND ')}
      ORDER BY w.published_at DESC, w.id DESC LIMIT ${params.add(windowRows)}) t`;
}

/** The last lot of the window, where the index search goes on; undefined if it was not full. */
async function windowEdge(db: Queryable, position: Position | undefined, windowRows: number) {
  const params = new Parameters();
  const start = position === undefined ? [] : [before('w', position, params)];
  const found = await db.query<{ at: string; id: string; n: bigint | number }>(
    `SELECT ${positionOf('w.published_at')} AS at, w.id, count(*) OVER () AS n
       FROM (SELECT w.id, w.published_at FROM lot w
              WHERE ${['w.published_at IS NOT NULL', ...start].join(' AND ')}
              ORDER BY w.published_at DESC, w.id DESC LIMIT ${params.add(windowRows)}) w
      ORDER BY w.published_at, w.id LIMIT 1`,
    params.values,
  );
  const row = found.rows[0];
  if (row === undefined || Number(row.n) < windowRows) return undefined;
  const edge: Position = { at: row.at, id: row.id };
  return edge;
}

/**
 * Matches older than the window, found through the lookup index (words and filter tokens in one
 * GIN scan), then ordered. Plain and ordered scans are turned off for this one statement, so the
 * planner cannot walk every lot for a search that matches almost none.
 */
async function rareMatches(
  db: Queryable,
  filters: SearchFilters,
  edge: Position,
  wanted: number,
): Promise<LotRow[]> {
  const params = new Parameters();
  const where = indexConditions(filters, edge, params);
  const sql = `WITH m AS MATERIALIZED (
      SELECT ${LOT_COLUMNS}, ${positionOf('t.published_at')} AS cursor_at
        FROM lot t WHERE ${where.join(' AND ')})
    SELECT m.*, p.number AS procurement_number
      FROM (SELECT * FROM m ORDER BY published_at DESC, id DESC LIMIT ${params.add(wanted)}) m
      JOIN procurement p ON p.id = m.procurement_id
     ORDER BY m.published_at DESC, m.id DESC`;
  if (!('transaction' in db)) return (await db.query<LotRow>(sql, params.values)).rows;
  return (db as Database).transaction(async (tx) => {
    await tx.exec('SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off');
    return (await tx.query<LotRow>(sql, params.values)).rows;
  });
}

// Procurements.

interface ProcurementRow {
  id: string;
  number: string;
  ocid: string;
  regime: string;
  method: string;
  status: string;
  title_kk: string;
  title_ru: string;
  title_en: string;
  customer_bin: string | null;
  amount: bigint;
  kato_region: string;
  published_at: Date | null;
  discussion_ends_at: Date | null;
  offers_end_at: Date | null;
  review_ends_at: Date | null;
  cursor_at: string;
}

export interface PublicProcurement {
  id: string;
  number: string;
  ocid: string;
  title: string;
  titles: Titles;
  method: Coded;
  status: Coded;
  regime: Coded;
  customerBin: string | null;
  region: string;
  amount: string;
  publishedAt: string | null;
  discussionEndsAt: string | null;
  offersEndAt: string | null;
  reviewEndsAt: string | null;
}

const PROCUREMENT_COLUMNS = `t.id, t.number, t.ocid, t.regime, t.method, t.status, t.title_kk,
  t.title_ru, t.title_en, t.customer_bin, t.amount, t.kato_region, t.published_at,
  t.discussion_ends_at, t.offers_end_at, t.review_ends_at`;

function procurementView(lang: Language, row: ProcurementRow): PublicProcurement {
  const titles = { kk: row.title_kk, ru: row.title_ru, en: row.title_en };
  return {
    id: row.id,
    number: row.number,
    ocid: row.ocid,
    title: titles[lang],
    titles,
    method: methodCoded(lang, row.regime, row.method),
    status: statusCoded(lang, row.status),
    regime: regimeCoded(lang, row.regime),
    customerBin: row.customer_bin,
    region: row.kato_region,
    amount: formatAmount(row.amount),
    publishedAt: iso(row.published_at),
    discussionEndsAt: iso(row.discussion_ends_at),
    offersEndAt: iso(row.offers_end_at),
    reviewEndsAt: iso(row.review_ends_at),
  };
}

/** Published procurements, newest first; `ensTru` matches when any of its lots has the code. */
export async function searchProcurements(
  db: Queryable,
  lang: Language,
  filters: SearchFilters,
  page: Page,
): Promise<PageOf<PublicProcurement>> {
  const params = new Parameters();
  const where = searchConditions(
    filters,
    decodeCursor(page.cursor),
    params,
    (prefix) => `EXISTS (SELECT 1 FROM lot l
                         WHERE l.procurement_id = t.id AND l.ens_tru LIKE ${prefix} || '%')`,
  );
  const rows = await db.query<ProcurementRow>(
    `SELECT ${PROCUREMENT_COLUMNS}, ${positionOf('t.published_at')} AS cursor_at
       FROM procurement t WHERE ${where.join(' AND ')}
      ORDER BY t.published_at DESC, t.id DESC LIMIT ${params.add(page.limit + 1)}`,
    params.values,
  );
  return pageOf(rows.rows, page.limit, (row) => procurementView(lang, row));
}

export interface PublicParty {
  id: string;
  bin: string | null;
  name: string;
  names: { kk: string; ru: string };
}

export interface PublicDocument {
  id: string;
  role: string;
  type: string;
  title: string;
  titles: Titles;
  attachedAt: string;
  path: string;
}

export interface PublicEvent {
  kind: string;
  at: string;
  details: Record<string, unknown> | null;
}

export interface ProcurementCard extends PublicProcurement {
  customer: PublicParty;
  organizer: PublicParty;
  securityBasisPoints: number;
  securityPercent: string;
  qualification: unknown[];
  reason: string | null;
  lots: PublicLot[];
  documents: PublicDocument[];
  history: PublicEvent[];
}

interface CardRow extends ProcurementRow {
  security_basis_points: number;
  qualification: unknown;
  reason: string | null;
  customer_id: string;
  customer_bin_of: string | null;
  customer_name_kk: string;
  customer_name_ru: string;
  organizer_id: string;
  organizer_bin: string | null;
  organizer_name_kk: string;
  organizer_name_ru: string;
}

/** 150 basis points as "1.50". */
function percentText(basisPoints: number): string {
  return `${Math.trunc(basisPoints / 100)}.${String(basisPoints % 100).padStart(2, '0')}`;
}

function party(lang: Language, id: string, bin: string | null, kk: string, ru: string) {
  const names = { kk, ru };
  return { id, bin, name: nameIn(lang, names), names };
}

/** One published procurement by id or number, with lots, public documents and history. */
export async function procurementCard(
  db: Queryable,
  lang: Language,
  ref: string,
): Promise<ProcurementCard> {
  const byId = UUID.test(ref.toLowerCase());
  const rows = await db.query<CardRow>(
    `SELECT ${PROCUREMENT_COLUMNS}, '' AS cursor_at, t.security_basis_points, t.qualification,
            t.reason, c.id AS customer_id, c.bin AS customer_bin_of, c.name_kk AS customer_name_kk,
            c.name_ru AS customer_name_ru, o.id AS organizer_id, o.bin AS organizer_bin,
            o.name_kk AS organizer_name_kk, o.name_ru AS organizer_name_ru
       FROM procurement t
       JOIN participant c ON c.id = t.customer_participant_id
       JOIN participant o ON o.id = t.organizer_participant_id
      WHERE ${byId ? 't.id = $1::uuid' : 't.number = $1'}
        AND t.published_at IS NOT NULL AND t.status <> 'draft'`,
    [byId ? ref.toLowerCase() : ref],
  );
  const row = rows.rows[0];
  if (row === undefined) {
    throw new UppError('procurement.not_found', 404, 'no published procurement has that reference');
  }

  const [lots, documents, events] = await Promise.all([
    db.query<LotRow>(
      `SELECT ${LOT_COLUMNS}, $2::text AS procurement_number, '' AS cursor_at
         FROM lot t WHERE t.procurement_id = $1 ORDER BY t.number`,
      [row.id, row.number],
    ),
    db.query<{
      id: string;
      role: string;
      type: string;
      title_kk: string;
      title_ru: string;
      title_en: string;
      attached_at: Date;
    }>(
      `SELECT d.id, pd.role, d.type, d.title_kk, d.title_ru, d.title_en, pd.attached_at
         FROM procurement_document pd JOIN document d ON d.id = pd.document_id
        WHERE pd.procurement_id = $1 AND d.visibility = 'public'
        ORDER BY pd.attached_at, d.id`,
      [row.id],
    ),
    db.query<{ kind: string; at: Date; details: Record<string, unknown> }>(
      'SELECT kind, at, details FROM procurement_event WHERE procurement_id = $1 ORDER BY id',
      [row.id],
    ),
  ]);

  return {
    ...procurementView(lang, row),
    customer: party(
      lang,
      row.customer_id,
      row.customer_bin_of,
      row.customer_name_kk,
      row.customer_name_ru,
    ),
    organizer: party(
      lang,
      row.organizer_id,
      row.organizer_bin,
      row.organizer_name_kk,
      row.organizer_name_ru,
    ),
    securityBasisPoints: row.security_basis_points,
    securityPercent: percentText(row.security_basis_points),
    qualification: Array.isArray(row.qualification) ? row.qualification : [],
    reason: row.reason,
    lots: lots.rows.map((lot) => lotView(lang, lot)),
    documents: documents.rows.map((document) => {
      const titles = { kk: document.title_kk, ru: document.title_ru, en: document.title_en };
      return {
        id: document.id,
        role: document.role,
        type: document.type,
        title: titles[lang],
        titles,
        attachedAt: document.attached_at.toISOString(),
        path: `/api/v1/documents/${document.id}`,
      };
    }),
    history: events.rows.map((event) => ({
      kind: event.kind,
      at: event.at.toISOString(),
      details: PUBLIC_EVENT_KINDS.has(event.kind) ? event.details : null,
    })),
  };
}

// Plans.

export interface PlanFilters {
  customerBin?: string;
  year?: number;
  kind?: string;
}

interface PlanRow {
  id: string;
  year: number;
  kind: string;
  version: number;
  approved_at: Date;
  customer_id: string;
  customer_bin: string | null;
  customer_name_kk: string;
  customer_name_ru: string;
  item_count: bigint;
  total: bigint;
  cursor_at: string;
}

export interface PublicPlan {
  id: string;
  year: number;
  kind: string;
  version: number;
  approvedAt: string;
  customer: PublicParty;
  itemCount: number;
  amount: string;
}

const PLAN_SELECT = `SELECT t.id, t.year, t.kind, t.version, t.approved_at,
    c.id AS customer_id, c.bin AS customer_bin, c.name_kk AS customer_name_kk,
    c.name_ru AS customer_name_ru, ${positionOf('t.approved_at')} AS cursor_at,
    (SELECT count(*) FROM plan_item i WHERE i.plan_id = t.id AND i.status = 'active')
      AS item_count,
    (SELECT coalesce(sum(i.amount), 0)::bigint FROM plan_item i
      WHERE i.plan_id = t.id AND i.status = 'active') AS total
  FROM plan t JOIN participant c ON c.id = t.customer_participant_id`;

function planView(lang: Language, row: PlanRow): PublicPlan {
  return {
    id: row.id,
    year: row.year,
    kind: row.kind,
    version: row.version,
    approvedAt: row.approved_at.toISOString(),
    customer: party(
      lang,
      row.customer_id,
      row.customer_bin,
      row.customer_name_kk,
      row.customer_name_ru,
    ),
    itemCount: Number(row.item_count),
    amount: formatAmount(row.total),
  };
}

/** Approved plans, the latest approval first. */
export async function searchPlans(
  db: Queryable,
  lang: Language,
  filters: PlanFilters,
  page: Page,
): Promise<PageOf<PublicPlan>> {
  const position = decodeCursor(page.cursor);
  const params = new Parameters();
  const where = ["t.status = 'approved'", 't.approved_at IS NOT NULL'];
  if (filters.customerBin !== undefined) where.push(`c.bin = ${params.add(filters.customerBin)}`);
  if (filters.year !== undefined) where.push(`t.year = ${params.add(filters.year)}`);
  if (filters.kind !== undefined) where.push(`t.kind = ${params.add(filters.kind)}`);
  if (position !== undefined) {
    const at = params.add(position.at);
    where.push(`(t.approved_at, t.id) < (${at}::timestamptz, ${params.add(position.id)}::uuid)`);
  }
  const rows = await db.query<PlanRow>(
    `${PLAN_SELECT} WHERE ${where.join(' AND ')}
      ORDER BY t.approved_at DESC, t.id DESC LIMIT ${params.add(page.limit + 1)}`,
    params.values,
  );
  return pageOf(rows.rows, page.limit, (row) => planView(lang, row));
}

export interface PublicPlanItem {
  id: string;
  number: number;
  ensTru: string;
  name: string;
  names: Titles;
  unit: string;
  quantity: string;
  unitPrice: string;
  amount: string;
  month: number;
  kato: string;
  deliveryPlace: string;
  fundingSource: string;
  regime: Coded;
  method: Coded;
}

export interface PlanCard extends PublicPlan {
  items: PublicPlanItem[];
}

/** One approved plan with its active items in their order. */
export async function planCard(db: Queryable, lang: Language, id: string): Promise<PlanCard> {
  const rows = await db.query<PlanRow>(
    `${PLAN_SELECT} WHERE t.id = $1 AND t.status = 'approved' AND t.approved_at IS NOT NULL`,
    [id],
  );
  const row = rows.rows[0];
  if (row === undefined) throw new UppError('plan.not_found', 404, 'no approved plan has that id');
  const items = await db.query<{
    id: string;
    number: number;
    ens_tru: string;
    name_kk: string;
    name_ru: string;
    name_en: string;
    unit: string;
    quantity: string;
    unit_price: bigint;
    amount: bigint;
    month: number;
    kato: string;
    delivery_place: string;
    funding_source: string;
    regime: string;
    method: string;
  }>(
    `SELECT id, number, ens_tru, name_kk, name_ru, name_en, unit, quantity, unit_price, amount,
            month, kato, delivery_place, funding_source, regime, method
       FROM plan_item WHERE plan_id = $1 AND status = 'active' ORDER BY number`,
    [id],
  );
  return {
    ...planView(lang, row),
    items: items.rows.map((item) => {
      const names = { kk: item.name_kk, ru: item.name_ru, en: item.name_en };
      return {
        id: item.id,
        number: item.number,
        ensTru: item.ens_tru,
        name: names[lang],
        names,
        unit: item.unit,
        quantity: item.quantity,
        unitPrice: formatAmount(item.unit_price),
        amount: formatAmount(item.amount),
        month: item.month,
        kato: item.kato,
        deliveryPlace: item.delivery_place,
        fundingSource: item.funding_source,
        regime: regimeCoded(lang, item.regime),
        method: methodCoded(lang, item.regime, item.method),
      };
    }),
  };
}

// The register of unreliable suppliers.

export interface PublicUnreliableSupplier {
  id: string;
  participantId: string | null;
  bin: string | null;
  iin: string | null;
  name: string;
  names: { kk: string; ru: string };
  reason: string;
  procurementId: string | null;
  includedAt: string;
  excludedAt: string;
}

/** `%` and `_` typed by a reader are letters, not wildcards. */
function likeText(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** Entries still in force at `now`, the latest inclusion first; `q` is a name part or BIN/IIN. */
export async function searchUnreliableSuppliers(
  db: Queryable,
  lang: Language,
  search: { q?: string },
  page: Page,
  now: Date,
): Promise<PageOf<PublicUnreliableSupplier>> {
  const position = decodeCursor(page.cursor);
  const params = new Parameters();
  const where = [`u.excluded_at > ${params.add(now)}`];
  if (search.q !== undefined) {
    const name = params.add(`%${likeText(search.q)}%`);
    const number = params.add(`${likeText(search.q)}%`);
    where.push(`(u.name_ru ILIKE ${name} OR u.name_kk ILIKE ${name}
                 OR u.bin LIKE ${number} OR u.iin LIKE ${number})`);
  }
  if (position !== undefined) {
    const at = params.add(position.at);
    where.push(`(u.included_at, u.id) < (${at}::timestamptz, ${params.add(position.id)}::uuid)`);
  }
  const rows = await db.query<{
    id: string;
    participant_id: string | null;
    bin: string | null;
    iin: string | null;
    name_kk: string;
    name_ru: string;
    reason: string;
    procurement_id: string | null;
    included_at: Date;
    excluded_at: Date;
    cursor_at: string;
  }>(
    `SELECT u.id, u.participant_id, u.bin, u.iin, u.name_kk, u.name_ru, u.reason,
            u.procurement_id, u.included_at, u.excluded_at,
            ${positionOf('u.included_at')} AS cursor_at
       FROM unreliable_supplier u WHERE ${where.join(' AND ')}
      ORDER BY u.included_at DESC, u.id DESC LIMIT ${params.add(page.limit + 1)}`,
    params.values,
  );
  return pageOf(rows.rows, page.limit, (row) => {
    const names = { kk: row.name_kk, ru: row.name_ru };
    return {
      id: row.id,
      participantId: row.participant_id,
      bin: row.bin,
      iin: row.iin,
      name: nameIn(lang, names),
      names,
      reason: row.reason,
      procurementId: row.procurement_id,
      includedAt: row.included_at.toISOString(),
      excludedAt: row.excluded_at.toISOString(),
    };
  });
}

// Reference tables.

function durationView(duration: Duration | undefined) {
  return duration === undefined ? null : { n: duration.n, unit: duration.unit };
}

/** Methods per regime, statuses and regimes, with titles in all three languages. */
export function referenceTables(lang: Language) {
  return {
    methods: PROCUREMENT_METHODS.map((method) => ({
      code: method.code,
      regime: method.regime,
      title: method.titles[lang],
      titles: method.titles,
      discussion: durationView(method.discussion),
      acceptance: durationView(method.acceptance),
      review: durationView(method.review),
      securityBasisPoints: method.securityBasisPoints,
      maxMrp: method.maxMrp ?? null,
      goodsOnly: method.goodsOnly,
      oneLot: method.oneLot,
      hasAuction: method.hasAuction,
    })),
    statuses: PROCUREMENT_STATUSES.map((code) => ({
      code,
      title: STATUS_TITLES[code][lang],
      titles: STATUS_TITLES[code],
    })),
    regimes: REGIMES.map((code) => ({
      code,
      title: REGIME_TITLES[code][lang],
      titles: REGIME_TITLES[code],
    })),
  };
}
