// Open data in the Open Contracting Data Standard 1.1: a release of each change of a procurement,
// the change feed over them, records with the compiled (merged) release, and the bulk export.
import { randomBytes } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { formatAmount } from '../domain/money.js';
import { methodOf } from '../domain/procurement-methods.js';
import type { MethodCode, ProcurementStatus, Regime } from '../domain/procurement-methods.js';
import type { Queryable } from '../store/database.js';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** An OCDS release as published: the fields this platform fills, open to the rest of the schema. */
export interface Release extends JsonObject {
  ocid: string;
  id: string;
  date: string;
  tag: string[];
  initiationType: string;
}

export interface ReleaseChange {
  tag: string[];
  date: Date;
}

/** How readers publish: stored releases keep paths, resolved against the public address. */
export interface PublishOptions {
  /** UPP_PUBLIC_URL; '' leaves `/api/v1/...` paths as they are stored. */
  publicBaseUrl?: string;
}

export const OCDS_VERSION = '1.1';
export const PUBLISHER = { name: 'UPP: единая платформа закупок' } as const;
export const LICENSE = 'https://creativecommons.org/licenses/by/4.0/';
/** Items carry deliveryAddress and deliveryLocation, which core OCDS 1.1 leaves to this. */
export const EXTENSIONS = [
  'https://raw.githubusercontent.com/open-contracting-extensions/ocds_location_extension/' +
    'v1.1.5/extension.json',
] as const;
/** Our own scheme name for the goods, works and services classifier (ENS TRU). */
export const ENS_TRU_SCHEME = 'KZ-ENSTRU';
const CURRENCY = 'KZT';

/** Our statuses in the closed tenderStatus codelist. Review and the auction are still part of
 * the running tender ("active"); results and completion close it. */
const TENDER_STATUS: Readonly<Record<ProcurementStatus, string>> = {
  draft: 'planning',
  published: 'active',
  accepting: 'active',
  awaiting_agreement: 'active',
  review: 'active',
  auction_pending: 'active',
  results: 'complete',
  appeal: 'active',
  completed: 'complete',
  cancelled: 'cancelled',
  refused: 'cancelled',
};

/** Methods in the closed method codelist: single source is a direct award, the rest are open. */
const PROCUREMENT_METHOD: Readonly<Record<MethodCode, string>> = {
  tender: 'open',
  rating_tender: 'open',
  turnkey_tender: 'open',
  auction: 'open',
  price_request: 'open',
  single_source: 'direct',
};

/** Roles of procurement documents in the documentType codelist. */
const DOCUMENT_TYPE: Readonly<Record<string, string>> = {
  documentation: 'biddingDocuments',
  amendment: 'biddingDocuments',
  protocol: 'evaluationReports',
  other: 'tenderNotice',
};

/** Document types of our own that say more than their role does. */
const DOCUMENT_TYPE_BY_KIND: Readonly<Record<string, string>> = {
  technical_specification: 'technicalSpecifications',
  contract_draft: 'contractDraft',
  evaluation_criteria: 'evaluationCriteria',
  clarification: 'clarifications',
  complaint: 'complaints',
  cancellation: 'cancellationDetails',
};

/** Oblasts and cities of republican significance by the first two digits of KATO. */
const KATO_REGIONS: Readonly<Record<string, string>> = {
  '10': 'Абайская область',
  '11': 'Акмолинская область',
  '15': 'Актюбинская область',
  '19': 'Алматинская область',
  '23': 'Атырауская область',
  '27': 'Западно-Казахстанская область',
  '31': 'Жамбылская область',
  '33': 'Область Жетісу',
  '35': 'Карагандинская область',
  '39': 'Костанайская область',
  '43': 'Кызылординская область',
  '47': 'Мангистауская область',
  '55': 'Павлодарская область',
  '59': 'Северо-Казахстанская область',
  '61': 'Туркестанская область',
  '62': 'Область Ұлытау',
  '63': 'Восточно-Казахстанская область',
  '71': 'город Астана',
  '75': 'город Алматы',
  '79': 'город Шымкент',
};

/** Names of common units of the national classifier (КЕИ), the codes lots carry. */
const UNIT_NAMES: Readonly<Record<string, string>> = {
  '796': 'Штука',
  '166': 'Килограмм',
  '168': 'Тонна',
  '112': 'Литр',
  '006': 'Метр',
  '055': 'Квадратный метр',
  '113': 'Кубический метр',
  '839': 'Комплект',
  '715': 'Пара',
  '356': 'Час',
  '359': 'Сутки',
  '362': 'Месяц',
  '5111': 'Услуга',
  '5114': 'Работа',
};

const COUNTRY = 'Казахстан';

interface ProcurementRow {
  id: string;
  number: string;
  ocid: string;
  regime: Regime;
  method: string;
  status: ProcurementStatus;
  title_kk: string;
  title_ru: string;
  title_en: string;
  amount: bigint;
  published_at: Date | null;
  discussion_ends_at: Date | null;
  offers_end_at: Date | null;
  review_ends_at: Date | null;
  customer_participant_id: string;
  organizer_participant_id: string;
}

interface PartyRow {
  id: string;
  bin: string | null;
  iin: string | null;
  country: string | null;
  foreign_registration: string | null;
  name_kk: string;
  name_ru: string;
  address: { kato?: string; text?: string } | null;
}

interface LotRow {
  id: string;
  number: number;
  ens_tru: string;
  title_kk: string;
  title_ru: string;
  title_en: string;
  unit: string;
  quantity: string;
  unit_price: bigint;
  kato: string;
  delivery_place: string;
}

interface AwardRow extends LotRow {
  winner_price: bigint | null;
  decided_at: Date;
  evaded_at: Date | null;
  supplier_id: string | null;
}

interface DocumentRow {
  id: string;
  type: string;
  title_kk: string;
  title_ru: string;
  title_en: string;
  language: string;
  role: string;
  attached_at: Date;
}

/** Tiyn as a JSON number of tenge; refused when a double could not carry it exactly. */
export function tengeValue(tiyn: bigint): number {
  const text = formatAmount(tiyn);
  const value = Number(text);
  if (value.toFixed(2) !== text) {
    throw new UppError('ocds.amount_unrepresentable', 500, `${text} KZT is too large for OCDS`);
  }
  return value;
}

function partyId(party: PartyRow): string {
  if (party.bin !== null) return `KZ-BIN-${party.bin}`;
  if (party.iin !== null) return `KZ-IIN-${party.iin}`;
  if (party.country !== null && party.foreign_registration !== null) {
    return `${party.country}-REG-${party.foreign_registration}`;
  }
  return `UPP-${party.id}`;
}

function identifierOf(party: PartyRow): JsonObject {
  if (party.bin !== null) return { scheme: 'KZ-BIN', id: party.bin, legalName: party.name_ru };
  if (party.iin !== null) return { scheme: 'KZ-IIN', id: party.iin, legalName: party.name_ru };
  return { id: party.foreign_registration ?? party.id, legalName: party.name_ru };
}

function regionOf(kato: string | undefined): string | undefined {
  return kato === undefined ? undefined : KATO_REGIONS[kato.slice(0, 2)];
}

function addressOf(street: string | undefined, kato: string | undefined): JsonObject {
  const region = regionOf(kato);
  return {
    ...(street === undefined || street === '' ? {} : { streetAddress: street }),
    ...(region === undefined ? {} : { region }),
    countryName: COUNTRY,
  };
}

function partyOf(party: PartyRow, roles: string[]): JsonObject {
  return {
    id: partyId(party),
    name: party.name_ru,
    name_kk: party.name_kk,
    identifier: identifierOf(party),
    address: addressOf(party.address?.text, party.address?.kato),
    roles,
  };
}

/**
 * The category from the lots' ENS TRU codes, whose first six digits are the КПВЭД (CPA) code:
 * divisions 01-36 are goods, 41-43 works, 37-39 and 45-99 services. Mixed lots say nothing.
 */
export function categoryOf(ensTruCodes: readonly string[]): string | undefined {
  const categories = new Set(
    ensTruCodes.map((code) => {
      const division = Number(code.slice(0, 2));
      if (division >= 41 && division <= 43) return 'works';
      if (division >= 1 && division <= 36) return 'goods';
      return 'services';
    }),
  );
  return categories.size === 1 ? [...categories][0] : undefined;
}

function itemOf(lot: LotRow): JsonObject {
  const unitName = UNIT_NAMES[lot.unit];
  return {
    id: String(lot.number),
    description: lot.title_ru,
    description_kk: lot.title_kk,
    description_en: lot.title_en,
    classification: { scheme: ENS_TRU_SCHEME, id: lot.ens_tru },
    quantity: Number(lot.quantity),
    unit: {
      id: lot.unit,
      ...(unitName === undefined ? {} : { name: unitName }),
      value: { amount: tengeValue(lot.unit_price), currency: CURRENCY },
    },
    deliveryAddress: addressOf(lot.delivery_place, lot.kato),
    deliveryLocation: {
      description: lot.delivery_place,
      gazetteer: { scheme: 'KZ-KATO', identifiers: [lot.kato] },
    },
  };
}

function documentOf(document: DocumentRow): JsonObject {
  const documentType =
    DOCUMENT_TYPE_BY_KIND[document.type] ?? DOCUMENT_TYPE[document.role] ?? 'tenderNotice';
  return {
    id: document.id,
    documentType,
    title: document.title_ru,
    title_kk: document.title_kk,
    title_en: document.title_en,
    url: `/api/v1/documents/${document.id}`,
    datePublished: document.attached_at.toISOString(),
    language: document.language,
  };
}

function period(start: Date | null, end: Date | null): JsonObject | undefined {
  if (start === null && end === null) return undefined;
  return {
    ...(start === null ? {} : { startDate: start.toISOString() }),
    ...(end === null ? {} : { endDate: end.toISOString() }),
  };
}

function releaseId(ocid: string, date: Date): string {
  const stamp = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${ocid}-${stamp}-${randomBytes(4).toString('hex')}`;
}

async function procurementOf(db: Queryable, id: string): Promise<ProcurementRow> {
  const found = await db.query<ProcurementRow>(
    `SELECT id, number, ocid, regime, method, status, title_kk, title_ru, title_en, amount,
            published_at, discussion_ends_at, offers_end_at, review_ends_at,
            customer_participant_id, organizer_participant_id
       FROM procurement WHERE id = $1`,
    [id],
  );
  const row = found.rows[0];
  if (row === undefined) throw new UppError('ocds.not_found', 404, `no procurement ${id}`);
  return row;
}

async function partiesOf(db: Queryable, ids: string[]): Promise<Map<string, PartyRow>> {
  const found = await db.query<PartyRow>(
    `SELECT id, bin, iin, country, foreign_registration, name_kk, name_ru, address
       FROM participant WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(found.rows.map((row) => [row.id, row]));
}

function partiesAndRoles(row: ProcurementRow, found: Map<string, PartyRow>) {
  const customer = found.get(row.customer_participant_id);
  const organizer = found.get(row.organizer_participant_id);
  if (customer === undefined || organizer === undefined) {
    throw new UppError('ocds.party_missing', 500, `a party of procurement ${row.id} is missing`);
  }
  const same = customer.id === organizer.id;
  const parties = [partyOf(customer, same ? ['buyer', 'procuringEntity'] : ['buyer'])];
  if (!same) parties.push(partyOf(organizer, ['procuringEntity']));
  const reference = (party: PartyRow) => ({ id: partyId(party), name: party.name_ru });
  return { parties, buyer: reference(customer), procuringEntity: reference(organizer) };
}

/** A release of the procurement as it stands now (a full snapshot, tagged with the change). */
export async function buildRelease(
  db: Queryable,
  procurementId: string,
  change: ReleaseChange,
): Promise<Release> {
  const row = await procurementOf(db, procurementId);
  const lots = await db.query<LotRow>(
    `SELECT id, number, ens_tru, title_kk, title_ru, title_en, unit, quantity::text AS quantity,
            unit_price, kato, delivery_place
       FROM lot WHERE procurement_id = $1 ORDER BY number`,
    [procurementId],
  );
  const documents = await db.query<DocumentRow>(
    `SELECT d.id, d.type, d.title_kk, d.title_ru, d.title_en, d.language, pd.role, pd.attached_at
       FROM procurement_document pd JOIN document d ON d.id = pd.document_id
      WHERE pd.procurement_id = $1 AND d.visibility = 'public'
      ORDER BY pd.attached_at, d.id`,
    [procurementId],
  );

  const results = await db.query<AwardRow>(
    `SELECT l.id, l.number, l.ens_tru, l.title_kk, l.title_ru, l.title_en, l.unit,
            l.quantity::text AS quantity, l.unit_price, l.kato, l.delivery_place,
            r.winner_price, r.decided_at, r.evaded_at, a.supplier_participant_id AS supplier_id
       FROM lot_result r
       JOIN lot l ON l.id = r.lot_id
       LEFT JOIN application a ON a.id = r.winner_application_id
      WHERE r.procurement_id = $1
      ORDER BY l.number`,
    [procurementId],
  );
  const supplierIds = [...new Set(results.rows.flatMap((award) => award.supplier_id ?? []))];
  const found = await partiesOf(db, [
    row.customer_participant_id,
    row.organizer_participant_id,
    ...supplierIds,
  ]);

  const { parties, buyer, procuringEntity } = partiesAndRoles(row, found);
  for (const supplier of supplierIds) parties.push(partyOf(found.get(supplier)!, ['supplier']));
  const method = methodOf(row.regime, row.method);
  const category = method?.goodsOnly ? 'goods' : categoryOf(lots.rows.map((lot) => lot.ens_tru));
  const enquiryPeriod =
    row.discussion_ends_at === null ? undefined : period(row.published_at, row.discussion_ends_at);
  const tenderPeriod = period(row.published_at, row.offers_end_at);
  const awardPeriod = period(row.offers_end_at, row.review_ends_at);

  const tender: JsonObject = {
    id: row.number,
    title: row.title_ru,
    title_kk: row.title_kk,
    title_en: row.title_en,
    status: TENDER_STATUS[row.status] ?? 'active',
    procuringEntity,
    value: { amount: tengeValue(row.amount), currency: CURRENCY },
    procurementMethod: PROCUREMENT_METHOD[row.method as MethodCode] ?? 'open',
    procurementMethodDetails: method?.titles.ru ?? row.method,
    ...(method === undefined
      ? {}
      : {
          procurementMethodDetails_kk: method.titles.kk,
          procurementMethodDetails_en: method.titles.en,
        }),
    ...(category === undefined ? {} : { mainProcurementCategory: category }),
    ...(tenderPeriod === undefined ? {} : { tenderPeriod }),
    ...(enquiryPeriod === undefined ? {} : { enquiryPeriod }),
    ...(awardPeriod === undefined ? {} : { awardPeriod }),
    items: lots.rows.map(itemOf),
    documents: documents.rows.map(documentOf),
  };
  return {
    ocid: row.ocid,
    id: releaseId(row.ocid, change.date),
    date: change.date.toISOString(),
    tag: [...change.tag],
    initiationType: 'tender',
    language: 'ru',
    parties,
    buyer,
    tender,
    ...(results.rows.length === 0
      ? {}
      : { awards: results.rows.map((award) => awardOf(row.ocid, award, found)) }),
  };
}

/**
 * A lot's result as an award: `active` for its winner, `cancelled` once the winner has evaded
 * the contract, `unsuccessful` when nobody qualified. Its id is stable: one award per lot.
 */
function awardOf(ocid: string, award: AwardRow, parties: Map<string, PartyRow>): JsonObject {
  const supplier = award.supplier_id === null ? undefined : parties.get(award.supplier_id);
  let status = 'unsuccessful';
  if (supplier !== undefined) status = award.evaded_at === null ? 'active' : 'cancelled';
  return {
    id: `${ocid}-lot-${award.number}`,
    title: award.title_ru,
    title_kk: award.title_kk,
    title_en: award.title_en,
    status,
    date: award.decided_at.toISOString(),
    ...(award.winner_price === null
      ? {}
      : { value: { amount: tengeValue(award.winner_price), currency: CURRENCY } }),
    suppliers: supplier === undefined ? [] : [{ id: partyId(supplier), name: supplier.name_ru }],
    items: [itemOf(award)],
  };
}

/** Builds the release and stores it; call it in the transaction that made the change. */
export async function recordRelease(
  tx: Queryable,
  procurementId: string,
  change: ReleaseChange,
): Promise<{ releaseId: string }> {
  const release = await buildRelease(tx, procurementId, change);
  await tx.query(
    `INSERT INTO ocds_release (ocid, release_id, procurement_id, date, release)
     VALUES ($1, $2, $3, $4, $5)`,
    [release.ocid, release.id, procurementId, change.date, release],
  );
  return { releaseId: release.id };
}

/** Puts the public address in front of the `/api/v1/...` paths a stored release keeps. */
export function published<T extends Json>(value: T, options: PublishOptions = {}): T {
  const base = options.publicBaseUrl ?? '';
  const walk = (node: Json, key: string | undefined): Json => {
    if (typeof node === 'string') return key === 'url' && node.startsWith('/') ? base + node : node;
    if (Array.isArray(node)) return node.map((item) => walk(item, undefined));
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
  };
  return walk(value, undefined) as T;
}

export interface FeedPage {
  releases: Release[];
  /** Where the next page starts: the cursor after the last release, or the one given. */
  cursor: string | undefined;
}

interface FeedPosition {
  tx: string;
  seq: bigint;
}

export function encodeFeedCursor(position: FeedPosition): string {
  return Buffer.from(`${position.tx}.${position.seq}`).toString('base64url');
}

export function decodeFeedCursor(cursor: string): FeedPosition {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const match = /^(\d{1,20})\.(\d{1,19})$/.exec(text);
  if (match === null) {
    throw new UppError('feed.bad_cursor', 400, 'the cursor is not one this feed gave');
  }
  return { tx: match[1]!, seq: BigInt(match[2]!) };
}

/**
 * Releases after the cursor in (tx, seq) order. Sequence numbers are taken when a row is
 * inserted, not when its transaction commits, so a reader going by seq alone could pass a row
 * whose transaction commits later and never see it. Only rows of transactions older than every
 * transaction still running are returned: those are final, and every release still to come
 * belongs to a running or later transaction, whose id is at least that horizon, so it sorts
 * after the cursor. A long-running writer delays the feed; it never makes it skip.
 */
export async function releasesAfter(
  db: Queryable,
  cursor: string | undefined,
  limit: number,
  options: PublishOptions = {},
): Promise<FeedPage> {
  const after = cursor === undefined ? { tx: '0', seq: 0n } : decodeFeedCursor(cursor);
  const found = await db.query<{ tx: string; seq: bigint; release: Release }>(
    `SELECT tx::text AS tx, seq, release FROM ocds_release
      WHERE (tx, seq) > ($1::xid8, $2::bigint)
        AND tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx, seq
      LIMIT $3`,
    [after.tx, after.seq, limit],
  );
  const last = found.rows.at(-1);
  return {
    releases: found.rows.map((row) => published(row.release, options)),
    cursor: last === undefined ? cursor : encodeFeedCursor(last),
  };
}

/** One stored release by its id, or undefined. */
export async function releaseById(
  db: Queryable,
  releaseId: string,
  options: PublishOptions = {},
): Promise<Release | undefined> {
  const found = await db.query<{ release: Release }>(
    'SELECT release FROM ocds_release WHERE release_id = $1',
    [releaseId],
  );
  const release = found.rows[0]?.release;
  return release === undefined ? undefined : published(release, options);
}

/** Fields of a release the schema marks `omitWhenMerged`: the compiled release has its own. */
const OMIT_WHEN_MERGED = ['id', 'date', 'tag'] as const;

/** Arrays the schema marks `wholeListMerge`: replaced whole even though their objects have id. */
const WHOLE_LIST_FIELDS = new Set(['additionalIdentifiers', 'additionalClassifications']);

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function identified(value: Json[]): value is JsonObject[] {
  return value.length > 0 && value.every((item) => isObject(item) && item.id !== undefined);
}

/** OCDS merge of one field: null removes it, objects merge, arrays of objects merge by id. */
function mergeValue(prior: Json | undefined, next: Json, key: string): Json | undefined {
  if (next === null) return undefined;
  if (isObject(next)) {
    if (Object.keys(next).length === 0) return {};
    return mergeObject(isObject(prior) ? prior : {}, next);
  }
  if (Array.isArray(next)) {
    if (WHOLE_LIST_FIELDS.has(key) || !identified(next)) return structuredClone(next);
    return mergeById(Array.isArray(prior) && identified(prior) ? prior : [], next);
  }
  return next;
}

function mergeObject(prior: JsonObject, next: JsonObject): JsonObject {
  const merged: JsonObject = { ...prior };
  for (const [key, value] of Object.entries(next)) {
    const result = mergeValue(prior[key], value, key);
    if (result === undefined) delete merged[key];
    else merged[key] = result;
  }
  return merged;
}

/** Objects with the same id are merged in place; new ids are appended in their order. */
function mergeById(prior: JsonObject[], next: JsonObject[]): JsonObject[] {
  const key = (item: JsonObject) => JSON.stringify(item.id);
  const merged = new Map(prior.map((item) => [key(item), item]));
  const latest = new Map(next.map((item) => [key(item), item]));
  for (const [id, item] of latest) merged.set(id, mergeObject(merged.get(id) ?? {}, item));
  return [...merged.values()];
}

/** The compiled release: every release merged in date order (ties keep their given order). */
export function compileReleases(releases: readonly Release[]): Release {
  const ordered = releases
    .map((release, index) => ({ release, index, at: Date.parse(release.date) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map((entry) => entry.release);
  const last = ordered.at(-1);
  if (last === undefined) throw new UppError('ocds.not_found', 404, 'no releases to compile');
  let compiled: JsonObject = {};
  for (const release of ordered) {
    const fields: JsonObject = { ...release };
    for (const omitted of OMIT_WHEN_MERGED) delete fields[omitted];
    compiled = mergeObject(compiled, fields);
  }
  return {
    ...compiled,
    ocid: last.ocid,
    id: `${last.ocid}-${last.date}`,
    date: last.date,
    tag: ['compiled'],
    initiationType: String(compiled.initiationType ?? last.initiationType),
  };
}

export interface RecordOptions extends PublishOptions {
  /** When given, releases are linked by this address instead of embedded. */
  releaseUrl?: (releaseId: string) => string;
}

export interface OcdsRecord extends JsonObject {
  ocid: string;
  releases: Json[];
  compiledRelease: Release;
}

function recordOf(ocid: string, releases: Release[], options: RecordOptions): OcdsRecord {
  const shown = releases.map((release) => published(release, options));
  const { releaseUrl } = options;
  return {
    ocid,
    releases:
      releaseUrl === undefined
        ? shown
        : shown.map((release) => ({
            url: releaseUrl(release.id),
            date: release.date,
            tag: release.tag,
          })),
    compiledRelease: compileReleases(shown),
  };
}

/** The record of one contracting process, or 404 `ocds.not_found`. */
export async function compileRecord(
  db: Queryable,
  ocid: string,
  options: RecordOptions = {},
): Promise<OcdsRecord> {
  const found = await db.query<{ release: Release }>(
    'SELECT release FROM ocds_release WHERE ocid = $1 ORDER BY date, seq',
    [ocid],
  );
  if (found.rows.length === 0) throw new UppError('ocds.not_found', 404, `no record ${ocid}`);
  return recordOf(
    ocid,
    found.rows.map((row) => row.release),
    options,
  );
}

export interface ExportOptions extends RecordOptions {
  /** Contracting processes read per query: bounds the memory the export holds. */
  pageSize?: number;
}

/**
 * One compiled record per line (JSON Lines), in ocid order. Pages of ocids are read by keyset
 * so the export holds one page of releases at a time, whatever the size of the table.
 */
export async function* exportJsonLines(
  db: Queryable,
  options: ExportOptions = {},
): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 100;
  let after = '';
  for (;;) {
    const ocids = await db.query<{ ocid: string }>(
      `SELECT DISTINCT ocid FROM ocds_release WHERE ocid > $1 ORDER BY ocid LIMIT $2`,
      [after, pageSize],
    );
    if (ocids.rows.length === 0) return;
    const page = ocids.rows.map((row) => row.ocid);
    const found = await db.query<{ ocid: string; release: Release }>(
      `SELECT ocid, release FROM ocds_release WHERE ocid = ANY($1::text[])
        ORDER BY ocid, date, seq`,
      [page],
    );
    const byOcid = new Map<string, Release[]>();
    for (const row of found.rows) {
      const list = byOcid.get(row.ocid) ?? [];
      list.push(row.release);
      byOcid.set(row.ocid, list);
    }
    for (const ocid of page) {
      yield `${JSON.stringify(recordOf(ocid, byOcid.get(ocid) ?? [], options))}\n`;
    }
    after = page.at(-1)!;
    if (page.length < pageSize) return;
  }
}

export interface PackageMeta extends PublishOptions {
  uri: string;
  /** Used when the package holds nothing to date it by. */
  now: Date;
}

function latestDate(dates: string[], now: Date): string {
  return (
    dates.reduce<string | undefined>(
      (latest, date) =>
        latest === undefined || Date.parse(date) > Date.parse(latest) ? date : latest,
      undefined,
    ) ?? now.toISOString()
  );
}

function packageHeader(meta: PackageMeta, dates: string[]): JsonObject {
  const base = meta.publicBaseUrl ?? '';
  return {
    uri: meta.uri,
    version: OCDS_VERSION,
    extensions: [...EXTENSIONS],
    publishedDate: latestDate(dates, meta.now),
    publisher: { ...PUBLISHER, uri: base === '' ? null : base },
    license: LICENSE,
    publicationPolicy: base === '' ? null : `${base}/api/docs`,
  };
}

/** A release package; dated by its newest release, as the standard asks of packages on demand. */
export function releasePackage(meta: PackageMeta, releases: Release[]): JsonObject {
  return {
    ...packageHeader(
      meta,
      releases.map((release) => release.date),
    ),
    releases,
  };
}

export function recordPackage(meta: PackageMeta, records: OcdsRecord[]): JsonObject {
  return {
    ...packageHeader(
      meta,
      records.map((record) => record.compiledRelease.date),
    ),
    records,
  };
}
