// Routes of the wallet area: a participant's own wallet (balance, open holds, entries by page),
// signed withdrawals, and the operator's import of camt.053 bank statements.
import type { FastifyInstance } from 'fastify';
import { UppError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/money.js';
import { MAX_STATEMENT_BYTES, importStatement } from '../../services/bank-statement.js';
import type { ParticipantContext } from '../../services/participants.js';
import type { SignedRequest } from '../../services/signed-document.js';
import { balance, openHolds, walletEntries, withdraw } from '../../services/wallet.js';
import type { WalletEntry } from '../../services/wallet.js';
import { nonceProperty, problemResponses, signedRequestSchema, uuidProperty } from '../schemas.js';
import { requireSession } from '../session.js';

const amountProperty = { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,2})?$' } as const;
const money = { type: 'string', examples: ['1250000.00'] } as const;

const entrySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    amount: money,
    reference: { type: 'string' },
    holdId: { type: ['string', 'null'] },
    at: { type: 'string', format: 'date-time' },
  },
} as const;

const withdrawalPayload = {
  type: 'object',
  required: ['action', 'nonce', 'participantId', 'amount', 'account'],
  additionalProperties: false,
  properties: {
    action: { type: 'string', const: 'wallet.withdraw' },
    nonce: nonceProperty,
    participantId: uuidProperty,
    amount: amountProperty,
    account: { type: 'string', pattern: '^KZ\\d{2}[0-9A-Z]{16}$' },
  },
} as const;

function entryView(entry: WalletEntry) {
  return {
    id: entry.id,
    kind: entry.kind,
    amount: formatAmount(entry.amount),
    reference: entry.reference,
    holdId: entry.holdId,
    at: entry.at,
  };
}

function cursorOf(seq: bigint | null): string | null {
  return seq === null ? null : Buffer.from(`w${seq}`).toString('base64url');
}

function seqOf(cursor: string | undefined): bigint | undefined {
  if (cursor === undefined) return undefined;
  const match = /^w(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) {
    throw new UppError('request.invalid_cursor', 400, 'the cursor is not one this API gave');
  }
  return BigInt(match[1]!);
}

export async function walletRoutes(app: FastifyInstance): Promise<void> {
  const ctx = (): ParticipantContext => ({
    db: app.ctx.db,
    verifier: app.ctx.pki,
    clock: app.ctx.clock,
    acceptTestNumbers: app.ctx.config.nodeEnv !== 'production',
  });

  app.get(
    '/wallet',
    {
      schema: {
        tags: ['wallet'],
        summary: "A participant's wallet: balance, open holds, entries newest first (its users)",
        querystring: {
          type: 'object',
          required: ['participantId'],
          additionalProperties: false,
          properties: {
            participantId: uuidProperty,
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            cursor: { type: 'string', maxLength: 40 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              participantId: { type: 'string' },
              balance: {
                type: 'object',
                properties: {
                  deposited: money,
                  withdrawn: money,
                  held: money,
                  retained: money,
                  available: money,
                },
              },
              holds: { type: 'array', items: entrySchema },
              entries: { type: 'array', items: entrySchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const query = request.query as { participantId: string; limit: number; cursor?: string };
      const session = await requireSession(request);
      const before = seqOf(query.cursor);
      const db = app.ctx.db;
      const member = await db.query(
        `SELECT 1 FROM membership
          WHERE user_id = $1 AND participant_id = $2 AND removed_at IS NULL`,
        [session.userId, query.participantId],
      );
      if (member.rows.length === 0) {
        throw new UppError('access.not_member', 403, "only the participant's users see its wallet");
      }
      const sums = await balance(db, query.participantId);
      const page = await walletEntries(db, query.participantId, { limit: query.limit, before });
      return {
        participantId: query.participantId,
        balance: {
          deposited: formatAmount(sums.deposited),
          withdrawn: formatAmount(sums.withdrawn),
          held: formatAmount(sums.held),
          retained: formatAmount(sums.retained),
          available: formatAmount(sums.available),
        },
        holds: (await openHolds(db, query.participantId)).map(entryView),
        entries: page.entries.map(entryView),
        nextCursor: cursorOf(page.nextBefore),
      };
    },
  );

  app.post(
    '/wallet/withdrawals',
    {
      schema: {
        tags: ['wallet'],
        summary: 'Withdraw available money to the account on record (signed as a payment)',
        body: signedRequestSchema(withdrawalPayload),
        response: {
          201: {
            type: 'object',
            properties: {
              entryId: { type: 'string' },
              documentId: { type: 'string' },
              amount: money,
              account: { type: 'string' },
              available: money,
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const result = await withdraw(ctx(), session, request.body as SignedRequest);
      return reply.code(201).send(result);
    },
  );

  app.post(
    '/wallet/statements',
    {
      // JSON escaping can make the body larger than the 5 MB statement it carries.
      bodyLimit: 2 * MAX_STATEMENT_BYTES,
      schema: {
        tags: ['wallet'],
        summary: 'An operator imports a camt.053 bank statement; answers per entry',
        body: {
          type: 'object',
          required: ['statement'],
          additionalProperties: false,
          properties: {
            statement: { type: 'string', minLength: 1, maxLength: MAX_STATEMENT_BYTES },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              messageId: { type: 'string' },
              statements: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    account: { type: 'string' },
                    importId: { type: 'string' },
                  },
                },
              },
              entries: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    statementId: { type: 'string' },
                    bankReference: { type: ['string', 'null'] },
                    outcome: { type: 'string' },
                    reason: { type: 'string' },
                    direction: { type: 'string' },
                    amount: { type: 'string' },
                    currency: { type: 'string' },
                    participantId: { type: 'string' },
                    walletEntryId: { type: 'string' },
                  },
                },
              },
              counts: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
          413: { $ref: 'problem#' },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const { statement } = request.body as { statement: string };
      return importStatement(app.ctx.db, app.ctx.clock, session, statement);
    },
  );
}
