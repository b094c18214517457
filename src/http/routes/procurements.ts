// Announcements for their organizers: drafting from plan items, and the signed actions that
// publish, amend, cancel or refuse them; outages declared by an operator.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UppError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/money.js';
import { METHOD_CODES, REGIMES } from '../../domain/procurement-methods.js';
import { declareOutage, listOutages } from '../../services/outages.js';
import {
  amendProcurement,
  draftProcurement,
  endProcurement,
  ownProcurement,
  publishProcurement,
} from '../../services/procurements.js';
import type { DraftRequest } from '../../services/procurements.js';
import type { SignedRequest } from '../../services/signed-document.js';
import { idParams, problemResponses, signedRequestSchema, uuidProperty } from '../schemas.js';
import { requireSession } from '../session.js';
import {
  documentIdsProperty,
  instantProperty,
  scheduleSchema,
  signedPayload,
  text,
  titlesProperty,
} from './procurement-schemas.js';
import { serviceContext } from '../context.js';

const tags = ['procurements'];

const draftBody = {
  type: 'object',
  required: ['participantId', 'regime', 'method', 'titles', 'lots'],
  additionalProperties: false,
  properties: {
    participantId: uuidProperty,
    customerParticipantId: uuidProperty,
    regime: { type: 'string', enum: [...REGIMES] },
    operatorParticipantId: uuidProperty,
    invitedParticipantId: uuidProperty,
    method: { type: 'string', enum: [...METHOD_CODES] },
    titles: titlesProperty,
    securityPercent: { type: 'string', pattern: '^\\d{1,3}(\\.\\d{1,2})?$' },
    qualification: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['code', 'text'],
        additionalProperties: false,
        properties: {
          code: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' },
          text: {
            type: 'object',
            required: ['kk', 'ru'],
            additionalProperties: false,
            properties: { kk: text(2000), ru: text(2000) },
          },
        },
      },
    },
    lots: {
      type: 'array',
      minItems: 1,
      maxItems: 500,
      items: {
        type: 'object',
        required: ['planItemId'],
        additionalProperties: false,
        properties: { planItemId: uuidProperty, deliveryPlace: text(500) },
      },
    },
  },
} as const;

const target = { procurementId: uuidProperty };
const publishPayload = signedPayload(
  'procurement.publish',
  { ...target, offersEndAt: instantProperty, documents: documentIdsProperty },
  ['procurementId'],
);
const amendPayload = signedPayload(
  'procurement.amend',
  { ...target, offersEndAt: instantProperty, documents: documentIdsProperty },
  ['procurementId', 'documents'],
);
const endPayload = (action: string) =>
  signedPayload(action, { ...target, reason: text(2000) }, ['procurementId', 'reason']);
const outagePayload = signedPayload(
  'outage.declare',
  { startsAt: instantProperty, endsAt: instantProperty, reason: text(2000) },
  ['startsAt', 'endsAt', 'reason'],
);

function signedFor(request: FastifyRequest): SignedRequest {
  const body = request.body as SignedRequest;
  if (body.payload.procurementId !== (request.params as { id: string }).id) {
    throw new UppError(
      'document.wrong_target',
      400,
      "the payload's procurementId is not the URL's",
    );
  }
  return body;
}

export async function procurementRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => serviceContext(app);
  const signed = (payload: object, summary: string) => ({
    schema: {
      tags,
      summary,
      params: idParams,
      body: signedRequestSchema(payload),
      response: {
        200: {
          type: 'object',
          properties: { status: { type: 'string' }, schedule: scheduleSchema },
        },
        ...problemResponses,
      },
    },
  });

  app.post(
    '/procurements',
    {
      schema: {
        tags,
        summary: 'Draft an announcement from approved plan items',
        body: draftBody,
        response: {
          201: {
            type: 'object',
            properties: { procurementId: { type: 'string' }, number: { type: 'string' } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const result = await draftProcurement(ctx(), session, request.body as DraftRequest);
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/procurements/:id',
    {
      schema: {
        tags,
        summary: "A procurement for its organizer's and customer's users, drafts included",
        params: idParams,
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const view = await ownProcurement(app.ctx.db, session, (request.params as { id: string }).id);
      return {
        ...view,
        amount: formatAmount(view.amount),
        lots: view.lots.map((lot) => ({ ...lot, amount: formatAmount(lot.amount) })),
      };
    },
  );

  app.post(
    '/procurements/:id/publication',
    signed(publishPayload, 'Publish a draft with a signed document; the schedule follows'),
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return publishProcurement(ctx(), session, id, signedFor(request));
    },
  );

  app.post(
    '/procurements/:id/amendments',
    signed(amendPayload, 'Amend the documentation; the deadline is extended as the rules say'),
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return amendProcurement(ctx(), session, id, signedFor(request));
    },
  );

  app.post(
    '/procurements/:id/cancellation',
    signed(endPayload('procurement.cancel'), 'Cancel a procurement, with a signed reason'),
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return endProcurement(ctx(), session, id, signedFor(request), 'cancel');
    },
  );

  app.post(
    '/procurements/:id/refusal',
    signed(endPayload('procurement.refuse'), 'Refuse a procurement, with a signed reason'),
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return endProcurement(ctx(), session, id, signedFor(request), 'refuse');
    },
  );

  app.post(
    '/outages',
    {
      schema: {
        tags: ['outages'],
        summary: 'Declare an outage of the portal (operators); acceptance is extended by it',
        body: signedRequestSchema(outagePayload),
        response: { 201: { type: 'object', additionalProperties: true }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const outage = await declareOutage(ctx(), session, request.body as SignedRequest);
      return reply.code(201).send(outage);
    },
  );

  app.get(
    '/public/outages',
    { schema: { tags: ['public'], summary: 'Declared outages of the portal' } },
    async () => ({ items: await listOutages(app.ctx.db) }),
  );
}
