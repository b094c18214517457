// Prometheus metrics of one process: Node's defaults, request durations by route and status, and
// the receipt time-stamps: tokens issued against receipts stamped gives the batches' mean size.
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function registerMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'upp_' });
  const duration = new Histogram({
    name: 'upp_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  const stats = app.ctx.pki.batchStats;
  new Counter({
    name: 'upp_receipt_tokens_total',
    help: 'RFC 3161 tokens issued for batches of receipts',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.batches);
    },
  });
  new Counter({
    name: 'upp_receipts_stamped_total',
    help: 'receipts stamped by those tokens',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.items);
    },
  });
  return registry;
}
