// The Fastify application: plugins, error handling and routes. Building it does no I/O of its
// own, so tests drive it with `inject` and `serve` binds it to a port.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import cors from '@fastify/cors';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import FindMyWay from 'find-my-way';
import type { HTTPMethod } from 'find-my-way';
import type { Config } from '../config/index.js';
import type { WorkingCalendar } from '../domain/calendar.js';
import type { Database } from '../store/database.js';
import { registerMetrics } from './metrics.js';
import { handleError, problemSchema, sendProblem } from './problem.js';
import type { PlatformPki } from '../services/pki.js';
import type { WrappingKey } from '../services/sealing.js';
import type { LotIndex } from '../services/lot-index.js';
import { applicationRoutes } from './routes/applications.js';
import { auctionRoutes } from './routes/auctions.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { documentRoutes } from './routes/documents.js';
import { openDataRoutes } from './routes/open-data.js';
import { participantRoutes } from './routes/participants.js';
import { pkiRoutes } from './routes/pki.js';
import { planRoutes } from './routes/plans.js';
import { procurementRoutes } from './routes/procurements.js';
import { publicRoutes } from './routes/public.js';
import { systemRoutes } from './routes/system.js';
import { uploadRoutes } from './routes/uploads.js';
import { walletRoutes } from './routes/wallet.js';

export interface AppContext {
  config: Config;
  db: Database;
  clock: { now(): Date };
  /** Trust, signature checks, the time-stamp authority and the demo CA (services/pki.ts). */
  pki: PlatformPki;
  /** The working-day calendar deadlines are counted in. */
  calendar: WorkingCalendar;
  /** The platform key that wraps each procurement's key for sealed offers. */
  sealing: WrappingKey;
  /** This node's in-memory index of the public lots; without it searches go to the database. */
  lotIndex?: LotIndex;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext;
    /** Aborted when the server begins to close: live streams end so the close can finish. */
    closing: AbortSignal;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/;

export type AppConfig = Pick<
  Config,
  | 'logLevel'
  | 'bodyLimitBytes'
  | 'corsOrigins'
  | 'trustProxy'
  | 'rateLimitAnonymousPerMinute'
  | 'nodeEnv'
  | 'publicBaseUrl'
  | 'metricsToken'
>;

export interface AppOptions {
  /** Replace the logger (tests pass false to keep output quiet). */
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(
  ctx: AppContext,
  options: AppOptions = {},
): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: (request) => {
      const offered = request.headers['x-request-id'];
      return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
    },
    return503OnClosing: true,
    frameworkErrors: (error, request, reply) => {
      handleError(error, request, reply);
    },
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  app.decorate('ctx', ctx);
  const closing = new AbortController();
  app.decorate('closing', closing.signal);
  app.addHook('preClose', async () => closing.abort());
  app.addSchema(problemSchema);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler(handleError);
  answerUnknownRoutes(app);

  securityHeaders(app, config);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      credentials: !config.corsOrigins.includes('*'),
    });
  }
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitAnonymousPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'rate_limit.exceeded',
      message: `at most ${context.max} requests a minute; try again in ${context.after}`,
    }),
  });
  await registerApiDocs(app, config);
  const metrics = registerMetrics(app);

  await app.register(systemRoutes, { metrics });
  await app.register(auditRoutes, { prefix: '/api/v1' });
  await app.register(authRoutes, { prefix: '/api/v1' });
  await app.register(participantRoutes, { prefix: '/api/v1' });
  await app.register(documentRoutes, { prefix: '/api/v1' });
  await app.register(uploadRoutes, { prefix: '/api/v1' });
  await app.register(planRoutes, { prefix: '/api/v1' });
  await app.register(procurementRoutes, { prefix: '/api/v1' });
  await app.register(publicRoutes, { prefix: '/api/v1' });
  await app.register(openDataRoutes, { prefix: '/api/v1' });
  await app.register(walletRoutes, { prefix: '/api/v1' });
  await app.register(applicationRoutes, { prefix: '/api/v1' });
  await app.register(auctionRoutes, { prefix: '/api/v1' });
  await app.register(pkiRoutes, { pki: ctx.pki });
  return app;
}

async function registerApiDocs(app: FastifyInstance, config: AppConfig): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'UPP: unified procurement platform API',
        version: '1',
        description:
          'Public viewing is free and needs no account. Errors are application/problem+json ' +
          'with a stable `code`.',
      },
      servers: [{ url: config.publicBaseUrl }],
    },
    refResolver: { buildLocalReference: (json) => String(json.$id) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: true,
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
  app.get('/api/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () =>
    app.swagger(),
  );
}

/**
 * Helmet's security headers on every answer. The middleware is built once: building it per
 * request, as the Fastify plugin does, parses the policy again for every answer.
 */
function securityHeaders(app: FastifyInstance, config: AppConfig): void {
  const headers = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    strictTransportSecurity: config.nodeEnv === 'production',
  });
  app.addHook('onRequest', (request, reply, done) => {
    headers(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
}

/** 404 for paths nobody serves, 405 with Allow for a known path asked with another method. */
function answerUnknownRoutes(app: FastifyInstance): void {
  const known = FindMyWay({ ignoreTrailingSlash: false });
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const upper = method.toUpperCase() as HTTPMethod;
      if (!known.hasRoute(upper, route.url)) known.on(upper, route.url, () => undefined);
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const).filter(
      (method) => known.find(method, path) !== null,
    );
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      const detail = `${request.method} is not allowed here; use ${allowed.join(', ')}`;
      return sendProblem(request, reply, 405, 'method.not_allowed', detail);
    }
    return sendProblem(request, reply, 404, 'route.not_found', `nothing is served at ${path}`);
  });
}
