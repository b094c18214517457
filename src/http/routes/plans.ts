// Procurement plans of a customer: drafting, signed approval and signed amendments. The public
// sees approved plans through the public routes.
import type { FastifyInstance } from 'fastify';
import { UppError } from '../../domain/errors.js';
import { amendPlan, approvePlan, draftPlan, ownPlan } from '../../services/plans.js';
import type { PlanItemInput } from '../../services/plans.js';
import type { SignedRequest } from '../../services/signed-document.js';
import { idParams, problemResponses, signedRequestSchema, uuidProperty } from '../schemas.js';
import { requireSession } from '../session.js';
import { planItemChangeSchema, planItemSchema, signedPayload } from './procurement-schemas.js';
import { serviceContext } from '../context.js';

const tags = ['plans'];

const draftBody = {
  type: 'object',
  required: ['participantId', 'year', 'kind', 'items'],
  additionalProperties: false,
  properties: {
    participantId: uuidProperty,
    year: { type: 'integer', minimum: 2020, maximum: 2100 },
    kind: { type: 'string', enum: ['preliminary', 'annual'] },
    items: { type: 'array', maxItems: 1000, items: planItemSchema },
  },
} as const;

const approvePayload = signedPayload('plan.approve', { planId: uuidProperty }, ['planId']);

const amendPayload = signedPayload(
  'plan.amend',
  {
    planId: uuidProperty,
    amendment: {
      type: 'object',
      additionalProperties: false,
      properties: {
        add: { type: 'array', maxItems: 1000, items: planItemSchema },
        change: { type: 'array', maxItems: 1000, items: planItemChangeSchema },
        remove: { type: 'array', maxItems: 1000, uniqueItems: true, items: uuidProperty },
      },
    },
  },
  ['planId', 'amendment'],
);

export async function planRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => serviceContext(app);

  app.post(
    '/plans',
    {
      schema: {
        tags,
        summary: "Draft a customer's preliminary or annual plan with its items",
        body: draftBody,
        response: {
          201: {
            type: 'object',
            properties: {
              planId: { type: 'string' },
              itemIds: { type: 'array', items: { type: 'string' } },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const body = request.body as {
        participantId: string;
        year: number;
        kind: 'preliminary' | 'annual';
        items: PlanItemInput[];
      };
      return reply.code(201).send(await draftPlan(ctx(), session, body));
    },
  );

  app.get(
    '/plans/:id',
    { schema: { tags, summary: 'A plan of your own, drafts included', params: idParams } },
    async (request) => {
      const session = await requireSession(request);
      return ownPlan(app.ctx.db, session, (request.params as { id: string }).id);
    },
  );

  app.post(
    '/plans/:id/approval',
    {
      schema: {
        tags,
        summary: 'Approve a draft plan with a signed document',
        params: idParams,
        body: signedRequestSchema(approvePayload),
        response: { 201: { type: 'object', properties: { version: { type: 'integer' } } } },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      const result = await approvePlan(ctx(), session, id, request.body as SignedRequest);
      return reply.code(201).send(result);
    },
  );

  app.post(
    '/plans/:id/amendments',
    {
      schema: {
        tags,
        summary: 'Amend an approved plan with a signed document (a new version)',
        params: idParams,
        body: signedRequestSchema(amendPayload),
        response: {
          201: {
            type: 'object',
            properties: {
              version: { type: 'integer' },
              added: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      const body = request.body as SignedRequest;
      if (body.payload.planId !== id) {
        throw new UppError('document.wrong_target', 400, "the payload's planId is not the URL's");
      }
      return reply.code(201).send(await amendPlan(ctx(), session, id, body));
    },
  );
}
