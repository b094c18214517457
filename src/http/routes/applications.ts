// Applications with sealed price offers: submission (and replacement), withdrawal, the
// supplier's own view; after the deadline the opened applications and admission decisions;
// after the results a winner's refusal of the contract (an evasion).
// Nothing answers a price before the chronograph has opened the offers.
import type { FastifyInstance } from 'fastify';
import {
  openedApplications,
  ownApplications,
  submitApplication,
  withdrawApplication,
} from '../../services/applications.js';
import { earlierAnswer, idempotentCall } from '../../services/idempotency.js';
import { declineContract, decideAdmissions } from '../../services/results.js';
import type { SignedRequest } from '../../services/signed-document.js';
import { idParams, problemResponses, signedRequestSchema, uuidProperty } from '../schemas.js';
import { requireSession } from '../session.js';
import { documentIdsProperty, signedPayload, tengeProperty } from './procurement-schemas.js';
import { serviceContext } from '../context.js';

const tags = ['applications'];

const submitPayload = signedPayload(
  'application.submit',
  {
    procurementId: uuidProperty,
    documents: documentIdsProperty,
    qualification: { type: 'object', maxProperties: 100, additionalProperties: true },
    lots: {
      type: 'array',
      minItems: 1,
      maxItems: 500,
      items: {
        type: 'object',
        required: ['lotId', 'price'],
        additionalProperties: false,
        properties: {
          lotId: uuidProperty,
          price: tengeProperty,
          security: {
            type: 'object',
            required: ['kind'],
            additionalProperties: false,
            properties: {
              kind: { type: 'string', enum: ['wallet', 'guarantee'] },
              documentId: uuidProperty,
            },
          },
        },
      },
    },
  },
  ['procurementId', 'lots'],
);

const withdrawPayload = signedPayload('application.withdraw', { procurementId: uuidProperty }, [
  'procurementId',
]);

const admissionPayload = signedPayload(
  'admission.decide',
  {
    procurementId: uuidProperty,
    decisions: {
      type: 'array',
      minItems: 1,
      maxItems: 5000,
      items: {
        type: 'object',
        required: ['applicationId', 'lotId', 'admitted'],
        additionalProperties: false,
        properties: {
          applicationId: uuidProperty,
          lotId: uuidProperty,
          admitted: { type: 'boolean' },
          reasons: {
            type: 'array',
            maxItems: 50,
            items: {
              type: 'object',
              required: ['code', 'text'],
              additionalProperties: false,
              properties: {
                code: { type: 'string', pattern: '^[a-z][a-z0-9_.]{0,63}$' },
                text: { type: 'string', minLength: 1, maxLength: 2000 },
              },
            },
          },
        },
      },
    },
  },
  ['procurementId', 'decisions'],
);

const declinePayload = signedPayload(
  'contract.decline',
  {
    procurementId: uuidProperty,
    lotId: uuidProperty,
    reason: { type: 'string', minLength: 1, maxLength: 2000 },
  },
  ['procurementId', 'lotId', 'reason'],
);

const lotParams = {
  type: 'object',
  required: ['id', 'lotId'],
  additionalProperties: false,
  properties: { id: uuidProperty, lotId: uuidProperty },
};

const idempotencyHeaders = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

export async function applicationRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => serviceContext(app);

  app.post(
    '/procurements/:id/applications',
    {
      schema: {
        tags,
        summary: 'Submit or replace an application with sealed price offers (signed)',
        description:
          'Prices are sealed with the procurement key on arrival and opened only at the ' +
          'deadline. An Idempotency-Key header makes retries safe.',
        params: idParams,
        headers: idempotencyHeaders,
        body: signedRequestSchema(submitPayload),
        response: { 201: { type: 'object', additionalProperties: true }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      const key = request.headers['idempotency-key'];
      const call = idempotentCall(
        session.userId,
        typeof key === 'string' ? key : undefined,
        `POST /procurements/${id}/applications`,
        request.body,
      );
      const earlier = call === undefined ? undefined : await earlierAnswer(app.ctx.db, call);
      if (earlier !== undefined) {
        reply.header('idempotent-replayed', 'true');
        return reply.code(201).send(earlier.body);
      }
      const result = await submitApplication(
        ctx(),
        session,
        id,
        request.body as SignedRequest,
        call,
      );
      return reply.code(201).send(result);
    },
  );

  app.post(
    '/procurements/:id/applications/withdrawal',
    {
      schema: {
        tags,
        summary: 'Withdraw your application before the deadline (signed)',
        params: idParams,
        body: signedRequestSchema(withdrawPayload),
        response: { 200: { type: 'object', additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return withdrawApplication(ctx(), session, id, request.body as SignedRequest);
    },
  );

  app.get(
    '/procurements/:id/applications',
    {
      schema: {
        tags,
        summary: 'The opened applications, for the organizer and customer after the deadline',
        params: idParams,
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return { items: await openedApplications(app.ctx.db, session, id) };
    },
  );

  app.post(
    '/procurements/:id/admissions',
    {
      schema: {
        tags,
        summary: 'Admit or reject opened offers, with reasons (signed, during the review)',
        params: idParams,
        body: signedRequestSchema(admissionPayload),
        response: { 200: { type: 'object', additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return decideAdmissions(ctx(), session, id, request.body as SignedRequest);
    },
  );

  app.post(
    '/procurements/:id/lots/:lotId/contract-refusal',
    {
      schema: {
        tags,
        summary:
          'The winner declines the contract of a lot (signed): its security is kept and it ' +
          'enters the register of unreliable suppliers',
        params: lotParams,
        body: signedRequestSchema(declinePayload),
        response: { 200: { type: 'object', additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const { id, lotId } = request.params as { id: string; lotId: string };
      const months = app.ctx.config.unreliableMonths;
      return declineContract(ctx(), session, id, lotId, request.body as SignedRequest, months);
    },
  );

  app.get(
    '/procurements/:id/applications/mine',
    {
      schema: {
        tags,
        summary: "Your participant's applications to a procurement (no prices)",
        params: idParams,
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const id = (request.params as { id: string }).id;
      return { items: await ownApplications(app.ctx.db, session, id) };
    },
  );
}
