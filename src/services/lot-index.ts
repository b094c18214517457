// Each node's own search index of the public lots, in memory: for every lookup token (a word of a
// title or a filter value, as in the lot table's `lookup` column) the lots that carry it, newest
// first. A search walks the shortest list that every match must be on and checks the rest per
// lot, so it costs microseconds where the database would intersect large index scans. The index
// is built from the lot table at start and follows the OCDS releases, which every public change
// of a lot writes: it reads the releases its last snapshot could not see, so it misses none.
// Answers are the database search's, row for row; a query it cannot answer exactly (a phrase, a
// prefix) or an index still being built is left to the database.
import type { Database } from '../store/database.js';
import {
  LOT_COLUMNS,
  checkFilters,
  decodeCursor,
  encodeCursor,
  entityTag,
  facetTokens,
  lotView,
  positionOf,
} from './public-viewing.js';
import type {
  Language,
  LotRow,
  Page,
  PageOf,
  Position,
  PublicLot,
  SearchFilters,
} from './public-viewing.js';
import { mapLexemes, parseTextQuery } from './text-query.js';
import type { TextQuery } from './text-query.js';

/** Lots read per statement while the index is built. */
const LOAD_BATCH = 20_000;
/** Bytes of written lots kept, all languages together; past it a language starts over. */
const WRITTEN_BYTES = 1536 * 1024 * 1024;
/** Written lots are kept in buffers of this size: a few large objects, not a million. */
const CHUNK_BYTES = 16 * 1024 * 1024;
/** Pages kept as sent until the next change. */
const PAGE_CACHE = 2_000;
/** Searches remembered as asked once, before the list starts over. */
const ASKED_KEPT = 20_000;
/** The filters a page depends on, in a fixed order. */
const PAGE_FILTERS: readonly (keyof SearchFilters)[] = [
  'q',
  'method',
  'status',
  'regime',
  'customerBin',
  'region',
  'ensTru',
  'amountMin',
  'amountMax',
  'publishedFrom',
  'publishedTo',
  'offersEndFrom',
  'offersEndTo',
];
/** Parsed text queries kept; visitors repeat the same words. */
const QUERY_CACHE = 10_000;
/** How often, at the most, the index reads new changes when no search asks it to. */
const BACKGROUND_SYNC_MS = 5_000;
const SEPARATOR = '\u001f';
const ITEMS_OPEN = '{"items":[';
/** A token on at least one lot in this many (and on BITMAP_MIN lots) gets a bitmap. */
const BITMAP_SHARE = 256;
const BITMAP_MIN = 4096;
/** A list of at most this many lots that every match is on is read in order, not bitmaps. */
const SHORT_LIST = 4096;
const PUBLIC = "t.published_at IS NOT NULL AND t.status <> 'draft'";
const INDEX_COLUMNS = `t.id::text AS id, t.procurement_id::text AS procurement_id,
  (extract(epoch FROM t.published_at) * 1000000)::float8 AS published,
  (extract(epoch FROM t.offers_end_at) * 1000000)::float8 AS offers_end,
  t.amount::float8 AS amount, t.ens_tru,
  array_to_string(tsvector_to_array(t.lookup), chr(31)) AS tokens`;

/** A page as the route sends it: its body and entity tag, written once. */
export interface SentPage {
  /**
   * Text, not bytes: a string an answer dies with is collected young, where a buffer per answer
   * would be memory outside the heap whose growth forces full collections.
   */
  body: string;
  tag: string;
}

/** Writes one lot's JSON as the page's schema does. */
export type LotWriter = (lot: PublicLot) => string;

/**
 * The JSON of lots in one language as pages show them, kept in large buffers by slot, so a page
 * is copied together from bytes without reading the database or making objects per lot. A lot
 * that changes is forgotten and written again when next shown.
 */
class WrittenLots {
  private chunks: Buffer[] = [];
  private used = CHUNK_BYTES;
  private chunkOf = new Int32Array(0);
  private offsetOf = new Int32Array(0);
  private lengthOf = new Int32Array(0);
  bytes = 0;

  length(slot: number): number {
    return slot < this.lengthOf.length ? this.lengthOf[slot]! : 0;
  }

  text(slot: number): string {
    const offset = this.offsetOf[slot]!;
    const length = this.lengthOf[slot]!;
    return this.chunks[this.chunkOf[slot]!]!.toString('utf8', offset, offset + length);
  }

  put(slot: number, bytes: Buffer, slots: number): void {
    if (bytes.length === 0 || bytes.length > CHUNK_BYTES) return;
    if (this.lengthOf.length < slots) this.grow(slots);
    if (this.used + bytes.length > CHUNK_BYTES) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK_BYTES));
      this.used = 0;
    }
    bytes.copy(this.chunks.at(-1)!, this.used);
    this.chunkOf[slot] = this.chunks.length - 1;
    this.offsetOf[slot] = this.used;
    this.lengthOf[slot] = bytes.length;
    this.used += bytes.length;
    this.bytes += bytes.length;
  }

  forget(slot: number): void {
    if (slot < this.lengthOf.length) this.lengthOf[slot] = 0;
  }

  private grow(slots: number): void {
    const length = Math.max(slots, this.lengthOf.length * 2, 1024);
    this.chunkOf = grownInts(this.chunkOf, length);
    this.offsetOf = grownInts(this.offsetOf, length);
    this.lengthOf = grownInts(this.lengthOf, length);
  }
}

interface IndexRow {
  id: string;
  procurement_id: string;
  published: number;
  offers_end: number | null;
  amount: number;
  ens_tru: string;
  tokens: string;
}

/** A growable list of lot slots in (published_at, id) order, oldest first. */
class SlotList {
  data = new Int32Array(4);
  length = 0;

  private room(): void {
    if (this.length < this.data.length) return;
    const grown = new Int32Array(this.data.length * 2);
    grown.set(this.data);
    this.data = grown;
  }

  push(slot: number): void {
    this.room();
    this.data[this.length] = slot;
    this.length += 1;
  }

  insert(at: number, slot: number): void {
    this.room();
    this.data.copyWithin(at + 1, at, this.length);
    this.data[at] = slot;
    this.length += 1;
  }

  remove(at: number): void {
    this.data.copyWithin(at, at + 1, this.length);
    this.length -= 1;
  }
}

/** A Float64Array twice as long, with the old values. */
function grownFloats(from: Float64Array, length: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(length);
  grown.set(from);
  return grown;
}

function grownInts(from: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(length);
  grown.set(from);
  return grown;
}

/** Microseconds since the epoch of an ISO instant with up to six decimals of a second. */
export function instantMicros(text: string): number {
  const below = /\.\d{3}(\d{1,3})/.exec(text)?.[1] ?? '';
  return Date.parse(text) * 1000 + Number(below.padEnd(3, '0'));
}

/** The position text (as positionOf writes it) of microseconds since the epoch. */
function microsText(micros: number): string {
  const millis = Math.floor(micros / 1000);
  const below = String(micros - millis * 1000).padStart(3, '0');
  return `${new Date(millis).toISOString().slice(0, 23)}${below}Z`;
}

function positionMicros(position: Position): number {
  return instantMicros(position.at);
}

/** What a search asks of each lot, checked and with its tokens numbered. */
interface Plan {
  tokens: number[];
  text: TextQuery<number> | undefined;
  ensTru: string | undefined;
  amountMin: number;
  amountMax: number;
  publishedFrom: number;
  publishedTo: number;
  offersEndFrom: number | undefined;
  offersEndTo: number | undefined;
}

export interface LotIndexOptions {
  /** The longest a search may be answered before the index reads newer changes (0: never). */
  staleMs: number;
  /** The fewest lots a token needs for a bitmap (BITMAP_MIN unless a test asks for fewer). */
  bitmapMin?: number;
  /** The longest list read in order instead of bitmaps (SHORT_LIST unless a test asks). */
  shortList?: number;
  /**
   * The language whose JSON of every lot is written in the background once the first page has
   * been asked for (its writer comes with that page), so pages in it never read the database.
   */
  prewrite?: Language;
}

/** Lots read per statement while the prewrite language is written. */
const PREWRITE_BATCH = 2_000;

interface IndexLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export class LotIndex {
  private readonly db: Database;
  private readonly options: LotIndexOptions;
  private state: 'idle' | 'building' | 'ready' | 'stopped' = 'idle';
  /** The snapshot (pg_snapshot text) whose committed changes the index holds. */
  private snapshot = '';
  private syncStartedAt = -Infinity;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private applied = 0;

  private size = 0;
  private published = new Float64Array(1024);
  private offersEnd = new Float64Array(1024);
  private amount = new Float64Array(1024);
  private tokenStart = new Int32Array(1024);
  private tokenCount = new Int32Array(1024);
  private readonly ids: string[] = [];
  private readonly ens: string[] = [];
  private readonly procurementOf: string[] = [];
  /** Slots are numbered in the index's order, but for these (published out of order). */
  private readonly late = new Set<number>();
  private lateBits = new Int32Array(1024 >>> 5);
  /** The sort key of the newest lot numbered in order: a newer one is numbered in order too. */
  private orderMicros = -Infinity;
  private orderId = '';
  private readonly slotOf = new Map<string, number>();
  private readonly lotsOf = new Map<string, number[]>();
  private pool = new Int32Array(1 << 16);
  private poolUsed = 0;
  private poolLive = 0;
  private readonly dictionary = new Map<string, number>();
  private readonly postings: SlotList[] = [];
  /** A bit per slot for the tokens that many lots carry: a check in one step, not a scan. */
  private readonly bitmaps: (Int32Array | undefined)[] = [];
  private scratch = new Int32Array(0);
  private all = new SlotList();
  private written: Partial<Record<Language, WrittenLots>> = {};
  /** The writer of the first page asked for, which the background prewrite uses too. */
  private writer: LotWriter | undefined;
  /** Lots the prewrite has written so far (all of them once it is done). */
  private prewritten = 0;
  private readonly texts = new Map<string, string>();
  /** Pages sent since the last change, by search: the popular searches are asked again. */
  private readonly pages = new Map<string, SentPage>();
  /** Searches asked once since the last change: a page is kept when it is asked again. */
  private readonly asked = new Set<string>();
  private readonly queries = new Map<string, TextQuery | null>();

  constructor(db: Database, options: LotIndexOptions) {
    this.db = db;
    this.options = options;
  }

  /** Builds the index in the background and keeps it following; searches use it once built. */
  start(log?: IndexLog): void {
    if (this.state !== 'idle') return;
    this.state = 'building';
    const started = performance.now();
    this.build()
      .then(() => {
        if (this.state === 'stopped') return;
        this.state = 'ready';
        log?.info(
          { event: 'search_index.ready', lots: this.all.length, ms: performance.now() - started },
          'search_index.ready',
        );
        // Read changes twice within the staleness a search allows, so that searches rarely
        // have to wait for a read themselves.
        const every =
          this.options.staleMs > 0
            ? Math.max(20, Math.min(BACKGROUND_SYNC_MS, this.options.staleMs / 2))
            : BACKGROUND_SYNC_MS;
        this.timer = setInterval(() => {
          this.sync().catch((error: unknown) =>
            log?.warn({ event: 'search_index.sync_failed', error }, 'sync failed'),
          );
        }, every);
        this.timer.unref();
      })
      .catch((error: unknown) => {
        if (this.state === 'stopped') return;
        this.state = 'idle';
        log?.warn({ event: 'search_index.build_failed', error }, 'build failed');
      });
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  get status(): { state: string; lots: number; prewritten?: number } {
    const status = { state: this.state, lots: this.all.length };
    return this.options.prewrite === undefined
      ? status
      : { ...status, prewritten: this.prewritten };
  }

  /** Builds the index now and waits for it (tests, and the start of a node that must have it). */
  async ready(): Promise<void> {
    if (this.state !== 'idle') throw new Error('the index is already started');
    this.state = 'building';
    await this.build();
    this.state = 'ready';
  }

  /**
   * The page the database search would give, or undefined when the index is not built yet or
   * cannot answer the query exactly (the caller asks the database then). Its rows are read from
   * the database: `page` is what the route sends.
   */
  async search(
    lang: Language,
    filters: SearchFilters,
    page: Page,
  ): Promise<PageOf<PublicLot> | undefined> {
    const found = await this.find(filters, page);
    if (found === undefined || !('slots' in found)) return undefined;
    const rows = await this.rowsOf(found.slots);
    return { items: rows.map((row) => lotView(lang, row)), nextCursor: found.nextCursor };
  }

  /**
   * The page the database search would give, as the route sends it: each lot as `write` writes
   * it, kept by the index from the first time it was shown. Undefined as for `search`.
   */
  async page(
    lang: Language,
    filters: SearchFilters,
    page: Page,
    write: LotWriter,
  ): Promise<SentPage | undefined> {
    if (this.writer === undefined) {
      this.writer = write;
      this.prewrite().catch(() => undefined);
    }
    const key = pageKey(lang, filters, page);
    const found = await this.find(filters, page, key);
    if (found === undefined || !('slots' in found)) return found;
    const applied = this.applied;
    const written = (this.written[lang] ??= new WrittenLots());
    const missing = found.slots.filter((slot) => written.length(slot) === 0);
    let fresh = missing.length === 0 ? undefined : await this.writeLots(lang, missing, write);
    if (applied !== this.applied) {
      // A change came in while the rows were read: this page is written from the database
      // alone, and nothing of it is kept.
      fresh = await this.writeLots(lang, found.slots, write);
    } else if (fresh !== undefined) {
      this.keep(lang, fresh);
    }
    const items: string[] = [];
    for (const slot of found.slots) {
      const text = fresh?.get(slot);
      if (text !== undefined) items.push(text);
      else if (written.length(slot) > 0) items.push(written.text(slot));
    }
    const next = JSON.stringify(found.nextCursor);
    const body = `${ITEMS_OPEN}${items.join(',')}],"nextCursor":${next}}`;
    const sent = { body, tag: entityTag(body) };
    if (applied === this.applied) this.remember(key, sent);
    return sent;
  }

  /**
   * Writes the prewrite language's JSON of every lot, newest first, in batches between which
   * searches go on. Lots that change meanwhile are written again when next shown.
   */
  private async prewrite(): Promise<void> {
    const lang = this.options.prewrite;
    const write = this.writer;
    if (lang === undefined || write === undefined) return;
    for (let end = this.all.length; end > 0 && this.state === 'ready'; end -= PREWRITE_BATCH) {
      const written = (this.written[lang] ??= new WrittenLots());
      const slots: number[] = [];
      for (let at = Math.max(0, end - PREWRITE_BATCH); at < end; at += 1) {
        const slot = this.all.data[at]!;
        if (written.length(slot) === 0) slots.push(slot);
      }
      const applied = this.applied;
      const fresh = await this.writeLots(lang, slots, write);
      if (applied === this.applied) this.keep(lang, fresh);
      this.prewritten = Math.min(this.all.length, this.all.length - end + PREWRITE_BATCH);
    }
  }

  /** The JSON of these lots, read from the database and written by `write`, by slot. */
  private async writeLots(
    lang: Language,
    slots: number[],
    write: LotWriter,
  ): Promise<Map<number, string>> {
    const fresh = new Map<number, string>();
    for (const row of await this.rowsOf(slots)) {
      const slot = this.slotOf.get(row.id);
      if (slot !== undefined) fresh.set(slot, write(lotView(lang, row)));
    }
    return fresh;
  }

  /**
   * Keeps a page that was asked for before, until the next change: the searches asked again
   * are kept, and the many asked once do not churn the cache.
   */
  private remember(key: string, sent: SentPage): void {
    if (!this.asked.has(key)) {
      if (this.asked.size >= ASKED_KEPT) this.asked.clear();
      this.asked.add(key);
      return;
    }
    this.pages.set(key, sent);
    for (const old of this.pages.keys()) {
      if (this.pages.size <= PAGE_CACHE) break;
      this.pages.delete(old);
    }
  }

  /** Keeps newly written lots; past the budget, this language starts over first. */
  private keep(lang: Language, fresh: ReadonlyMap<number, string>): void {
    let written = this.written[lang]!;
    const total = Object.values(this.written).reduce((sum, lots) => sum + lots.bytes, 0);
    if (total > WRITTEN_BYTES) {
      written = new WrittenLots();
      this.written[lang] = written;
    }
    for (const [slot, text] of fresh) written.put(slot, Buffer.from(text), this.published.length);
  }

  /**
   * The slots of a page and its next cursor, or a page sent before (by `key`), or undefined when
   * the index cannot answer. Checks the filters and the cursor as the database search does.
   */
  private async find(
    filters: SearchFilters,
    page: Page,
    key?: string,
  ): Promise<{ slots: number[]; nextCursor: string | null } | SentPage | undefined> {
    if (this.state !== 'ready') return undefined;
    const position = decodeCursor(page.cursor);
    const checked = checkFilters(filters);
    const text = filters.q === undefined ? undefined : await this.textQuery(filters.q);
    if (text === null) return undefined;
    if (performance.now() - this.syncStartedAt >= this.options.staleMs) await this.sync();
    const cached = key === undefined ? undefined : this.pages.get(key);
    if (cached !== undefined) return cached;
    const amount = (value: bigint | undefined, otherwise: number) =>
      value === undefined ? otherwise : Number(value);
    const instant = (text: string | undefined, otherwise: number) =>
      text === undefined ? otherwise : instantMicros(text);
    const plan: Plan = {
      tokens: facetTokens(filters).map((token) => this.dictionary.get(token) ?? -1),
      text: text === undefined ? undefined : mapLexemes(text, (l) => this.dictionary.get(l) ?? -1),
      ensTru: filters.ensTru,
      amountMin: amount(checked.amountMin, -Infinity),
      amountMax: amount(checked.amountMax, Infinity),
      publishedFrom: instant(filters.publishedFrom, -Infinity),
      publishedTo: instant(filters.publishedTo, Infinity),
      offersEndFrom:
        filters.offersEndFrom === undefined ? undefined : instant(filters.offersEndFrom, 0),
      offersEndTo: filters.offersEndTo === undefined ? undefined : instant(filters.offersEndTo, 0),
    };
    const found = this.collect(plan, position, page.limit + 1);
    const slots = found.slice(0, page.limit);
    const last = slots.at(-1);
    return {
      slots,
      nextCursor:
        found.length > page.limit && last !== undefined
          ? encodeCursor({ at: microsText(this.published[last]!), id: this.ids[last]! })
          : null,
    };
  }

  /**
   * Reads the changes committed since the last read. A search that asks waits for a read that
   * began after it asked, so it sees every change committed before it.
   */
  sync(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const previous = this.running ?? Promise.resolve();
    const next: Promise<void> = previous
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        this.running = next;
        return this.state === 'ready' ? this.readChanges() : undefined;
      })
      .finally(() => {
        if (this.running === next) this.running = undefined;
      });
    this.queued = next;
    return next;
  }

  private async build(): Promise<void> {
    const start = await this.db.query<{ snapshot: string }>(
      'SELECT pg_current_snapshot()::text AS snapshot',
    );
    let after: { at: string; id: string } | undefined;
    for (;;) {
      const batch = await this.db.query<IndexRow & { at: string }>(
        `SELECT ${INDEX_COLUMNS}, ${positionOf('t.published_at')} AS at FROM lot t
          WHERE ${PUBLIC} AND (t.published_at, t.id) > ($1::timestamptz, $2::uuid)
          ORDER BY t.published_at, t.id LIMIT $3`,
        [after?.at ?? '-infinity', after?.id ?? '00000000-0000-0000-0000-000000000000', LOAD_BATCH],
      );
      for (const row of batch.rows) this.place(row, false);
      const last = batch.rows.at(-1);
      if (last === undefined || batch.rows.length < LOAD_BATCH) break;
      after = { at: last.at, id: last.id };
      if (this.state === 'stopped') return;
    }
    this.orderLists();
    this.snapshot = start.rows[0]!.snapshot;
    this.syncStartedAt = -Infinity;
  }

  /** The posting lists of every lot placed so far, built in one pass in the index's order. */
  private orderLists(): void {
    const slots: number[] = [];
    for (const slot of this.slotOf.values()) slots.push(slot);
    slots.sort((a, b) => this.compare(a, b));
    this.all = new SlotList();
    for (const list of this.postings) list.length = 0;
    for (const slot of slots) {
      this.all.push(slot);
      const end = this.tokenStart[slot]! + this.tokenCount[slot]!;
      for (let at = this.tokenStart[slot]!; at < end; at += 1) {
        this.postings[this.pool[at]!]!.push(slot);
      }
    }
    this.postings.forEach((list, token) => this.mapIfCommon(token, list));
  }

  /** Gives a token a bitmap once one lot in BITMAP_SHARE carries it. */
  private mapIfCommon(token: number, list: SlotList): void {
    if (this.bitmaps[token] !== undefined || list.length < this.all.length / BITMAP_SHARE) return;
    if (list.length < (this.options.bitmapMin ?? BITMAP_MIN)) return;
    const bits = new Int32Array(this.published.length >>> 5);
    for (let at = 0; at < list.length; at += 1) {
      const slot = list.data[at]!;
      bits[slot >>> 5] = bits[slot >>> 5]! | (1 << (slot & 31));
    }
    this.bitmaps[token] = bits;
  }

  private async readChanges(): Promise<void> {
    this.syncStartedAt = performance.now();
    const found = await this.db.query<{ snapshot: string; changed: string[] | null }>(
      `SELECT pg_current_snapshot()::text AS snapshot,
              (SELECT array_agg(DISTINCT r.procurement_id::text) FROM ocds_release r
                WHERE r.tx >= pg_snapshot_xmin($1::pg_snapshot)
                  AND NOT pg_visible_in_snapshot(r.tx, $1::pg_snapshot)) AS changed`,
      [this.snapshot],
    );
    const { snapshot, changed } = found.rows[0]!;
    if (changed !== null && changed.length > 0) await this.reload(changed);
    this.snapshot = snapshot;
  }

  /** Reads the lots of these procurements again: placed, moved or taken out. */
  private async reload(procurements: string[]): Promise<void> {
    const found = await this.db.query<IndexRow>(
      `SELECT ${INDEX_COLUMNS} FROM lot t WHERE ${PUBLIC} AND t.procurement_id = ANY($1::uuid[])`,
      [procurements],
    );
    this.applied += 1;
    this.pages.clear();
    this.asked.clear();
    const kept = new Set<number>();
    for (const row of found.rows) kept.add(this.place(row, true));
    for (const procurement of procurements) {
      const slots = this.lotsOf.get(procurement) ?? [];
      for (const slot of slots.filter((slot) => !kept.has(slot))) this.takeOut(slot);
    }
  }

  /** One string object for equal texts: a million lots share a few hundred thousand. */
  private intern(text: string): string {
    const known = this.texts.get(text);
    if (known !== undefined) return known;
    this.texts.set(text, text);
    return text;
  }

  private token(text: string): number {
    let id = this.dictionary.get(text);
    if (id === undefined) {
      id = this.postings.length;
      this.dictionary.set(text, id);
      this.postings.push(new SlotList());
    }
    return id;
  }

  private newSlot(): number {
    const slot = this.size;
    this.size += 1;
    if (slot >= this.published.length) {
      const length = this.published.length * 2;
      this.published = grownFloats(this.published, length);
      this.offersEnd = grownFloats(this.offersEnd, length);
      this.amount = grownFloats(this.amount, length);
      this.tokenStart = grownInts(this.tokenStart, length);
      this.tokenCount = grownInts(this.tokenCount, length);
      this.lateBits = grownInts(this.lateBits, length >>> 5);
      this.bitmaps.forEach((bits, token) => {
        if (bits !== undefined) this.bitmaps[token] = grownInts(bits, length >>> 5);
      });
    }
    return slot;
  }

  /** Puts a lot's row into its slot (a new one for a new lot); `linked`: into the lists too. */
  private place(row: IndexRow, linked: boolean): number {
    const known = this.slotOf.get(row.id);
    if (known !== undefined) this.unlink(known, linked);
    const slot = known ?? this.newSlot();
    if (known === undefined) {
      this.slotOf.set(row.id, slot);
      this.ids[slot] = row.id;
      this.procurementOf[slot] = this.intern(row.procurement_id);
      const siblings = this.lotsOf.get(row.procurement_id);
      if (siblings === undefined) this.lotsOf.set(row.procurement_id, [slot]);
      else siblings.push(slot);
    }
    const moved = known !== undefined && this.published[known] !== row.published;
    this.published[slot] = row.published;
    if (moved) this.markLate(slot);
    else if (known === undefined) {
      const at = row.published;
      if (at > this.orderMicros || (at === this.orderMicros && row.id > this.orderId)) {
        this.orderMicros = at;
        this.orderId = row.id;
      } else {
        this.markLate(slot);
      }
    }
    this.offersEnd[slot] = row.offers_end ?? Number.NaN;
    this.amount[slot] = row.amount;
    this.ens[slot] = this.intern(row.ens_tru);
    const tokens = [...new Set(row.tokens.split(SEPARATOR))].map((text) => this.token(text));
    tokens.sort((a, b) => a - b);
    this.store(slot, tokens);
    this.forget(slot);
    if (linked) {
      this.link(this.all, slot);
      for (const token of tokens) {
        const list = this.postings[token]!;
        this.link(list, slot);
        const bits = this.bitmaps[token];
        if (bits === undefined) this.mapIfCommon(token, list);
        else bits[slot >>> 5] = bits[slot >>> 5]! | (1 << (slot & 31));
      }
    }
    return slot;
  }

  /** Writes a lot's token numbers into the pool, compacting it when most of it is stale. */
  private store(slot: number, tokens: number[]): void {
    if (this.poolUsed + tokens.length > this.pool.length) {
      const live = this.poolLive + tokens.length;
      const length = Math.max(this.pool.length, live * 2);
      const pool = new Int32Array(length);
      let used = 0;
      for (const other of this.slotOf.values()) {
        if (other === slot) continue;
        const start = this.tokenStart[other]!;
        const count = this.tokenCount[other]!;
        pool.set(this.pool.subarray(start, start + count), used);
        this.tokenStart[other] = used;
        used += count;
      }
      this.pool = pool;
      this.poolUsed = used;
    }
    this.pool.set(tokens, this.poolUsed);
    this.tokenStart[slot] = this.poolUsed;
    this.tokenCount[slot] = tokens.length;
    this.poolUsed += tokens.length;
    this.poolLive += tokens.length;
  }

  /** Takes a lot out of its lists (before its sort key or tokens change). */
  private unlink(slot: number, linked: boolean): void {
    const start = this.tokenStart[slot]!;
    const count = this.tokenCount[slot]!;
    if (linked) {
      this.unlinkFrom(this.all, slot);
      for (let at = start; at < start + count; at += 1) {
        const token = this.pool[at]!;
        this.unlinkFrom(this.postings[token]!, slot);
        const bits = this.bitmaps[token];
        if (bits !== undefined) bits[slot >>> 5] = bits[slot >>> 5]! & ~(1 << (slot & 31));
      }
    }
    this.poolLive -= count;
    this.tokenCount[slot] = 0;
  }

  private takeOut(slot: number): void {
    this.unlink(slot, true);
    const id = this.ids[slot]!;
    const procurement = this.procurementOf[slot]!;
    this.slotOf.delete(id);
    this.forget(slot);
    const siblings = (this.lotsOf.get(procurement) ?? []).filter((other) => other !== slot);
    if (siblings.length === 0) this.lotsOf.delete(procurement);
    else this.lotsOf.set(procurement, siblings);
    this.late.delete(slot);
    this.lateBits[slot >>> 5] = this.lateBits[slot >>> 5]! & ~(1 << (slot & 31));
  }

  /** Drops what was written of a lot that changed. */
  private forget(slot: number): void {
    for (const lots of Object.values(this.written)) lots.forget(slot);
  }

  private markLate(slot: number): void {
    this.late.add(slot);
    this.lateBits[slot >>> 5] = this.lateBits[slot >>> 5]! | (1 << (slot & 31));
  }

  /** The index's order: published_at, then id, as the database orders them. */
  private compare(a: number, b: number): number {
    const by = this.published[a]! - this.published[b]!;
    if (by !== 0) return by;
    const left = this.ids[a]!;
    const right = this.ids[b]!;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  /** The first place in `list` whose lot is not before (micros, id). */
  private lowerBound(list: SlotList, micros: number, id: string): number {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const slot = list.data[middle]!;
      const at = this.published[slot]!;
      if (at < micros || (at === micros && this.ids[slot]! < id)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private link(list: SlotList, slot: number): void {
    const last = list.length === 0 ? undefined : list.data[list.length - 1]!;
    if (last === undefined || this.compare(last, slot) < 0) {
      list.push(slot);
      return;
    }
    list.insert(this.lowerBound(list, this.published[slot]!, this.ids[slot]!), slot);
  }

  private unlinkFrom(list: SlotList, slot: number): void {
    const at = this.lowerBound(list, this.published[slot]!, this.ids[slot]!);
    if (list.data[at] === slot && at < list.length) list.remove(at);
  }

  private has(slot: number, token: number): boolean {
    const bits = this.bitmaps[token];
    if (bits !== undefined) return (bits[slot >>> 5]! & (1 << (slot & 31))) !== 0;
    const start = this.tokenStart[slot]!;
    const end = start + this.tokenCount[slot]!;
    for (let at = start; at < end; at += 1) {
      const value = this.pool[at]!;
      if (value === token) return true;
      if (value > token) return false;
    }
    return false;
  }

  /** The tokens of which every match carries one, or undefined when the query gives none. */
  private drivers(query: TextQuery<number>): number[] | undefined {
    switch (query.kind) {
      case 'lexeme':
        return [query.lexeme];
      case 'not':
        return undefined;
      case 'and': {
        const options = query.parts.map((part) => this.drivers(part));
        return this.fewest(options.filter((tokens) => tokens !== undefined));
      }
      case 'or': {
        const options = query.parts.map((part) => this.drivers(part));
        if (options.some((tokens) => tokens === undefined)) return undefined;
        return [...new Set(options.flatMap((tokens) => tokens!))];
      }
    }
  }

  private listOf(token: number): SlotList {
    return this.postings[token] ?? new SlotList();
  }

  /** Of several alternatives, the tokens whose lists hold the fewest lots in all. */
  private fewest(options: number[][]): number[] | undefined {
    let best: number[] | undefined;
    let bestLength = Infinity;
    for (const tokens of options) {
      const length = tokens.reduce((sum, token) => sum + this.listOf(token).length, 0);
      if (length < bestLength) {
        best = tokens;
        bestLength = length;
      }
    }
    return best;
  }

  private accepts(plan: Plan, slot: number): boolean {
    for (const token of plan.tokens) if (!this.has(slot, token)) return false;
    const amount = this.amount[slot]!;
    if (amount < plan.amountMin || amount > plan.amountMax) return false;
    const offersEnd = this.offersEnd[slot]!;
    if (plan.offersEndFrom !== undefined && !(offersEnd >= plan.offersEndFrom)) return false;
    if (plan.offersEndTo !== undefined && !(offersEnd < plan.offersEndTo)) return false;
    if (plan.ensTru !== undefined && !this.ens[slot]!.startsWith(plan.ensTru)) return false;
    return plan.text === undefined || this.matches(plan.text, slot);
  }

  private matches(query: TextQuery<number>, slot: number): boolean {
    switch (query.kind) {
      case 'lexeme':
        return this.has(slot, query.lexeme);
      case 'not':
        return !this.matches(query.part, slot);
      case 'and':
        for (const part of query.parts) if (!this.matches(part, slot)) return false;
        return true;
      case 'or':
        for (const part of query.parts) if (this.matches(part, slot)) return true;
        return false;
    }
  }

  /** Whether a lot is after `position` and inside the published range. */
  private inRange(plan: Plan, position: Position | undefined, micros: number, slot: number) {
    const at = this.published[slot]!;
    if (at < plan.publishedFrom || at >= plan.publishedTo) return false;
    if (position === undefined || at < micros) return true;
    return at === micros && this.ids[slot]! < position.id;
  }

  /**
   * The first `wanted` matching lots after `position`, newest first. A short list that every
   * match is on is read newest first; otherwise the bitmaps of the filters are intersected word
   * by word from the newest slot down, which stops as soon as the page is full.
   */
  private collect(plan: Plan, position: Position | undefined, wanted: number): number[] {
    if (plan.tokens.includes(-1)) return [];
    const options = plan.tokens.map((token) => [token]);
    const text =
      plan.text === undefined ? undefined : this.drivers(plan.text)?.filter((t) => t >= 0);
    if (text !== undefined) options.push(text);
    const driver = this.fewest(options);
    const length = driver?.reduce((sum, token) => sum + this.listOf(token).length, 0);
    const every = plan.tokens.flatMap((token) => this.bitmaps[token] ?? []);
    const mapped = every.length > 0 || (text?.some((t) => this.bitmaps[t] !== undefined) ?? false);
    if (driver === undefined || length! <= (this.options.shortList ?? SHORT_LIST) || !mapped) {
      return this.scan(plan, position, driver, wanted);
    }
    return this.walkBitmaps(plan, position, wanted, every, text);
  }

  /** Reads the lists of `driver` (or every lot) newest first, from `position` on. */
  private scan(
    plan: Plan,
    position: Position | undefined,
    driver: number[] | undefined,
    wanted: number,
  ): number[] {
    const lists = driver === undefined ? [this.all] : driver.map((token) => this.listOf(token));
    const heads = lists.map((list) => this.boundIn(list, plan, position) - 1);
    const found: number[] = [];
    if (lists.length === 1) {
      const list = lists[0]!;
      for (let at = heads[0]!; at >= 0 && found.length < wanted; at -= 1) {
        const slot = list.data[at]!;
        if (this.published[slot]! < plan.publishedFrom) break;
        if (this.accepts(plan, slot)) found.push(slot);
      }
      return found;
    }
    let previous = -1;
    while (found.length < wanted) {
      let best = -1;
      for (let at = 0; at < lists.length; at += 1) {
        const head = heads[at]!;
        if (head < 0) continue;
        const slot = lists[at]!.data[head]!;
        if (best === -1 || this.compare(slot, lists[best]!.data[heads[best]!]!) > 0) best = at;
      }
      if (best === -1) break;
      const slot = lists[best]!.data[heads[best]!]!;
      heads[best] = heads[best]! - 1;
      if (slot === previous) continue;
      previous = slot;
      if (this.published[slot]! < plan.publishedFrom) break;
      if (this.accepts(plan, slot)) found.push(slot);
    }
    return found;
  }

  /** The first place in `list` at or after the page's start (the cursor, or publishedTo). */
  private boundIn(list: SlotList, plan: Plan, position: Position | undefined): number {
    const below =
      position === undefined
        ? list.length
        : this.lowerBound(list, positionMicros(position), position.id);
    const until =
      plan.publishedTo === Infinity ? list.length : this.lowerBound(list, plan.publishedTo, '');
    return Math.min(below, until);
  }

  /**
   * The newest `wanted` matches among the lots set in every bitmap of `every` and carrying one
   * of the tokens of `text` (when given). Slots are numbered in the index's order, so reading
   * them from the highest down meets lots newest first and can stop at a full page; the few
   * lots placed out of order are looked at first.
   */
  private walkBitmaps(
    plan: Plan,
    position: Position | undefined,
    wanted: number,
    every: Int32Array[],
    text: number[] | undefined,
  ): number[] {
    const words = (this.size + 31) >>> 5;
    const union: Int32Array[] = [];
    const touched: number[] = [];
    if (this.scratch.length < this.lateBits.length) {
      this.scratch = new Int32Array(this.lateBits.length);
    }
    const scratch = this.scratch;
    for (const token of text ?? []) {
      const bits = this.bitmaps[token];
      if (bits !== undefined) {
        union.push(bits);
        continue;
      }
      const list = this.listOf(token);
      for (let at = 0; at < list.length; at += 1) {
        const slot = list.data[at]!;
        const word = slot >>> 5;
        if (scratch[word] === 0) touched.push(word);
        scratch[word] = scratch[word]! | (1 << (slot & 31));
      }
    }
    const micros = position === undefined ? Infinity : positionMicros(position);
    const top: number[] = [];
    const keep = (slot: number) => {
      let at = top.length;
      while (at > 0 && this.compare(slot, top[at - 1]!) > 0) at -= 1;
      top.splice(at, 0, slot);
      if (top.length > wanted) top.pop();
    };
    for (const slot of this.late) {
      if (!this.inRange(plan, position, micros, slot)) continue;
      if (top.length === wanted && this.compare(slot, top[wanted - 1]!) <= 0) continue;
      if (this.accepts(plan, slot)) keep(slot);
    }
    let start = words - 1;
    let bound = this.boundIn(this.all, plan, position) - 1;
    while (bound >= 0 && this.late.has(this.all.data[bound]!)) bound -= 1;
    if (bound < this.all.length - 1) start = bound < 0 ? -1 : this.all.data[bound]! >>> 5;
    walk: for (let word = start; word >= 0; word -= 1) {
      let bits = ~this.lateBits[word]!;
      for (let at = 0; at < every.length && bits !== 0; at += 1) bits &= every[at]![word]!;
      if (bits !== 0 && text !== undefined) {
        let any = scratch[word]!;
        for (const map of union) any |= map[word]!;
        bits &= any;
      }
      while (bits !== 0) {
        const high = 31 - Math.clz32(bits);
        bits &= ~(1 << high);
        const slot = (word << 5) | high;
        if (slot >= this.size) continue;
        if (this.published[slot]! < plan.publishedFrom) break walk;
        if (!this.inRange(plan, position, micros, slot)) continue;
        if (top.length === wanted && this.compare(slot, top[wanted - 1]!) <= 0) break walk;
        if (this.accepts(plan, slot)) keep(slot);
      }
    }
    for (const word of touched) scratch[word] = 0;
    return top;
  }

  /** The rows of these lots in the same order, read in one statement. */
  private async rowsOf(slots: number[]): Promise<LotRow[]> {
    const found = await this.db.query<LotRow>(
      `SELECT t.*, p.number AS procurement_number
         FROM (SELECT ${LOT_COLUMNS}, ${positionOf('t.published_at')} AS cursor_at
                 FROM lot t WHERE t.id = ANY($1::uuid[])) t
         JOIN procurement p ON p.id = t.procurement_id`,
      [slots.map((slot) => this.ids[slot]!)],
    );
    const byId = new Map(found.rows.map((row) => [row.id, row]));
    return slots.flatMap((slot) => {
      const row = byId.get(this.ids[slot]!);
      return row === undefined ? [] : [row];
    });
  }

  /** The parsed tsquery the database search would build from `q`; null if not answerable here. */
  private async textQuery(q: string): Promise<TextQuery | null> {
    const cached = this.queries.get(q);
    if (cached !== undefined) return cached;
    const found = await this.db.query<{ query: string }>(
      `SELECT (websearch_to_tsquery('russian', $1) || websearch_to_tsquery('simple', $1))::text
           AS query`,
      [q],
    );
    const parsed = parseTextQuery(found.rows[0]!.query) ?? null;
    if (this.queries.size >= QUERY_CACHE) this.queries.clear();
    this.queries.set(q, parsed);
    return parsed;
  }
}

function pageKey(lang: Language, filters: SearchFilters, page: Page): string {
  const values = PAGE_FILTERS.map((name) => filters[name] ?? null);
  return JSON.stringify([lang, page.limit, page.cursor ?? null, ...values]);
}
