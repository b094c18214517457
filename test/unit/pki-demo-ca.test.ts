// The demo PKI: CA material in the NCA RK profile, issued key stores that validate through
// path.ts, revocation visible in the CRL, persistence in the folder, refusal in production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import {
  createDemoCa,
  demoCrl,
  demoOcspRespond,
  demoPkiReply,
  demoTimeStampAuthority,
  demoTrustStore,
  issueCertificate,
  loadDemoCa,
  revokeCertificate,
  revokedCertificates,
} from '../../src/pki/demo-ca.js';
import type { DemoAlgorithm, DemoCa } from '../../src/pki/demo-ca.js';
import type { Certificate } from '../../src/pki/certificate.js';
import { crlStatus, parseCrl, verifyCrl } from '../../src/pki/crl.js';
import { checkOcspResponse, createOcspRequest, parseOcspResponse } from '../../src/pki/ocsp.js';
import { validatePath } from '../../src/pki/path.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import { signCms } from '../../src/pki/cms-sign.js';
import { verifyCms } from '../../src/pki/verify.js';
import { verifyTimeStampToken } from '../../src/pki/tsp.js';
import { PkiError } from '../../src/pki/errors.js';
import { RevocationChecker } from '../../src/pki/revocation.js';
import type { HttpFetcher } from '../../src/pki/revocation.js';

const ENV = { NODE_ENV: 'test' };
const T0 = new Date('2026-02-02T06:00:00Z');
let now = T0;
const clock = () => now;
const dir = mkdtempSync(join(tmpdir(), 'upp-demo-ca-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let cached: DemoCa | undefined;
function demo(): DemoCa {
  cached ??= createDemoCa({ dir, clock, baseUrl: 'http://127.0.0.1:9999/', env: ENV });
  return cached;
}

test('the demo CA is in the NCA RK profile and keeps its keys private', () => {
  const ca = demo();
  for (const algorithm of ['rsa', 'gost2015'] as const) {
    const { root, issuing } = ca.cas[algorithm];
    assert.ok(root.isCa && issuing.isCa);
    assert.match(issuing.subject.text, /НУЦ РК \(DEMO/);
    assert.ok(issuing.subject.attributes.some((a) => a.oid === '2.5.4.6' && a.value === 'KZ'));
    assert.deepEqual(issuing.keyUsage.sort(), ['crlSign', 'keyCertSign']);
    assert.equal(issuing.profile.algorithm, algorithm === 'rsa' ? 'rsa' : 'gost2015-512');
  }
  assert.equal(statSync(join(dir, 'keys')).mode & 0o077, 0);
  assert.equal(statSync(join(dir, 'keys', 'rsa-ca.p8')).mode & 0o077, 0);
});

for (const alg of ['rsa', 'gost2015'] as DemoAlgorithm[]) {
  test(`a ${alg} certificate validates, then shows as revoked after revoke()`, async () => {
    const ca = demo();
    now = T0;
    const issued = issueCertificate(ca, {
      role: 'first_head',
      iin: '880101300123',
      bin: '123456789021',
      org: 'ТОО "ДЕМО"',
      purpose: 'sign',
      alg,
      names: { surname: 'Тестов', firstName: 'Тест', patronymic: 'Тестович' },
      password: 'demo-pass',
    });
    const store = openPkcs12(issued.p12, 'demo-pass');
    const certificate = store.certificate;
    assert.equal(certificate.profile.iin, '880101300123');
    assert.equal(certificate.profile.bin, '123456789021');
    assert.equal(certificate.profile.organization, 'ТОО "ДЕМО"');
    assert.equal(certificate.profile.keyPurpose, 'sign');
    assert.deepEqual(certificate.profile.roles, ['legal_entity', 'first_head']);
    assert.deepEqual(certificate.crlUrls, [`http://127.0.0.1:9999/pki/crl/demo-${alg}.crl`]);
    assert.deepEqual(certificate.ocspUrls, ['http://127.0.0.1:9999/pki/ocsp']);
    const trust = demoTrustStore(ca, ENV);
    const at = new Date(T0.getTime() + 60_000);
    const path = await validatePath(certificate, { trust, at, purpose: 'sign' });
    assert.deepEqual(path.errors, []);
    assert.equal(path.trusted, true);
    const issuer = ca.cas[alg].issuing;
    const before = parseCrl(demoCrl(ca, alg));
    assert.ok(verifyCrl(before, issuer));
    assert.equal(crlStatus(before, certificate.serialHex, at).status, 'good');
    const ocsp = () => {
      const request = createOcspRequest({ cert: certificate, issuer, nonce: true });
      const response = parseOcspResponse(demoOcspRespond(ca, request.der));
      return checkOcspResponse(response, certificate, issuer, { at: now, nonce: request.nonce });
    };
    assert.equal(ocsp().status, 'good');
    const revokedAt = new Date(T0.getTime() + 3_600_000);
    revokeCertificate(ca, certificate.serialHex, revokedAt, 'keyCompromise');
    now = new Date(revokedAt.getTime() + 60_000);
    const afterCrl = parseCrl(demoCrl(ca, alg));
    assert.ok(verifyCrl(afterCrl, issuer));
    assert.equal(crlStatus(afterCrl, certificate.serialHex, at).status, 'good');
    const status = crlStatus(afterCrl, certificate.serialHex, now);
    assert.equal(status.status, 'revoked');
    assert.equal(status.reason, 'keyCompromise');
    const answer = ocsp();
    assert.equal(answer.status, 'revoked');
    assert.equal(answer.revokedAt?.toISOString(), revokedAt.toISOString());
  });
}

test('a signature with a demo key verifies completely with the demo trust', async () => {
  const ca = demo();
  now = T0;
  const issued = issueCertificate(ca, {
    role: 'individual',
    iin: '900202400456',
    purpose: 'sign',
    alg: 'gost2015',
    names: { surname: 'Демо', firstName: 'Пользователь' },
    password: 'p',
  });
  const store = openPkcs12(issued.p12, 'p');
  const content = new TextEncoder().encode('bid');
  const tsa = demoTimeStampAuthority(ca);
  const signed = signCms({
    content,
    detached: true,
    signingTime: now,
    signers: [store],
    timestamp: (s) => tsa.stampSignature(s),
  });
  const report = await verifyCms(signed, {
    content,
    trust: demoTrustStore(ca, ENV),
    at: now,
    revocation: 'none',
  });
  assert.equal(report.valid, true, JSON.stringify(report.signers[0]?.errors));
  assert.equal(report.signers[0]?.timestamp?.valid, true);
  assert.equal(verifyTimeStampToken(tsa.issue({ data: content }), { data: content }).valid, true);
});

/** Serves the certificates' CRL and OCSP URLs from the demo CA instead of a network. */
function demoFetcher(ca: DemoCa): HttpFetcher {
  return async (url, request) => {
    const reply = demoPkiReply(ca, {
      method: request.method,
      path: new URL(url).pathname,
      body: request.body,
    });
    if (reply === undefined) throw new PkiError('http.not_found', url);
    return reply.body;
  };
}

for (const [alg, sources] of [
  ['rsa', ['ocsp']],
  ['gost2015', ['crl']],
] as const) {
  test(`verifyCms with the revocation checker over ${sources[0]}: good, then revoked`, async () => {
    const ca = demo();
    now = T0;
    const issued = issueCertificate(ca, {
      role: 'individual',
      iin: '910303500789',
      purpose: 'sign',
      alg,
      names: { surname: 'Отозванов', firstName: 'Тест' },
      password: 'p',
    });
    const store = openPkcs12(issued.p12, 'p');
    const content = new TextEncoder().encode('offer');
    const signed = signCms({ content, detached: false, signingTime: now, signers: [store] });
    const checker = new RevocationChecker({ fetcher: demoFetcher(ca), now: clock });
    const revocation = {
      check: (cert: Certificate, issuer: Certificate, at: Date) =>
        checker.check(cert, issuer, at, { sources: [...sources] }),
    };
    const trust = demoTrustStore(ca, ENV);
    const good = await verifyCms(signed, { trust, at: now, revocation });
    assert.equal(good.valid, true, JSON.stringify(good.signers[0]?.errors));
    assert.deepEqual(good.signers[0]?.revocation.status, 'good');
    assert.equal(good.signers[0]?.revocation.source, sources[0]);
    revokeCertificate(ca, store.certificate.serialHex, new Date(T0.getTime() + 1000), 'superseded');
    now = new Date(T0.getTime() + 120_000);
    const fresh = new RevocationChecker({ fetcher: demoFetcher(ca), now: clock });
    const revoked = await verifyCms(signed, {
      trust,
      at: now,
      revocation: {
        check: (cert, issuer, at) => fresh.check(cert, issuer, at, { sources: [...sources] }),
      },
    });
    assert.equal(revoked.valid, false);
    assert.equal(revoked.signers[0]?.revocation.status, 'revoked');
    assert.ok(revoked.signers[0]?.errors.some((e) => e.code === 'cert.revoked'));
  });
}

test('demoPkiReply serves CA certificates and time-stamps, and nothing else', () => {
  const ca = demo();
  const cert = demoPkiReply(ca, { method: 'GET', path: '/pki/cert/demo-gost2015-ca.cer' });
  assert.deepEqual(cert?.body, ca.cas.gost2015.issuing.der);
  assert.equal(demoPkiReply(ca, { method: 'GET', path: '/api/other' }), undefined);
  const tsr = demoPkiReply(ca, { method: 'POST', path: '/pki/tsa', body: Uint8Array.of(0) });
  assert.equal(tsr?.contentType, 'application/timestamp-reply');
});

test('the folder persists: loading it gives the same CAs and revocations', () => {
  const ca = demo();
  const again = loadDemoCa({ dir, clock, env: ENV });
  assert.equal(
    again.cas.gost2015.issuing.fingerprintSha256,
    ca.cas.gost2015.issuing.fingerprintSha256,
  );
  assert.equal(again.baseUrl, 'http://127.0.0.1:9999');
  const rsaRevoked = revokedCertificates(ca).filter((r) => r.algorithm === 'rsa');
  assert.ok(rsaRevoked.length >= 1);
  const entries = parseCrl(demoCrl(again, 'rsa')).entries;
  assert.deepEqual([...entries.keys()].sort(), rsaRevoked.map((r) => r.serial).sort());
});

test('the OCSP responder answers garbage with malformedRequest, unissued serials unknown', () => {
  const ca = demo();
  assert.equal(
    parseOcspResponse(demoOcspRespond(ca, Uint8Array.of(1, 2))).responseStatus,
    'malformedRequest',
  );
  const request = createOcspRequest({ cert: ca.cas.rsa.root, issuer: ca.cas.rsa.issuing });
  const response = parseOcspResponse(demoOcspRespond(ca, request.der));
  assert.equal(response.responses[0]?.status, 'unknown');
});

test('bad requests, unknown serials and production are refused', () => {
  const ca = demo();
  const base = {
    role: 'individual' as const,
    iin: '900202400456',
    purpose: 'auth' as const,
    alg: 'rsa' as const,
    names: { surname: 'А', firstName: 'Б' },
    password: 'p',
  };
  assert.throws(() => issueCertificate(ca, { ...base, iin: '123' }), {
    code: 'demo.invalid_request',
  });
  assert.throws(() => issueCertificate(ca, { ...base, role: 'hr' }), {
    code: 'demo.invalid_request',
  });
  assert.throws(() => revokeCertificate(ca, 'abcdef', T0), { code: 'demo.unknown_serial' });
  assert.throws(
    () => loadDemoCa({ dir, clock, env: { NODE_ENV: 'production' } }),
    (e: unknown) => e instanceof PkiError && e.code === 'trust.demo_in_production',
  );
  assert.throws(() => demoTrustStore(ca, { NODE_ENV: 'production' }), {
    code: 'trust.demo_in_production',
  });
});
