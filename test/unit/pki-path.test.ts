// Path validation: the NCA RK test chains at fixed moments, configured trust stores, and RFC 5280
// constraint cases built with the test issuer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OctetString } from '@peculiar/asn1-schema';
import { Extension, KeyUsageFlags } from '@peculiar/asn1-x509';
import { parseCertificate, type Certificate } from '../../src/pki/certificate.js';
import { PkiError } from '../../src/pki/errors.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import {
  checkLink,
  clearPathCache,
  pathCacheStats,
  validatePath,
  validatePathOffline,
} from '../../src/pki/path.js';
import {
  ConfirmedForeignCas,
  createTrustStore,
  trustStoreFromConfig,
  type TrustStore,
} from '../../src/pki/trust.js';
import { issue, newKey, smallPki } from './pki-test-issuer.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const caFolder = fileURLToPath(new URL('ca/', vectors));
const cert = (path: string) => parseCertificate(readFileSync(new URL(path, vectors)));
const AT_2022 = new Date('2022-09-28T00:00:00Z');
const TODAY = new Date('2026-12-03T00:00:00Z');
const testTrust = () => trustStoreFromConfig('test', { UPP_PKI_TEST_TRUST_DIR: caFolder });
const codes = (errors: { code: string }[]) => errors.map((error) => error.code);

test('test trust loads the three NCA RK test roots and their issuing CAs, not prod ones', () => {
  const trust = testTrust();
  assert.equal(trust.kind, 'test');
  assert.equal(trust.roots.length, 3);
  assert.equal(trust.intermediates.length, 3);
  assert.ok(trust.roots.every((root) => root.selfIssued && root.isCa));
  assert.ok(trust.roots.every((root) => !root.subject.text.includes('МЕМЛЕКЕТТІК')));
});

test('the RSA signing certificate chains to the RSA test root in September 2022', async () => {
  const result = await validatePath(cert('certs/individual_valid_sign_2004_rsa.cer'), {
    trust: testTrust(),
    at: AT_2022,
  });
  assert.deepEqual(result.errors, []);
  assert.equal(result.trusted, true);
  assert.equal(result.chain.length, 3);
  assert.equal(result.anchor, 'НЕГІЗГІ КО TEST (RSA)');
  assert.equal(result.chain[1]?.subject.commonName, 'ҰКО 3.0 (RSA TEST)');
});

test('GOST chains verify: the 2004 first head and the 2015-512 key store certificate', async () => {
  const trust = testTrust();
  const ceo = await validatePath(cert('certs/ceo_valid_sign_2004_gost.cer'), {
    trust,
    at: AT_2022,
  });
  assert.deepEqual(ceo.errors, []);
  assert.equal(ceo.anchor, 'НЕГІЗГІ КО TEST (GOST)');
  assert.equal(ceo.chain.length, 3);
  const store = openPkcs12(
    readFileSync(new URL('p12/ncanode/individual_valid_2015_gost2015.p12', vectors)),
    'Aa123456',
  );
  const gost2015 = await validatePath(store.certificate, { trust, at: AT_2022, purpose: 'sign' });
  assert.deepEqual(gost2015.errors, []);
  assert.equal(store.certificate.profile.iin, '123456789012');
  assert.equal(store.certificate.profile.algorithm, 'gost2015-512');
  assert.equal(gost2015.anchor, 'НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022');
  assert.equal(
    gost2015.chain[1]?.subject.commonName,
    'ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022',
  );
  const today = await validatePath(store.certificate, { trust, at: TODAY });
  assert.deepEqual(codes(today.errors), ['cert.expired']);
});

test('the RSA issuing CA chain verifies; as of today everything has expired', async () => {
  const trust = testTrust();
  const ca = await validatePath(cert('ca/nca_rsa_test.crt'), { trust, at: AT_2022 });
  assert.equal(ca.trusted, true);
  const leaf = cert('certs/individual_valid_sign_2004_rsa_auth.cer');
  const today = await validatePath(leaf, { trust, at: TODAY });
  assert.equal(today.trusted, false);
  assert.deepEqual(codes(today.errors), ['cert.expired', 'cert.expired']);
  const early = await validatePath(leaf, { trust, at: new Date('2021-06-01T00:00:00Z') });
  assert.deepEqual(codes(early.errors), ['cert.not_yet_valid']);
});

test('key purpose is enforced when asked', async () => {
  const trust = testTrust();
  const auth = cert('certs/individual_valid_sign_2004_rsa_auth.cer');
  const asSign = await validatePath(auth, { trust, at: AT_2022, purpose: 'sign' });
  assert.deepEqual(codes(asSign.errors), ['cert.wrong_purpose']);
  const asAuth = await validatePath(auth, { trust, at: AT_2022, purpose: 'auth' });
  assert.equal(asAuth.trusted, true);
});

test('without the test PKI configured the test certificates are untrusted', async () => {
  const leaf = cert('certs/individual_valid_sign_2004_rsa.cer');
  const production = trustStoreFromConfig('production', {});
  assert.equal(production.roots.length, 0);
  const result = await validatePath(leaf, { trust: production, at: AT_2022 });
  assert.equal(result.trusted, false);
  assert.deepEqual(codes(result.errors), ['cert.untrusted']);
  const oldProduction = trustStoreFromConfig(fileURLToPath(new URL('ca/prod-2015-2018/', vectors)));
  const againstProd = await validatePath(leaf, { trust: oldProduction, at: AT_2022 });
  assert.deepEqual(codes(againstProd.errors), ['cert.untrusted']);
});

test('the production CAs of 2015-2018 (RSA and GOST 2004) chain to their roots', async () => {
  const trust = trustStoreFromConfig(fileURLToPath(new URL('ca/prod-2015-2018/', vectors)), {});
  assert.equal(trust.roots.length, 2);
  assert.equal(trust.intermediates.length, 2);
  for (const issuing of trust.intermediates) {
    const result = await validatePath(issuing, { trust, at: new Date('2020-01-01T00:00:00Z') });
    assert.deepEqual(result.errors, [], issuing.subject.text);
    assert.equal(result.chain.length, 2);
  }
});

test('every root in the vectors is self-signed: its own key verifies its signature', () => {
  const roots = [
    'ca/root_test_gost_2022.cer',
    'ca/root_gost_test.crt',
    'ca/root_rsa_test.crt',
    'ca/prod-2015-2018/root_rsa.crt',
    'ca/prod-2015-2018/root_gost.crt',
  ];
  for (const path of roots) {
    const root = cert(path);
    assert.equal(root.selfIssued, true, path);
    assert.equal(checkLink(root, root).ok, true, path);
    assert.equal(checkLink(root, cert('ca/nca_rsa_test.crt')).ok, false, path);
  }
  const gostRoot = cert('ca/root_test_gost_2022.cer');
  assert.ok(gostRoot.notBefore <= AT_2022 && AT_2022 <= gostRoot.notAfter);
});

test('configuration errors and demo trust in production are refused', () => {
  assert.throws(
    () => trustStoreFromConfig('test', {}),
    (e: unknown) => e instanceof PkiError && e.code === 'trust.unconfigured',
  );
  assert.throws(
    () =>
      trustStoreFromConfig('demo', { NODE_ENV: 'production', UPP_PKI_DEMO_TRUST_DIR: caFolder }),
    (e: unknown) => e instanceof PkiError && e.code === 'trust.demo_in_production',
  );
  assert.throws(
    () => createTrustStore({ kind: 'demo' }, { NODE_ENV: 'production' }),
    (e: unknown) => e instanceof PkiError && e.code === 'trust.demo_in_production',
  );
  assert.equal(trustStoreFromConfig('demo', { UPP_PKI_DEMO_TRUST_DIR: caFolder }).kind, 'demo');
  const fromEnv = trustStoreFromConfig(undefined, {
    UPP_PKI_TRUST: 'test',
    UPP_PKI_TEST_TRUST_DIR: caFolder,
  });
  assert.equal(fromEnv.kind, 'test');
  assert.equal(trustStoreFromConfig(undefined, {}).kind, 'production');
  assert.throws(
    () => trustStoreFromConfig('/nonexistent/trust', {}),
    (e: unknown) => e instanceof PkiError && e.code === 'trust.unavailable',
  );
});

test('a tampered certificate signature breaks the chain', async () => {
  const der = cert('certs/individual_valid_sign_2004_rsa.cer').der;
  const copy = Uint8Array.from(der);
  copy[copy.length - 5] = (copy[copy.length - 5] as number) ^ 0xff;
  const result = await validatePath(parseCertificate(copy), { trust: testTrust(), at: AT_2022 });
  assert.equal(result.trusted, false);
  assert.ok(codes(result.errors).includes('chain.signature_invalid'));
});

function storeOf(root: Certificate, ...intermediates: Certificate[]): TrustStore {
  return createTrustStore({ roots: [root], intermediates });
}

const AT = new Date('2024-01-01T00:00:00Z');

test('a generated three-level PKI validates, with intermediates passed by the caller', async () => {
  const { root, ca, leaf } = smallPki();
  const viaStore = await validatePath(leaf, { trust: storeOf(root, ca), at: AT });
  assert.equal(viaStore.trusted, true);
  const viaCaller = await validatePath(leaf, { trust: storeOf(root), intermediates: [ca], at: AT });
  assert.equal(viaCaller.trusted, true);
  const missing = await validatePath(leaf, { trust: storeOf(root), at: AT });
  assert.deepEqual(codes(missing.errors), ['cert.untrusted']);
});

test('an issuer that is not a CA, or may not sign certificates, is refused', async () => {
  const rootKey = newKey();
  const root = issue({ subject: 'Root', key: rootKey, ca: true });
  const midKey = newKey();
  const notCa = issue({ subject: 'Mid', key: midKey, issuer: { cert: root, key: rootKey } });
  const leaf = issue({ subject: 'Leaf', key: newKey(), issuer: { cert: notCa, key: midKey } });
  const result = await validatePath(leaf, { trust: storeOf(root, notCa), at: AT });
  assert.ok(codes(result.errors).includes('chain.not_ca'));
  assert.ok(codes(result.errors).includes('chain.key_usage'));
  const noCertSign = issue({
    subject: 'Mid',
    key: midKey,
    ca: true,
    keyUsage: KeyUsageFlags.cRLSign,
    issuer: { cert: root, key: rootKey },
  });
  const second = await validatePath(leaf, { trust: storeOf(root, noCertSign), at: AT });
  assert.deepEqual(codes(second.errors), ['chain.key_usage']);
});

test('a v1 root (no extensions) may be a trust anchor but not an intermediate', async () => {
  const rootKey = newKey();
  const root = issue({ subject: 'Old Root', key: rootKey, version1: true });
  assert.equal(root.asn.tbsCertificate.version, 0);
  assert.equal(root.isCa, false);
  const midKey = newKey();
  const mid = issue({
    subject: 'Mid',
    key: midKey,
    ca: true,
    issuer: { cert: root, key: rootKey },
  });
  const leaf = issue({ subject: 'Leaf', key: newKey(), issuer: { cert: mid, key: midKey } });
  assert.equal((await validatePath(leaf, { trust: storeOf(root, mid), at: AT })).trusted, true);
  const v1Mid = issue({
    subject: 'Mid',
    key: midKey,
    issuer: { cert: root, key: rootKey },
    version1: true,
  });
  const other = await validatePath(leaf, { trust: storeOf(root, v1Mid), at: AT });
  assert.deepEqual(codes(other.errors), ['chain.not_ca']);
});

test('pathLenConstraint limits the CAs below a CA', async () => {
  const rootKey = newKey();
  const root = issue({ subject: 'Root', key: rootKey, ca: true, pathLen: 0 });
  const midKey = newKey();
  const mid = issue({
    subject: 'Mid',
    key: midKey,
    ca: true,
    issuer: { cert: root, key: rootKey },
  });
  const leaf = issue({ subject: 'Leaf', key: newKey(), issuer: { cert: mid, key: midKey } });
  const result = await validatePath(leaf, { trust: storeOf(root, mid), at: AT });
  assert.deepEqual(codes(result.errors), ['chain.path_length']);
  const direct = issue({ subject: 'Leaf2', key: newKey(), issuer: { cert: root, key: rootKey } });
  assert.equal((await validatePath(direct, { trust: storeOf(root), at: AT })).trusted, true);
});

test('an unknown critical extension makes the certificate unacceptable', async () => {
  const { root, ca, caKey } = smallPki();
  const odd = new Extension({
    extnID: '1.2.3.4.5',
    critical: true,
    extnValue: new OctetString(Uint8Array.of(5, 0)),
  });
  const leaf = issue({
    subject: 'Leaf',
    key: newKey(),
    issuer: { cert: ca, key: caKey },
    extraExtensions: [odd],
  });
  const result = await validatePath(leaf, { trust: storeOf(root, ca), at: AT });
  assert.deepEqual(codes(result.errors), ['cert.unsupported_critical_extension']);
});

test('a renewed CA with the same name but another key is skipped for the right one', async () => {
  const { root, rootKey, ca, leaf } = smallPki();
  const impostor = issue({
    subject: 'Test CA',
    key: newKey(),
    ca: true,
    issuer: { cert: root, key: rootKey },
  });
  const trust = createTrustStore({ roots: [root], intermediates: [impostor, ca] });
  const result = await validatePath(leaf, { trust, at: AT });
  assert.equal(result.trusted, true);
  assert.equal(result.chain[1]?.fingerprintSha256, ca.fingerprintSha256);
});

test('foreign chains go to the TTP: confirmed CAs pass, others stay untrusted', async () => {
  const foreign = smallPki();
  const nca = testTrust();
  const options = { trust: nca, intermediates: [foreign.ca, foreign.root], at: AT };
  const confirmedTtp = new ConfirmedForeignCas([foreign.root.fingerprintSha256.toUpperCase()]);
  const confirmed = await validatePath(foreign.leaf, { ...options, ttp: confirmedTtp });
  assert.equal(confirmed.trusted, true);
  assert.equal(confirmed.ttp, 'confirmed');
  assert.equal(confirmed.anchor, 'Test Root');
  const fromEnv = ConfirmedForeignCas.fromEnv({ UPP_PKI_TTP_CONFIRMED_CAS: 'ab,cd' });
  const refused = await validatePath(foreign.leaf, { ...options, ttp: fromEnv });
  assert.equal(refused.trusted, false);
  assert.equal(refused.ttp, 'not_confirmed');
  assert.deepEqual(codes(refused.errors), ['cert.untrusted']);
  const noTtp = await validatePath(foreign.leaf, options);
  assert.equal(noTtp.ttp, undefined);
  const expired = await validatePath(foreign.leaf, {
    ...options,
    at: new Date('2031-01-01T00:00:00Z'),
    ttp: confirmedTtp,
  });
  assert.equal(expired.trusted, false);
  assert.equal(expired.ttp, undefined);
});

test('chains and link signatures are cached across calls', () => {
  clearPathCache();
  const trust = testTrust();
  const leaf = cert('certs/individual_valid_sign_2004_rsa.cer');
  const before = { ...pathCacheStats };
  for (let i = 0; i < 20; i++) validatePathOffline(leaf, { trust, at: AT_2022 });
  assert.equal(pathCacheStats.chainBuilds - before.chainBuilds, 1);
  assert.equal(pathCacheStats.chainHits - before.chainHits, 19);
  assert.equal(pathCacheStats.linkChecks - before.linkChecks, 2);
  const later = validatePathOffline(leaf, { trust, at: TODAY });
  assert.equal(later.trusted, false);
});
