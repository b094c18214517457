// What the use cases need of the application, built once per request from the app's context:
// every service context (participants, documents, procurements, applications) is a part of it.
import type { FastifyInstance } from 'fastify';
import type { ApplicationContext } from '../services/applications.js';
import type { PlatformPki } from '../services/pki.js';

export interface ServiceContext extends ApplicationContext {
  pki: PlatformPki;
}

export function serviceContext(app: FastifyInstance): ServiceContext {
  const { db, pki, clock, config, calendar, sealing } = app.ctx;
  return {
    db,
    verifier: pki,
    clock,
    acceptTestNumbers: config.nodeEnv !== 'production',
    calendar,
    ocidPrefix: config.ocdsPrefix,
    sealing,
    receipts: pki,
    pki,
  };
}
