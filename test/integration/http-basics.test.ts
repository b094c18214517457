import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedClock } from '../../src/domain/time.js';
import { recordLinked } from '../support/audit.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';

const PROBLEM = 'application/problem+json; charset=utf-8';

describeEachDatabase('HTTP basics', (fresh) => {
  const migratedApp = async (env: Record<string, string> = {}) => {
    const db = await (await fresh()).open();
    await migrate(db);
    return { db, ...(await testApp(db, env)) };
  };

  test('/health answers while /ready waits for the migrations', async () => {
    const db = await (await fresh()).open();
    const { app } = await testApp(db);
    assert.equal((await app.inject('/health')).statusCode, 200);
    const notReady = await app.inject('/ready');
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().code, 'service.migrations_pending');
    await migrate(db);
    const ready = await app.inject('/ready');
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().status, 'ready');
    assert.equal(ready.json().driver, db.driver);
  });

  test('/ready answers 503 when the database is gone', async () => {
    const testDb = await fresh();
    const db = await testDb.open();
    await migrate(db);
    const { app } = await testApp(db);
    await db.close();
    const response = await app.inject('/ready');
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().code, 'service.database_unreachable');
  });

  test('an unknown path is a 404 problem with a stable code and the request id', async () => {
    const { app } = await migratedApp();
    const response = await app.inject({ url: '/api/v1/nothing?x=1', headers: {} });
    assert.equal(response.statusCode, 404);
    assert.equal(response.headers['content-type'], PROBLEM);
    const body = response.json();
    assert.equal(body.code, 'route.not_found');
    assert.equal(body.status, 404);
    assert.equal(body.instance, '/api/v1/nothing');
    assert.equal(body.requestId, response.headers['x-request-id']);
  });

  test('a malformed URL is a 400 problem, not a framework error', async () => {
    const { app } = await migratedApp();
    const response = await app.inject('/pki/ocsp/%E0%A4%A');
    assert.equal(response.statusCode, 400);
    assert.equal(response.headers['content-type'], PROBLEM);
    assert.equal(response.json().code, 'request.bad_url');
  });

  test('a known path asked with the wrong method is a 405 naming the allowed ones', async () => {
    const { app } = await migratedApp();
    const response = await app.inject({ method: 'DELETE', url: '/health' });
    assert.equal(response.statusCode, 405);
    assert.equal(response.json().code, 'method.not_allowed');
    assert.match(String(response.headers.allow), /GET/);
  });

  test('a body over the limit is refused with 413', async () => {
    const { app } = await migratedApp({ UPP_BODY_LIMIT: '2048' });
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/public/audit/checkpoint/verify',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ count: 1, hash: 'a'.repeat(64), pad: 'x'.repeat(4000) }),
    });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().code, 'request.too_large');
  });

  test('a body of an unsupported media type is refused with 415', async () => {
    const { app } = await migratedApp();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/public/audit/checkpoint/verify',
      headers: { 'content-type': 'text/csv' },
      payload: 'count,hash',
    });
    assert.equal(response.statusCode, 415);
    assert.equal(response.json().code, 'request.unsupported_media_type');
  });

  test('malformed JSON and schema violations are 400 problems that say what is wrong', async () => {
    const { app } = await migratedApp();
    const url = '/api/v1/public/audit/checkpoint/verify';
    const headers = { 'content-type': 'application/json' };
    const malformed = await app.inject({ method: 'POST', url, headers, payload: '{"count": ' });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().code, 'request.malformed_json');
    const invalid = await app.inject({ method: 'POST', url, payload: { count: -1, hash: 'zz' } });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().code, 'request.invalid');
    assert.ok(invalid.json().errors.length >= 1);
  });

  test('anonymous clients past the rate limit get 429 with Retry-After', async () => {
    const { app } = await migratedApp({ UPP_RATE_LIMIT_ANON: '3' });
    const url = '/api/v1/public/audit/checkpoint';
    for (let i = 0; i < 3; i += 1) assert.equal((await app.inject(url)).statusCode, 200);
    const limited = await app.inject(url);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['content-type'], PROBLEM);
    assert.equal(limited.json().code, 'rate_limit.exceeded');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal((await app.inject('/health')).statusCode, 200, 'health checks are not limited');
  });

  test('a sensible request id is echoed, anything else replaced by a fresh one', async () => {
    const { app } = await migratedApp();
    const echoed = await app.inject({ url: '/health', headers: { 'x-request-id': 'lb-1234abcd' } });
    assert.equal(echoed.headers['x-request-id'], 'lb-1234abcd');
    const replaced = await app.inject({ url: '/health', headers: { 'x-request-id': 'a\nb' } });
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('responses carry security headers and no CORS unless configured', async () => {
    const { app } = await migratedApp();
    const response = await app.inject({
      url: '/health',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  test('configured CORS origins are allowed and others are not', async () => {
    const { app } = await migratedApp({ UPP_CORS_ORIGINS: 'https://portal.example.kz' });
    const allowed = await app.inject({
      url: '/health',
      headers: { origin: 'https://portal.example.kz' },
    });
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://portal.example.kz');
    const other = await app.inject({ url: '/health', headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  test('the OpenAPI document lists the routes and the docs page is served', async () => {
    const { app } = await migratedApp();
    const openapi = await app.inject('/api/openapi.json');
    assert.equal(openapi.statusCode, 200);
    const paths = Object.keys(openapi.json().paths);
    assert.ok(paths.includes('/health'));
    assert.ok(paths.includes('/api/v1/public/audit/checkpoint'));
    const docs = await app.inject('/api/docs/');
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });

  test('/metrics speaks Prometheus and counts requests by route', async () => {
    const { app } = await migratedApp();
    await app.inject('/health');
    const metrics = await app.inject('/metrics');
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers['content-type'] as string, /text\/plain/);
    assert.match(metrics.body, /upp_http_request_duration_seconds_count\{[^}]*route="\/health"/);
  });

  test('/metrics counts receipt tokens and the receipts they stamped', async () => {
    const { app } = await migratedApp();
    const counted = async () => {
      const body = (await app.inject('/metrics')).body;
      const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(body)?.[1]);
      return {
        tokens: value('upp_receipt_tokens_total'),
        items: value('upp_receipts_stamped_total'),
      };
    };
    const before = await counted();
    const bytes = (n: number) => new TextEncoder().encode(`receipt ${n}`);
    await Promise.all([1, 2, 3].map((n) => app.ctx.pki.stampInBatch(bytes(n))));
    await app.ctx.pki.stampInBatch(bytes(4));
    const after = await counted();
    assert.deepEqual(
      { tokens: after.tokens - before.tokens, items: after.items - before.items },
      { tokens: 2, items: 4 },
    );
  });

  test('with a metrics token, /metrics refuses requests without it', async () => {
    const token = 'metrics-token-0123456789';
    const { app } = await migratedApp({ UPP_METRICS_TOKEN: token });
    const refused = await app.inject('/metrics');
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().code, 'auth.required');
    const wrong = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    const allowed = await app.inject({
      url: '/metrics',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(allowed.statusCode, 200);
  });

  test('the public audit checkpoint shows the latest hash and count', async () => {
    const { app, db } = await migratedApp();
    const clock = fixedClock('2026-03-02T04:00:00.000Z');
    const first = await recordLinked(db, clock, { actor: 'system', action: 'test.one' });
    const second = await recordLinked(db, clock, { actor: 'system', action: 'test.two' });
    const response = await app.inject('/api/v1/public/audit/checkpoint');
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), {
      count: 2,
      hash: second.hash,
      recordedAt: '2026-03-02T04:00:00.000Z',
      algorithm: 'sha256-jcs-chain',
    });
    const url = '/api/v1/public/audit/checkpoint/verify';
    const held = await app.inject({ method: 'POST', url, payload: { count: 1, hash: first.hash } });
    assert.deepEqual(held.json(), { contained: true, count: 2 });
    const forged = await app.inject({
      method: 'POST',
      url,
      payload: { count: 1, hash: second.hash },
    });
    assert.deepEqual(forged.json(), { contained: false, count: 2 });
    const future = await app.inject({
      method: 'POST',
      url,
      payload: { count: 3, hash: first.hash },
    });
    assert.deepEqual(future.json(), { contained: false, count: 2 });
  });
});
