// The platform PKI context: settings from the environment, trust from several sources in one
// store, in-process demo revocation, the TSA and the platform's receipt signature.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/index.js';
import { fixedClock } from '../../src/domain/time.js';
import { signCms } from '../../src/pki/cms-sign.js';
import { issueCertificate, revokeCertificate } from '../../src/pki/demo-ca.js';
import type { DemoCa } from '../../src/pki/demo-ca.js';
import { PkiError } from '../../src/pki/errors.js';
import { privateKeyToPkcs8 } from '../../src/pki/keys.js';
import { revocationCacheStats } from '../../src/pki/revocation.js';
import type { HttpFetcher } from '../../src/pki/revocation.js';
import { loadTrustStore } from '../../src/pki/trust.js';
import { verifyFiles } from '../../src/pki/verify.js';
import { createPkcs12 } from '../../src/pki/pkcs12.js';
import { verifyTimeStampToken } from '../../src/pki/tsp.js';
import {
  createPlatformPki,
  demoCaDir,
  pkiSettingsFromEnv,
  revocationCheck,
} from '../../src/services/pki.js';
import type { PkiSettings } from '../../src/services/pki.js';

const V = fileURLToPath(new URL('../../../shared/kz-eds-vectors/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'upp-services-pki-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Nothing listens here: a demo check that needed HTTP would fail. */
const CLOSED_URL = 'http://127.0.0.1:9';
const base = { nodeEnv: 'development' as const, dataDir: work, publicBaseUrl: CLOSED_URL };
const clock = fixedClock('2026-03-02T04:00:00.000Z');

function configError(variable: string) {
  return (error: unknown) => error instanceof ConfigError && error.variable === variable;
}

test('settings: defaults per NODE_ENV and every refusal names its variable', () => {
  const development = pkiSettingsFromEnv({}, base);
  assert.deepEqual(development.trust, ['production', 'demo']);
  assert.deepEqual(development.revocation, ['ocsp', 'crl']);
  assert.deepEqual([development.ocspUrls, development.crlUrls], [[], []]);
  const production = pkiSettingsFromEnv(
    { UPP_PKI_PRODUCTION_TRUST_DIR: '/etc/nca', UPP_TSA_P12: '/k.p12', UPP_TSA_PASSWORD: 'p' },
    { ...base, nodeEnv: 'production' },
  );
  assert.deepEqual(production.trust, ['production']);
  const custom = pkiSettingsFromEnv(
    {
      UPP_PKI_TRUST: 'test, /srv/ca ,demo',
      UPP_PKI_TEST_TRUST_DIR: '/srv/nca-test',
      UPP_PKI_REVOCATION: 'crl',
      UPP_PKI_OCSP_URLS: 'http://ocsp.pki.gov.kz/',
      UPP_PKI_CRL_URLS: 'http://crl.pki.gov.kz/nca_rsa.crl,https://crl.pki.gov.kz/nca_gost.crl',
    },
    base,
  );
  assert.deepEqual(custom.trust, ['test', '/srv/ca', 'demo']);
  assert.deepEqual(custom.revocation, ['crl']);
  assert.equal(custom.crlUrls.length, 2);
  assert.equal(pkiSettingsFromEnv({ UPP_PKI_REVOCATION: 'none' }, base).revocation, 'none');

  const refusals: [Record<string, string>, string, 'development' | 'production'][] = [
    [
      { UPP_PKI_TRUST: 'demo', UPP_TSA_P12: '/k', UPP_TSA_PASSWORD: 'p' },
      'UPP_PKI_TRUST',
      'production',
    ],
    [{ UPP_PKI_TRUST: ',' }, 'UPP_PKI_TRUST', 'development'],
    [{ UPP_PKI_TRUST: 'test' }, 'UPP_PKI_TEST_TRUST_DIR', 'development'],
    [{ UPP_TSA_P12: '/k.p12' }, 'UPP_TSA_PASSWORD', 'development'],
    [{ UPP_PKI_REVOCATION: 'ocsp,ocsp' }, 'UPP_PKI_REVOCATION', 'development'],
    [{ UPP_PKI_REVOCATION: 'crl,dns' }, 'UPP_PKI_REVOCATION', 'development'],
    [{ UPP_PKI_OCSP_URLS: 'ftp://ocsp' }, 'UPP_PKI_OCSP_URLS', 'development'],
    [{ UPP_PKI_CRL_URLS: 'http://ok/a.crl,not a url' }, 'UPP_PKI_CRL_URLS', 'development'],
  ];
  for (const [env, variable, nodeEnv] of refusals) {
    assert.throws(() => pkiSettingsFromEnv(env, { ...base, nodeEnv }), configError(variable));
  }
});

function settings(extra: Partial<PkiSettings>): PkiSettings {
  return { ...pkiSettingsFromEnv({}, base), ...extra };
}

test('several trust sources make one store; the demo CA is created once, then loaded', async () => {
  const dataDir = join(work, 'combined');
  const pki = await createPlatformPki(
    settings({ dataDir, trust: [join(V, 'ca'), 'demo', 'production'] }),
    clock,
  );
  const ca = pki.demoCa as DemoCa;
  assert.equal(ca.dir, demoCaDir(dataDir));
  const roots = pki.trust.roots.map((c) => c.subject.commonName);
  assert.ok(roots.includes('НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022'));
  assert.ok(roots.includes(ca.cas.gost2015.root.subject.commonName));
  assert.equal(pki.trust.roots.length, 3 + 2);
  assert.ok(
    pki.trust.intermediates.some(
      (c) => c.fingerprintSha256 === ca.cas.rsa.issuing.fingerprintSha256,
    ),
  );
  const again = await createPlatformPki(settings({ dataDir, trust: ['demo'] }), clock);
  assert.equal(again.demoCa?.cas.rsa.root.fingerprintSha256, ca.cas.rsa.root.fingerprintSha256);
  const shown = JSON.stringify(pki) + inspect(pki);
  assert.doesNotMatch(shown, /privateKey|BEGIN|"d"/);
  assert.match(shown, /UPP TSA \(DEMO\)/);

  const report = await (
    await createPlatformPki(
      settings({ dataDir, trust: [join(V, 'ca')], revocation: 'none' }),
      clock,
    )
  ).verifyCms(new Uint8Array(readFileSync(join(V, 'cms/cms_attached_2signers_test123.p7s'))), {
    at: new Date('2022-09-28T00:00:00Z'),
  });
  assert.equal(report.signers[0]?.chain.trusted, true);
  assert.deepEqual(report.signers[0]?.errors, []);
  assert.deepEqual(report.signers[0]?.revocation, {
    status: 'unknown',
    source: 'none',
    revokedAt: null,
  });
  assert.equal(report.valid, false);
  assert.throws(
    () => pkiSettingsFromEnv({ UPP_PKI_TRUST: 'demo' }, { ...base, nodeEnv: 'production' }),
    configError('UPP_PKI_TRUST'),
  );
  await assert.rejects(
    createPlatformPki(
      settings({ dataDir, trust: ['demo'], nodeEnv: 'production', tsaP12: '/k', tsaPassword: 'p' }),
      clock,
    ),
    (error: unknown) => error instanceof PkiError && error.code === 'trust.demo_in_production',
  );
  await assert.rejects(
    createPlatformPki(settings({ dataDir, trust: [join(work, 'absent')] }), clock),
    configError('UPP_PKI_TRUST'),
  );
  const production = pkiSettingsFromEnv({}, { ...base, nodeEnv: 'production' });
  await assert.rejects(createPlatformPki(production, clock), configError('UPP_TSA_P12'));
  await assert.rejects(
    createPlatformPki({ ...production, tsaP12: '/k.p12', tsaPassword: 'p' }, clock),
    configError('UPP_PKI_PRODUCTION_TRUST_DIR'),
  );
});

test('demo certificates: revocation answered in-process, key purpose enforced', async () => {
  const pki = await createPlatformPki(
    settings({ dataDir: join(work, 'demo'), trust: ['demo'] }),
    clock,
  );
  const ca = pki.demoCa as DemoCa;
  const content = new TextEncoder().encode('заявка на участие');
  for (const alg of ['rsa', 'gost2015'] as const) {
    const holder = issueCertificate(ca, {
      role: 'individual',
      iin: '900101300017',
      purpose: 'sign',
      alg,
      names: { surname: 'Абаев', firstName: 'Ерлан' },
      password: 'p',
    });
    const cms = signCms({
      content,
      detached: true,
      signingTime: clock.now(),
      signers: [{ privateKey: holder.privateKey, certificate: holder.certificate }],
    });
    const good = await pki.verifyCms(cms, { content, at: clock.now(), purpose: 'sign' });
    assert.equal(good.valid, true, JSON.stringify(good.signers[0]?.errors));
    assert.deepEqual(good.signers[0]?.revocation, {
      status: 'good',
      source: 'ocsp',
      revokedAt: null,
    });
    const wrongPurpose = await pki.verifyCms(cms, { content, at: clock.now(), purpose: 'auth' });
    assert.equal(wrongPurpose.valid, false);
    assert.ok(wrongPurpose.signers[0]?.errors.some((e) => e.code === 'cert.wrong_purpose'));
    const tampered = await pki.verifyCms(cms, {
      content: new TextEncoder().encode('заявка на участие!'),
      at: clock.now(),
    });
    assert.equal(tampered.valid, false);

    const revokedAt = new Date(clock.now().getTime() - 3_600_000);
    revokeCertificate(ca, holder.certificate.serialHex, revokedAt);
    const revoked = await pki.verifyCms(cms, { content, at: clock.now() });
    assert.equal(revoked.valid, false);
    assert.deepEqual(revoked.signers[0]?.revocation, {
      status: 'revoked',
      source: 'ocsp',
      revokedAt: revokedAt.toISOString(),
    });
    const before = await pki.verifyCms(cms, { content, at: new Date(revokedAt.getTime() - 1000) });
    assert.equal(before.signers[0]?.revocation.status, 'good');
  }
});

test('kept demo answers: a revoked, an expired or an altered signature is refused', async () => {
  const pki = await createPlatformPki(
    settings({ dataDir: join(work, 'demo-kept'), trust: ['demo'] }),
    clock,
  );
  const ca = pki.demoCa as DemoCa;
  const content = new TextEncoder().encode('ценовое предложение');
  const holder = issueCertificate(ca, {
    role: 'individual',
    iin: '900101300017',
    purpose: 'sign',
    alg: 'gost2015',
    validDays: 1,
    names: { surname: 'Абаев', firstName: 'Ерлан' },
    password: 'p',
  });
  const cms = signCms({
    content,
    detached: true,
    signingTime: clock.now(),
    signers: [{ privateKey: holder.privateKey, certificate: holder.certificate }],
  });
  const errors = async (at: Date, signed = content) => {
    const report = await pki.verifyCms(cms, { content: signed, at, purpose: 'sign' });
    return report.valid ? [] : (report.signers[0]?.errors.map((e) => e.code) ?? ['invalid']);
  };
  const fetches = revocationCacheStats.ocspFetches;
  assert.deepEqual(await errors(clock.now()), []);
  const hits = revocationCacheStats.ocspHits;
  assert.deepEqual(await errors(clock.now()), []);
  assert.deepEqual(
    [revocationCacheStats.ocspFetches - fetches, revocationCacheStats.ocspHits - hits],
    [1, 1],
    'the second check used the kept answer',
  );

  const altered = new TextEncoder().encode('ценовое предложение!');
  assert.ok((await errors(clock.now(), altered)).includes('digest.mismatch'));
  const expiredAt = new Date(holder.certificate.notAfter.getTime() + 1000);
  assert.ok((await errors(expiredAt)).includes('cert.expired'));
  assert.deepEqual(await errors(clock.now()), []);

  revokeCertificate(ca, holder.certificate.serialHex, new Date(clock.now().getTime() - 1000));
  assert.ok((await errors(clock.now())).includes('cert.revoked'));
});

test('time-stamps and the platform signature verify with the platform trust', async () => {
  const pki = await createPlatformPki(
    settings({ dataDir: join(work, 'tsa'), trust: ['demo'] }),
    clock,
  );
  const receipt = new TextEncoder().encode('{"receipt":"bid 7","at":"2026-03-02T04:00:00Z"}');
  const token = verifyTimeStampToken(pki.timestamp(receipt), { data: receipt });
  assert.equal(token.valid, true);
  assert.equal(token.time.toISOString(), clock.now().toISOString());
  assert.equal(
    verifyTimeStampToken(pki.timestamp(receipt), { data: new Uint8Array(3) }).valid,
    false,
  );

  const signature = pki.signAsPlatform(receipt);
  const report = await pki.verifyCms(signature, { content: receipt, at: clock.now() });
  assert.equal(report.valid, true, JSON.stringify(report.signers[0]?.errors));
  assert.equal(report.signers[0]?.certificate?.subject.commonName, 'UPP TSA (DEMO)');
  // The demo responder does not know the TSA certificate: the CRL answers instead.
  assert.deepEqual(report.signers[0]?.revocation, {
    status: 'good',
    source: 'crl',
    revokedAt: null,
  });
});

test('an operator TSA key store replaces the demo TSA; a wrong one stops the start', async () => {
  const demo = await createPlatformPki(
    settings({ dataDir: join(work, 'op'), trust: ['demo'] }),
    clock,
  );
  const ca = demo.demoCa as DemoCa;
  const p12 = join(work, 'tsa.p12');
  writeFileSync(
    p12,
    createPkcs12(
      {
        privateKeyPkcs8: privateKeyToPkcs8(ca.tsa.privateKey),
        certificate: ca.tsa.certificate.der,
        chain: [ca.cas.rsa.issuing.der],
      },
      'tsa-secret',
    ),
  );
  const folder = join(work, 'op', 'pki', 'demo');
  const operator = await createPlatformPki(
    settings({
      dataDir: join(work, 'elsewhere'),
      trust: [folder],
      tsaP12: p12,
      tsaPassword: 'tsa-secret',
    }),
    clock,
  );
  assert.equal(operator.demoCa, undefined);
  const data = new Uint8Array([1, 2, 3]);
  const token = verifyTimeStampToken(operator.timestamp(data), { data });
  assert.equal(token.tsaCertificate?.fingerprintSha256, ca.tsa.certificate.fingerprintSha256);
  const signature = await operator.verifyCms(operator.signAsPlatform(data), {
    content: data,
    at: clock.now(),
  });
  assert.equal(signature.signers[0]?.signatureValid, true);
  assert.equal(signature.signers[0]?.chain.trusted, true);

  await assert.rejects(
    createPlatformPki(settings({ trust: [folder], tsaP12: p12, tsaPassword: 'wrong' }), clock),
    configError('UPP_TSA_PASSWORD'),
  );
  await assert.rejects(
    createPlatformPki(
      settings({
        trust: [folder],
        tsaP12: join(V, 'p12/ncanode/individual_valid_sign_2004_rsa.p12'),
        tsaPassword: 'Qwerty12',
      }),
      clock,
    ),
    configError('UPP_TSA_P12'),
  );
});

test('files checked in one batch share the fetched CRL', async () => {
  const fetched: string[] = [];
  const crl = new Uint8Array(readFileSync(join(V, 'crl/nca_rsa_test.crl')));
  const network: HttpFetcher = (url) => {
    fetched.push(url);
    if (url === 'http://test.pki.gov.kz/crl/nca_rsa_test.crl') return Promise.resolve(crl);
    return Promise.reject(new PkiError('revocation.http_error', `unreachable ${url}`));
  };
  const at = new Date('2022-09-02T17:00:00Z');
  const revocation = revocationCheck(
    { revocation: ['ocsp', 'crl'], ocspUrls: [], crlUrls: [] },
    { now: () => at },
    { network },
  );
  const reports = await verifyFiles(
    [
      join(V, 'certs/individual_valid_sign_2004_rsa.cer'),
      join(V, 'certs/individual_valid_sign_2004_rsa_auth.cer'),
    ],
    { trust: loadTrustStore(join(V, 'ca'), 'custom'), at, revocation },
  );
  assert.deepEqual(
    reports.map((r) => [r.valid, r.signers[0]?.revocation.status, r.signers[0]?.revocation.source]),
    [
      [true, 'good', 'crl'],
      [true, 'good', 'crl'],
    ],
  );
  const crlFetches = fetched.filter((url) => url.endsWith('/nca_rsa_test.crl'));
  assert.equal(crlFetches.length, 1, fetched.join(' '));
});
