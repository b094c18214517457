// Registration of participants, their users and rights, operators' decisions, and the public
// registry. Every change is a signed document; reading the registry is free.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { UppError } from '../../domain/errors.js';
import {
  addMember,
  changeMember,
  decideCategory,
  designateOperator,
  privateParticipant,
  publicParticipant,
  registerParticipant,
  searchRegistry,
} from '../../services/participants.js';
import type { SignedRequest } from '../../services/signed-document.js';
import {
  doneResponses,
  idParams,
  iinProperty,
  nonceProperty,
  problemResponses,
  rightsProperty,
  signedRequestSchema,
  uuidProperty,
} from '../schemas.js';
import { requireSession } from '../session.js';
import { serviceContext } from '../context.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const binProperty = { type: 'string', pattern: '^\\d{12}$' } as const;

const registrationPayload = {
  type: 'object',
  required: ['action', 'nonce', 'participant'],
  additionalProperties: false,
  properties: {
    action: { type: 'string', const: 'participant.register' },
    nonce: nonceProperty,
    participant: {
      type: 'object',
      required: ['kind', 'names', 'address', 'contacts', 'roles'],
      additionalProperties: false,
      properties: {
        kind: {
          type: 'string',
          enum: ['legal_entity', 'branch', 'individual_entrepreneur', 'individual', 'non_resident'],
        },
        bin: binProperty,
        iin: iinProperty,
        headBin: binProperty,
        foreignRegistration: text(64),
        country: { type: 'string', pattern: '^[A-Z]{2}$' },
        names: {
          type: 'object',
          required: ['kk', 'ru'],
          additionalProperties: false,
          properties: { kk: text(500), ru: text(500) },
        },
        address: {
          type: 'object',
          required: ['kato', 'text'],
          additionalProperties: false,
          properties: { kato: { type: 'string', pattern: '^\\d{9}$' }, text: text(1000) },
        },
        bank: {
          type: 'object',
          required: ['iban', 'bic'],
          additionalProperties: false,
          properties: {
            iban: { type: 'string', pattern: '^KZ\\d{2}[0-9A-Z]{16}$' },
            bic: { type: 'string', pattern: '^[A-Z0-9]{8}([A-Z0-9]{3})?$' },
            bankName: text(300),
          },
        },
        contacts: {
          type: 'object',
          additionalProperties: false,
          properties: {
            email: { type: 'string', maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' },
            phone: { type: 'string', pattern: '^\\+?[0-9 ()-]{7,20}$' },
          },
        },
        roles: {
          type: 'array',
          minItems: 1,
          maxItems: 3,
          uniqueItems: true,
          items: { type: 'string', enum: ['customer', 'organizer', 'potential_supplier'] },
        },
        categories: {
          type: 'array',
          maxItems: 2,
          uniqueItems: true,
          items: { type: 'string', enum: ['state_institution', 'disability_association'] },
        },
      },
    },
  },
} as const;

const memberPayload = (action: string, extra: Record<string, object>, required: string[]) =>
  ({
    type: 'object',
    required: ['action', 'nonce', 'participantId', 'iin', ...required],
    additionalProperties: false,
    properties: {
      action: { type: 'string', const: action },
      nonce: nonceProperty,
      participantId: uuidProperty,
      iin: iinProperty,
      ...extra,
    },
  }) as const;

const publicParticipantSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    bin: { type: ['string', 'null'] },
    iin: { type: ['string', 'null'] },
    foreignRegistration: { type: ['string', 'null'] },
    country: { type: ['string', 'null'] },
    names: { type: 'object', properties: { kk: { type: 'string' }, ru: { type: 'string' } } },
    roles: { type: 'array', items: { type: 'string' } },
    categories: { type: 'array', items: { type: 'string' } },
    status: { type: 'string' },
    registeredAt: { type: 'string', format: 'date-time' },
  },
} as const;

const memberParams = {
  type: 'object',
  required: ['id', 'iin'],
  properties: { id: uuidProperty, iin: iinProperty },
} as const;

function sameTarget(request: FastifyRequest, field = 'participantId'): SignedRequest {
  const body = request.body as SignedRequest;
  const params = request.params as { id?: string; iin?: string };
  if (params.id !== undefined && body.payload[field] !== params.id) {
    throw new UppError('document.wrong_target', 400, `the payload's ${field} is not the URL's`);
  }
  if (params.iin !== undefined && body.payload.iin !== params.iin) {
    throw new UppError('document.wrong_target', 400, "the payload's iin is not the URL's");
  }
  return body;
}

function encodeCursor(item: { registeredAt: Date; id: string }): string {
  return Buffer.from(`${item.registeredAt.toISOString()}|${item.id}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): { registeredAt: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const registeredAt = new Date(at ?? '');
  if (Number.isNaN(registeredAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id ?? '')) {
    throw new UppError('request.invalid_cursor', 400, 'the cursor is not one this API gave');
  }
  return { registeredAt, id: id! };
}

export const participantRoutes: FastifyPluginAsync = async (app) => {
  const ctx = () => serviceContext(app);
  const signed = (payload: object, summary: string, params?: object) => ({
    schema: {
      tags: ['participants'],
      summary,
      ...(params === undefined ? {} : { params }),
      body: signedRequestSchema(payload),
      response: {
        201: { type: 'object', properties: { userId: { type: 'string' } } },
        ...doneResponses,
      },
    },
  });

  app.post(
    '/participants',
    {
      schema: {
        tags: ['participants'],
        summary: 'Register a participant with a signed registration document',
        body: signedRequestSchema(registrationPayload),
        response: {
          201: {
            type: 'object',
            properties: { participantId: { type: 'string' }, documentId: { type: 'string' } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const result = await registerParticipant(ctx(), request.body as SignedRequest);
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/participants/:id',
    {
      schema: {
        tags: ['participants'],
        summary: 'A participant with bank details, contacts and users (its users and operators)',
        params: idParams,
        response: problemResponses,
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return privateParticipant(app.ctx.db, await requireSession(request), id);
    },
  );

  app.post(
    '/participants/:id/members',
    signed(
      memberPayload('participant.member.add', { fullName: text(300), rights: rightsProperty }, [
        'fullName',
        'rights',
      ]),
      'Add a user by IIN with rights (signed by the first head or a user manager)',
      idParams,
    ),
    async (request, reply) => {
      const body = sameTarget(request);
      const result = await addMember(ctx(), await requireSession(request), body);
      return reply.code(201).send(result);
    },
  );

  app.post(
    '/participants/:id/members/:iin/removal',
    signed(
      memberPayload('participant.member.remove', {}, []),
      'Remove a user (signed); their sessions for this participant end',
      memberParams,
    ),
    async (request, reply) => {
      const body = sameTarget(request);
      await changeMember(ctx(), await requireSession(request), body, 'remove');
      return reply.code(204).send();
    },
  );

  app.put(
    '/participants/:id/members/:iin/rights',
    signed(
      memberPayload('participant.member.rights', { rights: rightsProperty }, ['rights']),
      "Change a user's rights (signed)",
      memberParams,
    ),
    async (request, reply) => {
      const body = sameTarget(request);
      await changeMember(ctx(), await requireSession(request), body, 'rights');
      return reply.code(204).send();
    },
  );

  app.post(
    '/operator/category-decisions',
    signed(
      {
        type: 'object',
        required: ['action', 'nonce', 'operatorId', 'participantId', 'category', 'decision'],
        additionalProperties: false,
        properties: {
          action: { type: 'string', const: 'operator.category.decide' },
          nonce: nonceProperty,
          operatorId: uuidProperty,
          participantId: uuidProperty,
          category: { type: 'string', enum: ['state_institution', 'disability_association'] },
          decision: { type: 'string', enum: ['confirmed', 'rejected'] },
          reason: text(2000),
        },
      },
      "An operator confirms or rejects a participant's category (signed)",
    ),
    async (request, reply) => {
      await decideCategory(ctx(), await requireSession(request), request.body as SignedRequest);
      return reply.code(204).send();
    },
  );

  app.post(
    '/admin/operators',
    signed(
      {
        type: 'object',
        required: ['action', 'nonce', 'participantId', 'role'],
        additionalProperties: false,
        properties: {
          action: { type: 'string', const: 'admin.operator.designate' },
          nonce: nonceProperty,
          participantId: uuidProperty,
          role: { type: 'string', enum: ['single_operator', 'operator'] },
        },
      },
      'An administrator makes a participant the single operator or an operator (signed)',
    ),
    async (request, reply) => {
      await designateOperator(ctx(), await requireSession(request), request.body as SignedRequest);
      return reply.code(204).send();
    },
  );

  app.get(
    '/public/participants',
    {
      schema: {
        tags: ['public'],
        summary: 'The registry of participants: search by name, BIN or IIN; newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', maxLength: 40 },
            kind: { type: 'string', maxLength: 40 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            cursor: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: publicParticipantSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
          400: { $ref: 'problem#' },
        },
      },
    },
    async (request) => {
      const query = request.query as {
        q?: string;
        role?: string;
        kind?: string;
        limit: number;
        cursor?: string;
      };
      const items = await searchRegistry(app.ctx.db, {
        ...query,
        cursor: decodeCursor(query.cursor),
      });
      const last = items.at(-1);
      const nextCursor = items.length === query.limit && last ? encodeCursor(last) : null;
      return { items, nextCursor };
    },
  );

  app.get(
    '/public/participants/:id',
    {
      schema: {
        tags: ['public'],
        summary: 'One participant of the registry',
        params: idParams,
        response: { 200: publicParticipantSchema, 404: { $ref: 'problem#' } },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const participant = await publicParticipant(app.ctx.db, id);
      if (participant === undefined) {
        throw new UppError('participant.not_found', 404, 'no such participant');
      }
      return participant;
    },
  );
};
