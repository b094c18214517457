// The PKI endpoints on a Fastify instance of their own: demo CRLs, CA certificates, OCSP by POST
// and GET, the TSA, refusals as problem+json; then the same OCSP and TSA over a real port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { fixedClock } from '../../src/domain/time.js';
import { handleError, problemSchema } from '../../src/http/problem.js';
import { pkiRoutes } from '../../src/http/routes/pki.js';
import { checkCrl, crlStatus, parseCrl } from '../../src/pki/crl.js';
import { issueCertificate, revokeCertificate } from '../../src/pki/demo-ca.js';
import type { DemoCa, IssuedKeyStore } from '../../src/pki/demo-ca.js';
import { checkOcspResponse, createOcspRequest, parseOcspResponse } from '../../src/pki/ocsp.js';
import { RevocationChecker } from '../../src/pki/revocation.js';
import {
  encodeTimeStampRequest,
  imprintOf,
  parseTimeStampResponse,
  verifyTimeStampToken,
} from '../../src/pki/tsp.js';
import { createPlatformPki, pkiSettingsFromEnv } from '../../src/services/pki.js';
import type { PlatformPki } from '../../src/services/pki.js';

const dataDir = mkdtempSync(join(tmpdir(), 'upp-pki-routes-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

const clock = fixedClock('2026-03-02T04:00:00.000Z');
let port = 0;
let pki: PlatformPki;
let ca: DemoCa;
let gostSigner: IssuedKeyStore;
let rsaSigner: IssuedKeyStore;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

async function appFor(platform: PlatformPki): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.addSchema(problemSchema);
  app.setErrorHandler(handleError);
  await app.register(swagger, {
    openapi: { openapi: '3.1.0', info: { title: 'test', version: '1' } },
    refResolver: { buildLocalReference: (json) => String(json.$id) },
  });
  await app.register(pkiRoutes, { pki: platform });
  await app.ready();
  return app;
}

before(async () => {
  port = await freePort();
  const settings = pkiSettingsFromEnv(
    { UPP_PKI_TRUST: 'demo' },
    { nodeEnv: 'test', dataDir, publicBaseUrl: `http://127.0.0.1:${port}` },
  );
  pki = await createPlatformPki(settings, clock);
  ca = pki.demoCa as DemoCa;
  const person = { surname: 'Сатпаев', firstName: 'Канат' };
  gostSigner = issueCertificate(ca, {
    role: 'individual',
    iin: '900101300017',
    purpose: 'sign',
    alg: 'gost2015',
    names: person,
    password: 'x',
  });
  rsaSigner = issueCertificate(ca, {
    role: 'first_head',
    iin: '900101300017',
    bin: '000740001307',
    org: 'ТОО DEMO',
    purpose: 'sign',
    alg: 'rsa',
    names: person,
    password: 'x',
  });
});

function ocspStatus(body: Uint8Array, signer: IssuedKeyStore, issuerOf: 'rsa' | 'gost2015') {
  return checkOcspResponse(parseOcspResponse(body), signer.certificate, ca.cas[issuerOf].issuing, {
    at: clock.now(),
  });
}

test('the demo CRLs and CA certificates are served as DER with their media types', async () => {
  const app = await appFor(pki);
  try {
    for (const algorithm of ['rsa', 'gost2015'] as const) {
      const crl = await app.inject({ url: `/pki/crl/demo-${algorithm}.crl` });
      assert.equal(crl.statusCode, 200);
      assert.equal(crl.headers['content-type'], 'application/pkix-crl');
      const parsed = parseCrl(new Uint8Array(crl.rawPayload));
      assert.deepEqual(checkCrl(parsed, ca.cas[algorithm].issuing, clock.now()), []);
      for (const [path, cert] of [
        [`/pki/cert/demo-${algorithm}-ca.cer`, ca.cas[algorithm].issuing],
        [`/pki/cert/demo-${algorithm}-root.cer`, ca.cas[algorithm].root],
      ] as const) {
        const reply = await app.inject({ url: path });
        assert.equal(reply.statusCode, 200);
        assert.equal(reply.headers['content-type'], 'application/pkix-cert');
        assert.deepEqual(new Uint8Array(reply.rawPayload), cert.der);
      }
    }
    const openapi = app.swagger() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    assert.deepEqual(openapi.paths['/pki/ocsp']?.post?.tags, ['pki']);
    assert.deepEqual(openapi.paths['/pki/tsa']?.post?.tags, ['pki']);
  } finally {
    await app.close();
  }
});

test('OCSP by POST and by GET answers good, then revoked after a revocation', async () => {
  const app = await appFor(pki);
  try {
    const request = createOcspRequest({
      cert: gostSigner.certificate,
      issuer: ca.cas.gost2015.issuing,
      nonce: true,
    });
    const post = await app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: Buffer.from(request.der),
    });
    assert.equal(post.statusCode, 200);
    assert.equal(post.headers['content-type'], 'application/ocsp-response');
    const good = checkOcspResponse(
      parseOcspResponse(new Uint8Array(post.rawPayload)),
      gostSigner.certificate,
      ca.cas.gost2015.issuing,
      { at: clock.now(), nonce: request.nonce },
    );
    assert.equal(good.status, 'good');

    const rsaRequest = createOcspRequest({
      cert: rsaSigner.certificate,
      issuer: ca.cas.rsa.issuing,
    });
    const base64 = Buffer.from(rsaRequest.der).toString('base64');
    const base64url = Buffer.from(rsaRequest.der).toString('base64url');
    for (const encoded of [encodeURIComponent(base64), base64url]) {
      const reply = await app.inject({ url: `/pki/ocsp/${encoded}` });
      assert.equal(reply.statusCode, 200);
      assert.equal(ocspStatus(new Uint8Array(reply.rawPayload), rsaSigner, 'rsa').status, 'good');
    }

    const revokedAt = new Date(clock.now().getTime() - 60_000);
    revokeCertificate(ca, rsaSigner.certificate.serialHex, revokedAt, 'keyCompromise');
    const after = await app.inject({ url: `/pki/ocsp/${base64url}` });
    const revoked = ocspStatus(new Uint8Array(after.rawPayload), rsaSigner, 'rsa');
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revokedAt?.toISOString(), revokedAt.toISOString());
    const crl = await app.inject({ url: '/pki/crl/demo-rsa.crl' });
    const listed = crlStatus(
      parseCrl(new Uint8Array(crl.rawPayload)),
      rsaSigner.certificate.serialHex,
    );
    assert.equal(listed.status, 'revoked');
  } finally {
    await app.close();
  }
});

test('OCSP refusals: wrong media type 415, too large 413, garbage malformedRequest', async () => {
  const app = await appFor(pki);
  try {
    const wrongType = await app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    assert.equal(wrongType.statusCode, 415);
    assert.equal(wrongType.json().code, 'request.unsupported_media_type');
    assert.match(String(wrongType.headers['content-type']), /application\/problem\+json/);

    const tooLarge = await app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: Buffer.alloc(64 * 1024 + 1, 0x30),
    });
    assert.equal(tooLarge.statusCode, 413);
    assert.equal(tooLarge.json().code, 'request.too_large');

    for (const payload of [Buffer.from([0x30, 0x03, 0x02, 0x01]), Buffer.alloc(0)]) {
      const garbage = await app.inject({
        method: 'POST',
        url: '/pki/ocsp',
        headers: { 'content-type': 'application/ocsp-request' },
        payload,
      });
      assert.equal(garbage.statusCode, 200);
      const parsed = parseOcspResponse(new Uint8Array(garbage.rawPayload));
      assert.equal(parsed.responseStatus, 'malformedRequest');
    }
    const badGet = await app.inject({ url: '/pki/ocsp/not.base64!' });
    assert.equal(badGet.statusCode, 200);
    assert.equal(
      parseOcspResponse(new Uint8Array(badGet.rawPayload)).responseStatus,
      'malformedRequest',
    );
    const badUrl = await app.inject({ url: '/pki/ocsp/%E0%A4%A' });
    assert.equal(badUrl.statusCode, 400);
  } finally {
    await app.close();
  }
});

test('the TSA stamps an imprint at the clock time and refuses a malformed query', async () => {
  const app = await appFor(pki);
  try {
    const data = new TextEncoder().encode('receipt 42');
    const query = encodeTimeStampRequest({ imprint: imprintOf(data), nonce: 7n, certReq: true });
    const reply = await app.inject({
      method: 'POST',
      url: '/pki/tsa',
      headers: { 'content-type': 'application/timestamp-query' },
      payload: Buffer.from(query),
    });
    assert.equal(reply.statusCode, 200);
    assert.equal(reply.headers['content-type'], 'application/timestamp-reply');
    const response = parseTimeStampResponse(new Uint8Array(reply.rawPayload));
    assert.equal(response.status, 0);
    const token = verifyTimeStampToken(response.token as Uint8Array, { data });
    assert.equal(token.valid, true);
    assert.equal(token.info.nonce, 7n);
    assert.equal(token.time.toISOString(), clock.now().toISOString());
    const other = verifyTimeStampToken(response.token as Uint8Array, {
      data: new TextEncoder().encode('receipt 43'),
    });
    assert.equal(other.valid, false);

    const malformed = await app.inject({
      method: 'POST',
      url: '/pki/tsa',
      headers: { 'content-type': 'application/timestamp-query' },
      payload: Buffer.from('not a request'),
    });
    assert.equal(malformed.statusCode, 200);
    assert.equal(parseTimeStampResponse(new Uint8Array(malformed.rawPayload)).status, 2);
    const json = await app.inject({ method: 'POST', url: '/pki/tsa', payload: { a: 1 } });
    assert.equal(json.statusCode, 415);
    assert.equal(json.json().code, 'request.unsupported_media_type');
  } finally {
    await app.close();
  }
});

test('without a demo CA only the TSA is served', async () => {
  const withoutDemo: PlatformPki = { ...pki, demoCa: undefined };
  const app = await appFor(withoutDemo);
  try {
    assert.equal((await app.inject({ url: '/pki/crl/demo-rsa.crl' })).statusCode, 404);
    const ocsp = await app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: Buffer.from([0x30, 0x00]),
    });
    assert.equal(ocsp.statusCode, 404);
    const query = encodeTimeStampRequest({ imprint: imprintOf(new Uint8Array(1)), certReq: false });
    const tsa = await app.inject({
      method: 'POST',
      url: '/pki/tsa',
      headers: { 'content-type': 'application/timestamp-query' },
      payload: Buffer.from(query),
    });
    assert.equal(parseTimeStampResponse(new Uint8Array(tsa.rawPayload)).status, 0);
  } finally {
    await app.close();
  }
});

test('over a real port: OCSP through the HTTP revocation checker, TSA through fetch', async () => {
  const app = await appFor(pki);
  await app.listen({ host: '127.0.0.1', port });
  try {
    const checker = new RevocationChecker({ now: () => clock.now() });
    const good = await checker.check(gostSigner.certificate, ca.cas.gost2015.issuing, clock.now(), {
      sources: ['ocsp'],
    });
    assert.equal(good.status, 'good');
    assert.equal(good.origin, `http://127.0.0.1:${port}/pki/ocsp`);
    const revoked = await checker.check(rsaSigner.certificate, ca.cas.rsa.issuing, clock.now(), {
      sources: ['ocsp'],
    });
    assert.equal(revoked.status, 'revoked');
    const viaCrl = await new RevocationChecker({ now: () => clock.now() }).check(
      rsaSigner.certificate,
      ca.cas.rsa.issuing,
      clock.now(),
      { sources: ['crl'] },
    );
    assert.equal(viaCrl.status, 'revoked');
    assert.equal(viaCrl.origin, `http://127.0.0.1:${port}/pki/crl/demo-rsa.crl`);

    const data = new TextEncoder().encode('bid 7');
    const response = await fetch(`http://127.0.0.1:${port}/pki/tsa`, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query' },
      body: encodeTimeStampRequest({ imprint: imprintOf(data), certReq: true }),
    });
    assert.equal(response.status, 200);
    const reply = parseTimeStampResponse(new Uint8Array(await response.arrayBuffer()));
    assert.equal(verifyTimeStampToken(reply.token as Uint8Array, { data }).valid, true);
  } finally {
    await app.close();
  }
});

test('random and mutated OCSP and time-stamp requests never fail the server', async () => {
  const app = await appFor(pki);
  const ocspSeed = createOcspRequest({
    cert: gostSigner.certificate,
    issuer: ca.cas.gost2015.issuing,
  }).der;
  const tsaSeed = encodeTimeStampRequest({ imprint: imprintOf(new Uint8Array(4)), certReq: true });
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc
      .tuple(fc.constantFrom(ocspSeed, tsaSeed), fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([seed, at, value]) => {
        const mutated = new Uint8Array(seed);
        mutated[at % mutated.length] = value;
        return mutated;
      }),
  );
  let tried = 0;
  try {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (bytes, toOcsp) => {
        tried += 1;
        const reply = await app.inject({
          method: 'POST',
          url: toOcsp ? '/pki/ocsp' : '/pki/tsa',
          headers: {
            'content-type': toOcsp ? 'application/ocsp-request' : 'application/timestamp-query',
          },
          payload: Buffer.from(bytes),
        });
        assert.equal(reply.statusCode, 200);
        const answer = new Uint8Array(reply.rawPayload);
        if (toOcsp) assert.ok(parseOcspResponse(answer).responseStatus.length > 0);
        else assert.ok(parseTimeStampResponse(answer).status >= 0);
      }),
      { numRuns: 1000 },
    );
  } finally {
    await app.close();
  }
  console.log(`fuzz pki routes: ${tried} inputs`);
});
