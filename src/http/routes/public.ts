// Free public viewing without an account: searches and cards of published lots, procurements and
// approved plans, the register of unreliable suppliers and the reference tables, in kk/ru/en.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { METHOD_CODES, PROCUREMENT_STATUSES, REGIMES } from '../../domain/procurement-methods.js';
import {
  chooseLanguage,
  entityTag,
  procurementCard,
  planCard,
  referenceTables,
  searchLots,
  searchPlans,
  searchProcurements,
  searchUnreliableSuppliers,
} from '../../services/public-viewing.js';
import type {
  Language,
  Page,
  PlanFilters,
  PublicLot,
  SearchFilters,
} from '../../services/public-viewing.js';
import { idParams } from '../schemas.js';

/** Seconds a shared cache may keep an answer: short, because statuses move with deadlines. */
const MAX_AGE_SECONDS = 30;
const REFERENCE_MAX_AGE_SECONDS = 3600;

const string = { type: 'string' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const coded = { type: 'object', properties: { code: string, title: string } } as const;
const titles = { type: 'object', properties: { kk: string, ru: string, en: string } } as const;
const names = { type: 'object', properties: { kk: string, ru: string } } as const;
const party = {
  type: 'object',
  properties: { id: string, bin: nullableString, name: string, names },
} as const;

const duration = () =>
  ({ type: ['object', 'null'], properties: { n: { type: 'integer' }, unit: string } }) as const;
const codedWithTitles = {
  type: 'array',
  items: { type: 'object', properties: { ...coded.properties, titles } },
} as const;

const page = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  cursor: { type: 'string', minLength: 1, maxLength: 200, description: 'nextCursor of a page' },
  lang: { type: 'string', enum: ['kk', 'ru', 'en'], description: 'else Accept-Language; ru' },
} as const;

const instant = (description: string) =>
  ({ type: 'string', minLength: 1, maxLength: 40, description }) as const;
const amount = (description: string) =>
  ({ type: 'string', minLength: 1, maxLength: 24, description }) as const;

const searchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', minLength: 1, maxLength: 200, description: 'words, Russian or Kazakh' },
    method: { type: 'string', enum: [...METHOD_CODES] },
    status: { type: 'string', enum: PROCUREMENT_STATUSES.filter((s) => s !== 'draft') },
    regime: { type: 'string', enum: [...REGIMES] },
    customerBin: { type: 'string', pattern: '^\\d{12}$' },
    region: { type: 'string', pattern: '^\\d{2}$', description: 'KATO region, 2 digits' },
    ensTru: {
      type: 'string',
      pattern: '^(\\d{1,6}|\\d{6}\\.\\d{0,3}|\\d{6}\\.\\d{3}\\.\\d{0,6})$',
      description: 'an ENS TRU code or a prefix of it, e.g. 262013 or 262013.000',
    },
    amountMin: amount('tenge, e.g. 1000000.00; at least'),
    amountMax: amount('tenge; at most'),
    publishedFrom: instant('ISO instant with an offset; published at or after'),
    publishedTo: instant('ISO instant; published before'),
    offersEndFrom: instant('ISO instant; offers end at or after'),
    offersEndTo: instant('ISO instant; offers end before'),
    ...page,
  },
} as const;

const lotProperties = {
  id: string,
  procurementId: string,
  procurementNumber: string,
  number: { type: 'integer' },
  title: string,
  titles,
  ensTru: string,
  unit: string,
  quantity: string,
  unitPrice: string,
  amount: string,
  kato: string,
  deliveryPlace: string,
  method: coded,
  status: coded,
  regime: coded,
  customerBin: nullableString,
  publishedAt: nullableString,
  offersEndAt: nullableString,
} as const;

const procurementProperties = {
  id: string,
  number: string,
  ocid: string,
  title: string,
  titles,
  method: coded,
  status: coded,
  regime: coded,
  customerBin: nullableString,
  region: string,
  amount: string,
  publishedAt: nullableString,
  discussionEndsAt: nullableString,
  offersEndAt: nullableString,
  reviewEndsAt: nullableString,
} as const;

const planProperties = {
  id: string,
  year: { type: 'integer' },
  kind: string,
  version: { type: 'integer' },
  approvedAt: string,
  customer: party,
  itemCount: { type: 'integer' },
  amount: string,
} as const;

/** One lot of a search page, as the page's own schema writes it (see the lot search route). */
const lotItem = { type: 'object', properties: lotProperties } as const;

const pageOf = (properties: object) =>
  ({
    type: 'object',
    properties: {
      items: { type: 'array', items: { type: 'object', properties } },
      nextCursor: nullableString,
    },
  }) as const;

const refusals = { 400: { $ref: 'problem#' }, 404: { $ref: 'problem#' } } as const;

type Paged = { limit: number; cursor?: string; lang?: string };

function pageIn(query: Paged): Page {
  return query.cursor === undefined
    ? { limit: query.limit }
    : { limit: query.limit, cursor: query.cursor };
}

function languageOf(request: FastifyRequest): Language {
  const { lang } = (request.query ?? {}) as { lang?: string };
  const header = request.headers['accept-language'];
  return chooseLanguage(lang, typeof header === 'string' ? header : undefined);
}

/** True when If-None-Match names this entity tag (weak comparison, as RFC 9110 asks for GET). */
function matches(ifNoneMatch: string | undefined, tag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const opaque = (value: string) => value.trim().replace(/^W\//, '');
  return ifNoneMatch
    .slice(0, 2000)
    .split(',')
    .some((candidate) => candidate.trim() === '*' || opaque(candidate) === opaque(tag));
}

async function tagAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  const text = typeof payload === 'string' || Buffer.isBuffer(payload);
  if (reply.statusCode !== 200 || !text) return payload;
  const given = reply.getHeader('etag');
  const tag = typeof given === 'string' ? given : entityTag(payload);
  const maxAge = request.routeOptions.url?.endsWith('/reference')
    ? REFERENCE_MAX_AGE_SECONDS
    : MAX_AGE_SECONDS;
  const vary = reply.getHeader('vary');
  reply.header('etag', tag);
  reply.header('cache-control', `public, max-age=${maxAge}`);
  reply.header('vary', vary === undefined ? 'Accept-Language' : `${String(vary)}, Accept-Language`);
  reply.header('content-language', languageOf(request));
  const ifNoneMatch = request.headers['if-none-match'];
  if (matches(typeof ifNoneMatch === 'string' ? ifNoneMatch : undefined, tag)) {
    reply.code(304);
    reply.removeHeader('content-length');
    reply.removeHeader('content-type');
    return '';
  }
  return payload;
}

export async function publicRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', tagAnswer);

  app.get(
    '/public/lots',
    {
      schema: {
        tags: ['public'],
        summary: 'Search of published lots, newest first',
        querystring: searchQuery,
        response: { 200: pageOf(lotProperties), ...refusals },
      },
    },
    async (request, reply) => {
      const query = request.query as SearchFilters & Paged;
      const lang = languageOf(request);
      const paged = pageIn(query);
      const item = reply.compileSerializationSchema(lotItem);
      const write = (lot: PublicLot) => item(lot as unknown as Record<string, unknown>);
      const sent = await app.ctx.lotIndex?.page(lang, query, paged, write);
      if (sent === undefined) return searchLots(app.ctx.db, lang, query, paged);
      reply.header('etag', sent.tag);
      return reply.type('application/json; charset=utf-8').send(sent.body);
    },
  );

  app.get(
    '/public/procurements',
    {
      schema: {
        tags: ['public'],
        summary: 'Search of published procurements, newest first',
        querystring: searchQuery,
        response: { 200: pageOf(procurementProperties), ...refusals },
      },
    },
    async (request) => {
      const query = request.query as SearchFilters & Paged;
      return searchProcurements(app.ctx.db, languageOf(request), query, pageIn(query));
    },
  );

  app.get(
    '/public/procurements/:ref',
    {
      schema: {
        tags: ['public'],
        summary: 'One published procurement by id or number: lots, documents, dates, history',
        params: {
          type: 'object',
          required: ['ref'],
          properties: {
            ref: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._/-]+$' },
          },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { lang: page.lang },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              ...procurementProperties,
              customer: party,
              organizer: party,
              securityBasisPoints: { type: 'integer' },
              securityPercent: string,
              qualification: { type: 'array', items: {} },
              reason: nullableString,
              lots: { type: 'array', items: { type: 'object', properties: lotProperties } },
              documents: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: string,
                    role: string,
                    type: string,
                    title: string,
                    titles,
                    attachedAt: string,
                    path: string,
                  },
                },
              },
              history: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    kind: string,
                    at: string,
                    details: { type: ['object', 'null'], additionalProperties: true },
                  },
                },
              },
            },
          },
          ...refusals,
        },
      },
    },
    async (request) => {
      const { ref } = request.params as { ref: string };
      return procurementCard(app.ctx.db, languageOf(request), ref);
    },
  );

  app.get(
    '/public/plans',
    {
      schema: {
        tags: ['public'],
        summary: 'Approved plans, the latest approval first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            customerBin: { type: 'string', pattern: '^\\d{12}$' },
            year: { type: 'integer', minimum: 2020, maximum: 2100 },
            kind: { type: 'string', enum: ['preliminary', 'annual'] },
            ...page,
          },
        },
        response: { 200: pageOf(planProperties), ...refusals },
      },
    },
    async (request) => {
      const query = request.query as Paged & PlanFilters;
      return searchPlans(app.ctx.db, languageOf(request), query, pageIn(query));
    },
  );

  app.get(
    '/public/plans/:id',
    {
      schema: {
        tags: ['public'],
        summary: 'One approved plan with its active items',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { lang: page.lang },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              ...planProperties,
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: string,
                    number: { type: 'integer' },
                    ensTru: string,
                    name: string,
                    names: titles,
                    unit: string,
                    quantity: string,
                    unitPrice: string,
                    amount: string,
                    month: { type: 'integer' },
                    kato: string,
                    deliveryPlace: string,
                    fundingSource: string,
                    regime: coded,
                    method: coded,
                  },
                },
              },
            },
          },
          ...refusals,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return planCard(app.ctx.db, languageOf(request), id);
    },
  );

  app.get(
    '/public/unreliable-suppliers',
    {
      schema: {
        tags: ['public'],
        summary: 'The register of unreliable suppliers in force: search by name, BIN or IIN',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 200 },
            ...page,
          },
        },
        response: {
          200: pageOf({
            id: string,
            participantId: nullableString,
            bin: nullableString,
            iin: nullableString,
            name: string,
            names,
            reason: string,
            procurementId: nullableString,
            includedAt: string,
            excludedAt: string,
          }),
          ...refusals,
        },
      },
    },
    async (request) => {
      const query = request.query as Paged & { q?: string };
      const lang = languageOf(request);
      const now = app.ctx.clock.now();
      return searchUnreliableSuppliers(app.ctx.db, lang, query, pageIn(query), now);
    },
  );

  app.get(
    '/public/reference',
    {
      schema: {
        tags: ['public'],
        summary: 'Procurement methods per regime, statuses and regimes, with titles',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { lang: page.lang },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              methods: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    code: string,
                    regime: string,
                    title: string,
                    titles,
                    discussion: duration(),
                    acceptance: duration(),
                    review: duration(),
                    securityBasisPoints: { type: 'integer' },
                    maxMrp: { type: ['integer', 'null'] },
                    goodsOnly: { type: 'boolean' },
                    oneLot: { type: 'boolean' },
                    hasAuction: { type: 'boolean' },
                  },
                },
              },
              statuses: codedWithTitles,
              regimes: codedWithTitles,
            },
          },
          ...refusals,
        },
      },
    },
    async (request) => referenceTables(languageOf(request)),
  );
}
