// Revocation checking: offline NCA CRLs and OCSP responses, then a real HTTP server on 127.0.0.1
// serving the vector CRL and answering OCSP (vector answers and a demo responder), with caching,
// timeouts, size limits and fallback between sources.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseCertificate } from '../../src/pki/certificate.js';
import { signCrl } from '../../src/pki/crl.js';
import { PkiError } from '../../src/pki/errors.js';
import { signOcspResponse } from '../../src/pki/ocsp.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import {
  checkPathRevocation,
  RevocationChecker,
  RevocationUnavailableError,
  type HttpFetcher,
} from '../../src/pki/revocation.js';
import { ECDSA_SHA256, issue, newKey, signer, smallPki } from './pki-test-issuer.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, vectors)));
const cert = (path: string) => parseCertificate(read(path));
const p12 = (file: string, password = 'Qwerty12') =>
  openPkcs12(read(`p12/ncanode/${file}`), password).certificate;
const rsaCa = cert('ca/nca_rsa_test.crt');
const SEPT_1 = new Date('2022-09-01T00:00:00Z');
const SEPT_2 = new Date('2022-09-02T17:00:00Z');
const isCode = (code: string) => (error: unknown) =>
  error instanceof PkiError && error.code === code;

type Handler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (!handler) {
      response.writeHead(404).end();
      return;
    }
    handler(request, Buffer.concat(chunks), response);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const serve =
  (bytes: Uint8Array, type: string): Handler =>
  (_request, _body, response) => {
    response.writeHead(200, { 'content-type': type }).end(Buffer.from(bytes));
  };
routes.set('/crl/nca_rsa_test.crl', serve(read('crl/nca_rsa_test.crl'), 'application/pkix-crl'));
routes.set(
  '/ocsp/vector-good',
  serve(read('ocsp/ocsp_response_individual_sign_2004.bin'), 'application/ocsp-response'),
);
routes.set('/hang', () => undefined);
routes.set('/broken', (_request, _body, response) => response.writeHead(500).end());
routes.set('/huge', (_request, _body, response) => {
  response.writeHead(200, { 'content-type': 'application/pkix-crl' });
  response.end(Buffer.alloc(300_000, 0x30));
});

test('offline CRL: the revoked RSA key stores are revoked, the valid one is good', async () => {
  const checker = new RevocationChecker({
    offlineCrls: [read('crl/nca_rsa_test.crl'), read('crl/nca_gost_test.crl')],
    fetcher: () => Promise.reject(new Error('no network in this test')),
  });
  for (const file of ['individual_sign_revoked_2004.p12', 'individual_auth_revoked_2004.p12']) {
    const result = await checker.check(p12(file), rsaCa, SEPT_1, { sources: ['crl'] });
    assert.equal(result.status, 'revoked', file);
    assert.equal(result.source, 'crl');
    assert.equal(result.origin, 'offline');
    assert.ok(result.revokedAt && result.revokedAt < SEPT_1);
  }
  const valid = await checker.check(
    cert('certs/individual_valid_sign_2004_rsa.cer'),
    rsaCa,
    SEPT_1,
    { sources: ['crl'] },
  );
  assert.equal(valid.status, 'good');
});

test('offline OCSP responses: good, revoked, and "not issued" as unknown', async () => {
  const checker = new RevocationChecker({
    offlineOcspResponses: [
      'ocsp_response_individual_sign_2004.bin',
      'ocsp_response_ceo_sign_2004_revoked.bin',
      'ocsp_response_ceo_2015_revoked.bin',
      'ocsp_response_individual_2015.bin',
    ].map((file) => read(`ocsp/${file}`)),
    useCertificateUrls: false,
  });
  const gost2022 = cert('ca/nca_gost2022_test.cer');
  const expectations = [
    [p12('individual_valid_sign_2004_rsa.p12'), rsaCa, 'good'],
    [p12('ceo_sign_revoked_2004.p12'), cert('ca/nca_gost_test.crt'), 'revoked'],
    [p12('ceo_revoked_2015.p12', 'Aa123456'), gost2022, 'revoked'],
    [p12('individual_valid_2015_gost2015.p12', 'Aa123456'), gost2022, 'unknown'],
  ] as const;
  for (const [subject, issuer, status] of expectations) {
    const result = await checker.check(subject, issuer, SEPT_2, { sources: ['ocsp'] });
    assert.equal(result.status, status, subject.serialHex);
    assert.equal(result.source, 'ocsp');
  }
});

test('nothing to go on gives revocation.unavailable; sources "none" skips the check', async () => {
  const checker = new RevocationChecker({ useCertificateUrls: false });
  const subject = cert('certs/individual_valid_sign_2004_rsa.cer');
  await assert.rejects(checker.check(subject, rsaCa, SEPT_1), isCode('revocation.unavailable'));
  const skipped = await checker.check(subject, rsaCa, SEPT_1, { sources: 'none' });
  assert.deepEqual(skipped, { status: 'unknown', source: 'none' });
});

test('HTTP CRL from a local server: revoked, then cached until nextUpdate', async () => {
  let clock = new Date('2022-09-01T00:00:00Z');
  const checker = new RevocationChecker({
    crlUrls: [`${base}/crl/nca_rsa_test.crl`],
    useCertificateUrls: false,
    now: () => clock,
  });
  const before = hits.get('/crl/nca_rsa_test.crl') ?? 0;
  const revoked = p12('individual_sign_revoked_2004.p12');
  const first = await checker.check(revoked, rsaCa, SEPT_1, { sources: ['crl'] });
  assert.equal(first.status, 'revoked');
  assert.equal(first.origin, `${base}/crl/nca_rsa_test.crl`);
  const many = await Promise.all(
    ['individual_auth_revoked_2004.p12', 'individual_valid_sign_2004_rsa.p12'].map((file) =>
      checker.check(p12(file), rsaCa, SEPT_1, { sources: ['crl'] }),
    ),
  );
  assert.deepEqual(
    many.map((item) => item.status),
    ['revoked', 'good'],
  );
  assert.equal((hits.get('/crl/nca_rsa_test.crl') ?? 0) - before, 1);
  clock = new Date('2022-09-26T00:00:00Z');
  await checker.check(revoked, rsaCa, SEPT_1, { sources: ['crl'] });
  assert.equal((hits.get('/crl/nca_rsa_test.crl') ?? 0) - before, 2);
});

test('HTTP OCSP: the vector answer over POST (no nonce sent), good', async () => {
  let contentType = '';
  routes.set('/ocsp/recorded', (request, _body, response) => {
    contentType = request.headers['content-type'] ?? '';
    serve(read('ocsp/ocsp_response_individual_sign_2004.bin'), 'application/ocsp-response')(
      request,
      _body,
      response,
    );
  });
  const checker = new RevocationChecker({
    ocspUrls: [`${base}/ocsp/recorded`],
    useCertificateUrls: false,
    nonce: false,
  });
  const result = await checker.check(p12('individual_valid_sign_2004_rsa.p12'), rsaCa, SEPT_2);
  assert.equal(result.status, 'good');
  assert.equal(result.source, 'ocsp');
  assert.equal(contentType, 'application/ocsp-request');
  const withNonce = new RevocationChecker({
    ocspUrls: [`${base}/ocsp/recorded`],
    useCertificateUrls: false,
  });
  await assert.rejects(
    withNonce.check(p12('individual_valid_sign_2004_rsa.p12'), rsaCa, SEPT_2, {
      sources: ['ocsp'],
    }),
    (error: unknown) =>
      error instanceof RevocationUnavailableError &&
      error.attempts.some((attempt) => attempt.code === 'ocsp.nonce_mismatch'),
  );
});

test('HTTP OCSP with a real responder: nonce echoed, revoked, cached', async () => {
  const { ca, caKey, leaf } = smallPki({ ocspUrl: `${base}/ocsp/demo` });
  const responderKey = newKey();
  const responderCert = issue({
    subject: 'Demo OCSP',
    key: responderKey,
    extKeyUsage: ['1.3.6.1.5.5.7.3.9'],
    issuer: { cert: ca, key: caKey },
  });
  const revokedAt = new Date('2024-02-01T00:00:00Z');
  const at = new Date('2024-03-01T00:00:00Z');
  routes.set('/ocsp/demo', (_request, body, response) => {
    const answer = signOcspResponse({
      responderCert,
      issuer: ca,
      sign: signer(responderKey),
      signatureAlgorithm: ECDSA_SHA256,
      request: new Uint8Array(body),
      statusOf: () => ({ status: 'revoked', revokedAt, reason: 'keyCompromise' }),
      producedAt: at,
      nextUpdate: new Date('2024-03-02T00:00:00Z'),
    });
    response.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(answer);
  });
  const checker = new RevocationChecker({ now: () => at });
  const before = hits.get('/ocsp/demo') ?? 0;
  const result = await checker.check(leaf, ca, at);
  assert.deepEqual(
    { status: result.status, source: result.source, reason: result.reason },
    { status: 'revoked', source: 'ocsp', reason: 'keyCompromise' },
  );
  assert.deepEqual(result.revokedAt, revokedAt);
  const again = await checker.check(leaf, ca, at);
  assert.equal(again.origin, 'cache');
  assert.equal((hits.get('/ocsp/demo') ?? 0) - before, 1);
});

test('a kept OCSP answer serves the same certificate bytes while the records stay', async () => {
  const { ca, caKey, leaf, leafKey } = smallPki({ ocspUrl: `${base}/ocsp/records` });
  const at = new Date('2024-03-01T00:00:00Z');
  let status: 'good' | 'revoked' = 'good';
  routes.set('/ocsp/records', (_request, body, response) => {
    const answer = signOcspResponse({
      responderCert: ca,
      issuer: ca,
      sign: signer(caKey),
      signatureAlgorithm: ECDSA_SHA256,
      request: new Uint8Array(body),
      statusOf: () => (status === 'good' ? { status } : { status, revokedAt: at }),
      producedAt: at,
      nextUpdate: new Date('2024-03-02T00:00:00Z'),
    });
    response.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(answer);
  });
  let records = 'v1';
  const checker = new RevocationChecker({ now: () => at, recordsVersion: () => records });
  const fetched = () => hits.get('/ocsp/records') ?? 0;

  assert.equal((await checker.check(leaf, ca, at)).status, 'good');
  const again = await checker.check(leaf, ca, at);
  assert.deepEqual([again.status, again.origin, fetched()], ['good', 'cache', 1]);

  const twin = issue({
    subject: 'Test Person',
    key: leafKey,
    serialHex: leaf.serialHex,
    ocspUrl: `${base}/ocsp/records`,
    issuer: { cert: ca, key: caKey },
  });
  assert.notEqual(twin.fingerprintSha256, leaf.fingerprintSha256);
  assert.equal((await checker.check(twin, ca, at)).origin, `${base}/ocsp/records`);
  assert.equal(fetched(), 2, 'other bytes with the same serial are asked about again');

  status = 'revoked';
  records = 'v2';
  const revoked = await checker.check(leaf, ca, at);
  assert.deepEqual(
    [revoked.status, revoked.origin, fetched()],
    ['revoked', `${base}/ocsp/records`, 3],
    'new records: asked again, and the revocation shows',
  );
});

test('a kept OCSP answer is not used for a moment past its nextUpdate', async () => {
  const { ca, caKey, leaf } = smallPki({ ocspUrl: `${base}/ocsp/short` });
  const at = new Date('2024-03-01T00:00:00Z');
  routes.set('/ocsp/short', (_request, body, response) => {
    const answer = signOcspResponse({
      responderCert: ca,
      issuer: ca,
      sign: signer(caKey),
      signatureAlgorithm: ECDSA_SHA256,
      request: new Uint8Array(body),
      statusOf: () => ({ status: 'good' }),
      producedAt: at,
      nextUpdate: new Date('2024-03-01T00:10:00Z'),
    });
    response.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(answer);
  });
  const checker = new RevocationChecker({ now: () => at });
  assert.equal((await checker.check(leaf, ca, at)).status, 'good');
  const later = new Date('2024-03-01T00:11:00Z');
  await assert.rejects(
    checker.check(leaf, ca, later, { sources: ['ocsp'] }),
    (error: unknown) =>
      error instanceof RevocationUnavailableError &&
      error.attempts.map((attempt) => `${attempt.origin} ${attempt.code}`).join() ===
        `cache ocsp.stale,${base}/ocsp/short ocsp.stale`,
  );
});

test('a responder that never answers times out and the CRL is used instead', async () => {
  const { ca, caKey, leaf } = smallPki({ ocspUrl: `${base}/hang`, crlUrl: `${base}/crl/demo` });
  const at = new Date('2024-03-01T00:00:00Z');
  routes.set(
    '/crl/demo',
    serve(
      signCrl({
        issuer: ca,
        sign: signer(caKey),
        signatureAlgorithm: ECDSA_SHA256,
        revoked: [],
        thisUpdate: new Date('2024-02-28T00:00:00Z'),
        nextUpdate: new Date('2024-03-07T00:00:00Z'),
        crlNumber: 1,
      }),
      'application/pkix-crl',
    ),
  );
  const checker = new RevocationChecker({ timeoutMs: 150, now: () => at });
  const started = Date.now();
  const result = await checker.check(leaf, ca, at);
  assert.equal(result.status, 'good');
  assert.equal(result.source, 'crl');
  assert.ok(Date.now() - started < 3000);
  const ocspOnly = new RevocationChecker({ timeoutMs: 150, now: () => at });
  await assert.rejects(
    ocspOnly.check(leaf, ca, at, { sources: ['ocsp'] }),
    (error: unknown) =>
      error instanceof RevocationUnavailableError &&
      error.attempts.some((attempt) => attempt.code === 'revocation.timeout'),
  );
});

test('HTTP errors, oversize bodies and bad URLs are reported per attempt', async () => {
  const subject = p12('individual_sign_revoked_2004.p12');
  const checker = new RevocationChecker({
    crlUrls: [`${base}/broken`, `${base}/huge`, 'ldap://crl.example/x', `${base}/missing`],
    useCertificateUrls: false,
    maxCrlBytes: 100_000,
  });
  await assert.rejects(
    checker.check(subject, rsaCa, SEPT_1, { sources: ['crl'] }),
    (error: unknown) => {
      assert.ok(error instanceof RevocationUnavailableError);
      assert.deepEqual(
        error.attempts.map((attempt) => attempt.code),
        [
          'revocation.http_error',
          'revocation.too_large',
          'revocation.bad_url',
          'revocation.http_error',
        ],
      );
      return true;
    },
  );
});

test('an injected fetcher replaces HTTP; a CRL of the wrong CA is not used', async () => {
  const requested: string[] = [];
  const fetcher: HttpFetcher = (url) => {
    requested.push(url);
    return Promise.resolve(read('crl/nca_gost_test.crl'));
  };
  const checker = new RevocationChecker({
    fetcher,
    crlUrls: ['http://crl.test/x.crl'],
    useCertificateUrls: false,
  });
  await assert.rejects(
    checker.check(p12('individual_sign_revoked_2004.p12'), rsaCa, SEPT_1, { sources: ['crl'] }),
    (error: unknown) =>
      error instanceof RevocationUnavailableError &&
      error.attempts.some((attempt) => attempt.code === 'crl.wrong_issuer'),
  );
  assert.deepEqual(requested, ['http://crl.test/x.crl']);
  const guarded = new RevocationChecker({
    fetcher,
    crlUrls: ['http://crl.test/x.crl', 'http://10.0.0.1/admin'],
    useCertificateUrls: false,
    allowUrl: (url) => new URL(url).hostname.endsWith('.test'),
  });
  await assert.rejects(
    guarded.check(p12('individual_sign_revoked_2004.p12'), rsaCa, SEPT_1, { sources: ['crl'] }),
    (error: unknown) =>
      error instanceof RevocationUnavailableError &&
      error.attempts.map((attempt) => attempt.code).join() ===
        'crl.wrong_issuer,revocation.bad_url',
  );
  assert.deepEqual(requested, ['http://crl.test/x.crl', 'http://crl.test/x.crl']);
});

test('checkPathRevocation: each link of a chain, with cert.revoked and unavailable', async () => {
  const { root, rootKey, ca, caKey, leaf } = smallPki();
  const at = new Date('2024-03-01T00:00:00Z');
  const crlOf = (issuer: typeof ca, key: typeof caKey, revoked: string[]) =>
    signCrl({
      issuer,
      sign: signer(key),
      signatureAlgorithm: ECDSA_SHA256,
      revoked: revoked.map((serialHex) => ({ serialHex, revokedAt: new Date('2024-02-01') })),
      thisUpdate: new Date('2024-02-28T00:00:00Z'),
      nextUpdate: new Date('2024-03-07T00:00:00Z'),
      crlNumber: 3,
    });
  const chain = [leaf, ca, root];
  const full = new RevocationChecker({
    offlineCrls: [crlOf(ca, caKey, [leaf.serialHex]), crlOf(root, rootKey, [])],
    useCertificateUrls: false,
  });
  const entries = await checkPathRevocation(full, chain, at);
  assert.deepEqual(
    entries.map((entry) => [entry.cert.subject.commonName, entry.error?.code]),
    [
      ['Test Person', 'cert.revoked'],
      ['Test CA', undefined],
    ],
  );
  const partial = new RevocationChecker({
    offlineCrls: [crlOf(ca, caKey, [])],
    useCertificateUrls: false,
  });
  const partialEntries = await checkPathRevocation(partial, chain, at);
  assert.deepEqual(
    partialEntries.map((entry) => entry.error?.code),
    [undefined, 'revocation.unavailable'],
  );
  const notIssued = new RevocationChecker({
    offlineOcspResponses: [read('ocsp/ocsp_response_individual_2015.bin')],
    useCertificateUrls: false,
  });
  const gostChain = [
    p12('individual_valid_2015_gost2015.p12', 'Aa123456'),
    cert('ca/nca_gost2022_test.cer'),
  ];
  const [gostEntry] = await checkPathRevocation(notIssued, gostChain, SEPT_2, {
    sources: ['ocsp'],
  });
  assert.equal(gostEntry?.error?.code, 'cert.untrusted');
});
