// The real-time auction for its participants: signed bids, the auction as JSON, and its live
// stream (SSE) with the best price, the end and the caller's own rank, never another's identity.
import type { FastifyInstance } from 'fastify';
import { streamEvents } from '../sse.js';
import {
  BID_ACTION,
  participantView,
  placeBid,
  seatOf,
  seatTopic,
} from '../../services/auctions.js';
import type { SignedRequest } from '../../services/signed-document.js';
import { problemResponses, signedRequestSchema, uuidProperty } from '../schemas.js';
import { requireSession } from '../session.js';
import { signedPayload, tengeProperty } from './procurement-schemas.js';
import { serviceContext } from '../context.js';

const tags = ['auctions'];

const auctionParams = {
  type: 'object',
  required: ['auctionId'],
  properties: { auctionId: uuidProperty },
} as const;

const bidPayload = signedPayload(BID_ACTION, { auctionId: uuidProperty, price: tengeProperty }, [
  'auctionId',
  'price',
]);

const amount = { type: 'string' } as const;
const ownSchema = {
  type: 'object',
  required: ['rank', 'price', 'leading'],
  properties: { rank: { type: 'integer' }, price: amount, leading: { type: 'boolean' } },
} as const;

const viewSchema = {
  type: 'object',
  properties: {
    auctionId: uuidProperty,
    procurementId: uuidProperty,
    lotId: uuidProperty,
    status: { type: 'string', enum: ['scheduled', 'running', 'ended', 'closed'] },
    startingPrice: amount,
    bestPrice: amount,
    highestAcceptedBid: { type: ['string', 'null'] },
    startsAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    sequence: { type: 'string' },
    participants: { type: 'integer' },
    own: ownSchema,
  },
} as const;

const bidSchema = {
  type: 'object',
  properties: {
    bidId: uuidProperty,
    auctionId: uuidProperty,
    price: amount,
    sequence: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    extended: { type: 'boolean' },
    own: ownSchema,
    receipt: { type: 'object', additionalProperties: true },
  },
} as const;

export async function auctionRoutes(app: FastifyInstance): Promise<void> {
  const ctx = () => serviceContext(app);

  app.post(
    '/auctions/:auctionId/bids',
    {
      schema: {
        tags,
        summary: 'Bid in a running auction (signed): at least one step below the best price',
        description:
          'Decided by the server clock under the auction lock; a bid in the last minutes ' +
          'extends the end. Refusals: auction.not_running, auction.step_too_small, ' +
          'auction.not_participant, auction.after_close.',
        params: auctionParams,
        body: signedRequestSchema(bidPayload),
        response: { 201: bidSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const { auctionId } = request.params as { auctionId: string };
      const bid = await placeBid(ctx(), session, auctionId, request.body as SignedRequest);
      return reply.code(201).send(bid);
    },
  );

  app.get(
    '/auctions/:auctionId',
    {
      schema: {
        tags,
        summary: 'The auction as its participant sees it: best price, end, own rank',
        params: auctionParams,
        response: { 200: viewSchema, ...problemResponses },
      },
    },
    async (request) => {
      const session = await requireSession(request);
      const { auctionId } = request.params as { auctionId: string };
      const { participantId } = await seatOf(app.ctx.db, session, auctionId);
      return participantView(app.ctx.db, auctionId, participantId, app.ctx.clock.now());
    },
  );

  app.get(
    '/auctions/:auctionId/events',
    {
      schema: {
        tags,
        summary: 'Live auction events (text/event-stream) for a participant',
        description:
          'Each event carries the participant view (as GET /auctions/{auctionId}) and the ' +
          'sequence as its id; a new or lagging client first gets a snapshot.',
        params: auctionParams,
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', maxLength: 20 } },
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const { auctionId } = request.params as { auctionId: string };
      const { participantId, seat } = await seatOf(app.ctx.db, session, auctionId);
      await streamEvents(request, reply, {
        db: app.ctx.db,
        topic: seatTopic(auctionId, seat),
        signal: app.closing,
        catchUp: async (since) => {
          const view = await participantView(
            app.ctx.db,
            auctionId,
            participantId,
            app.ctx.clock.now(),
          );
          const sequence = BigInt(view.sequence);
          if (since !== undefined && sequence <= since) return [];
          return [{ sequence, event: 'snapshot', body: view }];
        },
      });
      return reply;
    },
  );
}
