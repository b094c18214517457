// `upp verify`, `upp sign` and `upp pki` run in-process: every NCA RK vector file with the
// results its README lists (at fixed moments, and expired today), signing with the vector key
// stores, and the demo PKI from issuance to revocation seen through OCSP on a real local port.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pkiCommand, signCommand, verifyCommand } from '../../src/cli/pki.js';
import { ConfigError } from '../../src/config/index.js';
import { systemClock } from '../../src/domain/time.js';
import { handleError, problemSchema } from '../../src/http/problem.js';
import { pkiRoutes } from '../../src/http/routes/pki.js';
import { parseCms } from '../../src/pki/cms.js';
import { createPlatformPki, demoCaDir, pkiSettingsFromEnv } from '../../src/services/pki.js';

const V = fileURLToPath(new URL('../../../shared/kz-eds-vectors/', import.meta.url));
const vector = (path: string) => join(V, path);
const CA = vector('ca');
const OFFLINE = [
  ...readdirSync(vector('crl')).flatMap((name) => ['--crl', vector(`crl/${name}`)]),
  ...readdirSync(vector('ocsp')).flatMap((name) => ['--ocsp', vector(`ocsp/${name}`)]),
];
const AT_2022_09_28 = '2022-09-28T00:00:00Z';
/** The 2022 CRLs of the 2004-era CAs expire on 2022-09-25; the OCSP responses are of 17:00. */
const AT_2022_09_02 = '2022-09-02T17:05:00Z';
const GOST_2022_ROOT = 'НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022';

const work = mkdtempSync(join(tmpdir(), 'upp-cli-pki-'));
after(() => rmSync(work, { recursive: true, force: true }));

const realFetch = globalThis.fetch;
before(() => {
  // The NCA test services are not reachable from tests: fail such fetches at once.
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname !== '127.0.0.1') {
      return Promise.reject(new TypeError(`no network in tests: ${url.host}`));
    }
    return realFetch(input, init);
  };
});
after(() => {
  globalThis.fetch = realFetch;
});

interface Run {
  code: number;
  out: string;
  err: string;
  bytes: Buffer;
}

/** Runs a command with extra environment variables, capturing what it prints. */
async function run(
  command: (args: string[]) => Promise<number>,
  args: string[],
  env: Record<string, string> = {},
  captureBytes = false,
): Promise<Run> {
  const saved = { ...process.env };
  const out: string[] = [];
  const err: string[] = [];
  const chunks: Buffer[] = [];
  const original = { log: console.log, error: console.error, write: process.stdout.write };
  console.log = (...parts: unknown[]) => out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => err.push(parts.join(' '));
  // The test reporter writes to stdout too: only the command that prints bytes is captured.
  if (captureBytes) {
    process.stdout.write = ((chunk: Uint8Array | string) => {
      chunks.push(Buffer.from(chunk));
      return true;
    }) as typeof process.stdout.write;
  }
  Object.assign(process.env, { NODE_ENV: 'test', UPP_DATA_DIR: join(work, 'var') }, env);
  try {
    const code = await command(args);
    return { code, out: out.join('\n'), err: err.join('\n'), bytes: Buffer.concat(chunks) };
  } finally {
    console.log = original.log;
    console.error = original.error;
    process.stdout.write = original.write;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

interface Signer {
  signatureValid: boolean;
  timeValid: boolean;
  signingTime: string | null;
  certificate: {
    serial: string;
    subject: { commonName: string; iin: string | null; bin: string | null };
    keyPurpose: string;
    roles: string[];
    algorithm: string;
  };
  chain: { trusted: boolean; anchor: string | null };
  revocation: { status: string; source: string; revokedAt: string | null };
  errors: { code: string; message: string }[];
}
interface Report {
  file: string;
  kind: string;
  valid: boolean;
  signers: Signer[];
  errors?: { code: string }[];
}

async function verifyJson(args: string[], env: Record<string, string> = {}) {
  const result = await run(verifyCommand, [...args, '--json'], env);
  const parsed = JSON.parse(result.out) as Report | Report[];
  return { code: result.code, reports: Array.isArray(parsed) ? parsed : [parsed] };
}

const codes = (signer: Signer | undefined) => (signer?.errors ?? []).map((e) => e.code).sort();

test('the two-signer CMS (attached, and detached with --data) at 2022-09-28', async () => {
  const { code, reports } = await verifyJson([
    vector('cms/cms_attached_2signers_test123.p7s'),
    vector('cms/cms_detached_2signers_test123.p7s'),
    '--data',
    vector('cms/test123.txt'),
    '--at',
    AT_2022_09_28,
    '--trust',
    CA,
    ...OFFLINE,
  ]);
  assert.equal(code, 1);
  assert.equal(reports.length, 2);
  for (const report of reports) {
    assert.equal(report.kind, 'cms');
    assert.equal(report.valid, false);
    const [gost, rsa] = report.signers;
    assert.equal(gost?.signatureValid, true);
    assert.equal(gost?.timeValid, true);
    assert.equal(gost?.certificate.algorithm, 'gost2015-512');
    assert.equal(gost?.certificate.subject.iin, '123456789012');
    assert.deepEqual(gost?.chain, { trusted: true, anchor: GOST_2022_ROOT });
    assert.deepEqual(gost?.revocation, { status: 'good', source: 'crl', revokedAt: null });
    assert.deepEqual(codes(gost), []);
    assert.equal(rsa?.signatureValid, true);
    assert.equal(rsa?.timeValid, false);
    assert.equal(rsa?.certificate.algorithm, 'rsa');
    assert.match(rsa?.signingTime ?? '', /^2022-09-27T21:/);
    assert.ok(codes(rsa).includes('cert.expired'));
    assert.ok(codes(rsa).includes('signing_time.outside_validity'));
  }
  const withoutData = await verifyJson([
    vector('cms/cms_detached_2signers_test123.p7s'),
    '--at',
    AT_2022_09_28,
    '--trust',
    CA,
    '--revocation',
    'none',
  ]);
  assert.equal(withoutData.code, 1);
  const problems = [
    ...(withoutData.reports[0]?.errors ?? []),
    ...(withoutData.reports[0]?.signers ?? []).flatMap((s) => s.errors),
  ].map((e) => e.code);
  assert.ok(problems.includes('cms.content_missing'), problems.join());
});

test('one-signer RSA CMS: signature valid, certificate expired at signingTime', async () => {
  for (const name of ['cms_attached_1signer_rsa_test123', 'cms_attached_1signer_rsa_lol_kek']) {
    const { code, reports } = await verifyJson([
      vector(`cms/${name}.p7s`),
      '--at',
      AT_2022_09_28,
      '--trust',
      CA,
      ...OFFLINE,
    ]);
    assert.equal(code, 1);
    const signer = reports[0]?.signers[0];
    assert.equal(signer?.signatureValid, true);
    assert.equal(signer?.certificate.subject.iin, '123456789011');
    assert.ok(codes(signer).includes('signing_time.outside_validity'));
  }
});

test('certificates, CA certificates and XML are valid inside their validity', async () => {
  const certs = await verifyJson([
    vector('certs/individual_valid_sign_2004_rsa.cer'),
    vector('certs/individual_valid_sign_2004_rsa_auth.cer'),
    vector('certs/ceo_valid_sign_2004_gost.cer'),
    vector('ca/root_rsa_test.crt'),
    vector('ca/root_gost_test.crt'),
    vector('ca/root_test_gost_2022.cer'),
    '--at',
    AT_2022_09_02,
    '--trust',
    CA,
    ...OFFLINE,
  ]);
  assert.equal(certs.code, 0, JSON.stringify(certs.reports.map((r) => r.signers[0]?.errors)));
  const [sign, auth, ceo, ...roots] = certs.reports.map((r) => r.signers[0] as Signer);
  assert.equal(sign?.certificate.keyPurpose, 'sign');
  assert.deepEqual(sign?.certificate.roles, ['individual']);
  assert.deepEqual(sign?.revocation, { status: 'good', source: 'crl', revokedAt: null });
  assert.equal(auth?.certificate.keyPurpose, 'auth');
  assert.equal(ceo?.certificate.algorithm, 'gost2004');
  assert.equal(ceo?.certificate.subject.bin, '123456789021');
  assert.deepEqual(ceo?.certificate.roles.sort(), ['first_head', 'legal_entity']);
  for (const root of roots) {
    assert.equal(root.chain.trusted, true);
    assert.equal(root.revocation.source, 'trust-anchor');
  }

  const cas = await verifyJson([
    vector('ca/nca_rsa_test.crt'),
    vector('ca/nca_gost_test.crt'),
    vector('ca/nca_gost2022_test.cer'),
    vector('crl/nca_rsa_test.crl'),
    vector('crl/nca_gost_test.crl'),
    vector('crl/nca_gost2022_test.crl'),
    '--at',
    AT_2022_09_02,
    '--trust',
    CA,
    '--revocation',
    'none',
  ]);
  assert.equal(cas.code, 0);
  assert.deepEqual(
    cas.reports.map((r) => r.kind),
    ['certificate', 'certificate', 'certificate', 'crl', 'crl', 'crl'],
  );
  for (const report of cas.reports) {
    assert.deepEqual(report.signers[0]?.revocation, {
      status: 'unknown',
      source: 'none',
      revokedAt: null,
    });
  }
  const stale = await verifyJson([
    vector('crl/nca_rsa_test.crl'),
    '--at',
    AT_2022_09_28,
    '--trust',
    CA,
    '--revocation',
    'none',
  ]);
  assert.equal(stale.code, 1);
  assert.ok(codes(stale.reports[0]?.signers[0]).includes('crl.stale'));

  const xml = await verifyJson([
    vector('xml/xml_signed_rsa_1signer.xml'),
    vector('xml/soap_wsse_signed.xml'),
    '--at',
    '2021-06-01T00:00:00Z',
    '--trust',
    CA,
    '--revocation',
    'none',
  ]);
  assert.equal(xml.code, 0);
  assert.deepEqual(
    xml.reports.map((r) => [r.kind, r.valid, r.signers[0]?.certificate.subject.iin]),
    [
      ['xml', true, '123456789011'],
      ['xml', true, '123456789011'],
    ],
  );
});

test('OCSP responses verify against their CAs; revocation needs a source unless none', async () => {
  const ocsp = readdirSync(vector('ocsp')).map((name) => vector(`ocsp/${name}`));
  const responses = await verifyJson([...ocsp, '--at', AT_2022_09_02, '--trust', CA, ...OFFLINE]);
  assert.equal(responses.code, 0);
  assert.ok(responses.reports.every((r) => r.kind === 'ocsp-response' && r.valid));

  const unavailable = await verifyJson([
    vector('certs/individual_valid_sign_2004_rsa.cer'),
    '--at',
    AT_2022_09_02,
    '--trust',
    CA,
  ]);
  assert.equal(unavailable.code, 1);
  assert.deepEqual(codes(unavailable.reports[0]?.signers[0]), ['revocation.unavailable']);
  const none = await verifyJson([
    vector('certs/individual_valid_sign_2004_rsa.cer'),
    '--at',
    AT_2022_09_02,
    '--trust',
    CA,
    '--revocation',
    'none',
  ]);
  assert.equal(none.code, 0);
  assert.equal(none.reports[0]?.valid, true);
});

test('as of today every vector end-entity certificate has expired', async () => {
  const files = [
    ...readdirSync(vector('certs')).map((name) => vector(`certs/${name}`)),
    vector('cms/cms_attached_2signers_test123.p7s'),
    vector('cms/cms_attached_1signer_rsa_test123.p7s'),
    vector('xml/xml_signed_rsa_1signer.xml'),
  ];
  const { code, reports } = await verifyJson([...files, '--trust', CA, ...OFFLINE]);
  assert.equal(code, 1);
  for (const report of reports) {
    assert.equal(report.valid, false);
    for (const signer of report.signers) {
      assert.equal(signer.timeValid, false);
      assert.ok(codes(signer).includes('cert.expired'), report.file);
    }
  }
  const text = await run(verifyCommand, [vector('certs/ceo_valid_sign_2004_gost.cer')]);
  assert.equal(text.code, 1);
  assert.match(text.out, /NOT VALID \(certificate, 1 signer\)/);
  assert.match(text.out, /! cert\.expired: certificate expired 2023-01-18/);
});

test('usage errors exit with 2', async () => {
  assert.equal((await run(verifyCommand, [])).code, 2);
  const badAt = await run(verifyCommand, ['x.p7s', '--at', 'yesterday']);
  assert.equal(badAt.code, 2);
  assert.match(badAt.err, /--at takes an ISO-8601 instant/);
  assert.equal((await run(verifyCommand, ['x.p7s', '--revocation', 'maybe'])).code, 2);
  assert.equal((await run(verifyCommand, ['x.p7s', '--frobnicate'])).code, 2);
  assert.equal((await run(verifyCommand, ['x.p7s', '--trust', join(work, 'none')])).code, 2);
  assert.equal((await run(signCommand, ['--p12', 'a.p12'])).code, 2);
  assert.equal((await run(pkiCommand, ['frobnicate'])).code, 2);
  const missing = await run(verifyCommand, [join(work, 'missing.p7s'), '--revocation', 'none']);
  assert.equal(missing.code, 1);
  assert.match(missing.out, /input\.unreadable/);
});

/** `upp sign` with one of the NCA RK vector key stores. */
function signWithVector(
  name: string,
  password: string,
  data: string,
  out: string,
  detached = false,
) {
  const args = ['--p12', vector(`p12/ncanode/${name}.p12`), '--password', password];
  return run(signCommand, [
    ...args,
    '--data',
    data,
    '--out',
    out,
    ...(detached ? ['--detached'] : []),
  ]);
}

test('upp sign with the NCA RK key stores, then upp verify of the output', async () => {
  const data = join(work, 'contract.txt');
  writeFileSync(data, 'договор поставки № 1');
  const stores = [
    ['individual_valid_sign_2004_rsa', 'Qwerty12', 'rsa'],
    ['individual_valid_2015_gost2015', 'Aa123456', 'gost2015-512'],
  ] as const;
  for (const [name, password, algorithm] of stores) {
    for (const detached of [false, true]) {
      const out = join(work, `${name}-${detached}.p7s`);
      const before = systemClock.now().getTime();
      const signed = await signWithVector(name, password, data, out, detached);
      assert.equal(signed.code, 0, signed.err);
      assert.equal(parseCms(new Uint8Array(readFileSync(out))).content === undefined, detached);
      const { code, reports } = await verifyJson([
        out,
        ...(detached ? ['--data', data] : []),
        '--trust',
        CA,
        '--revocation',
        'none',
      ]);
      assert.equal(code, 1);
      const signer = reports[0]?.signers[0];
      assert.equal(signer?.signatureValid, true);
      assert.equal(signer?.certificate.algorithm, algorithm);
      assert.ok(Date.parse(signer?.signingTime ?? '') >= Math.floor(before / 1000) * 1000);
      assert.ok(codes(signer).includes('cert.expired'));
    }
  }
  const stdout = await run(
    signCommand,
    [
      '--p12',
      vector('p12/ncanode/individual_valid_2015_gost2015.p12'),
      '--password',
      'Aa123456',
      '--data',
      data,
    ],
    {},
    true,
  );
  assert.equal(stdout.code, 0);
  assert.equal(parseCms(new Uint8Array(stdout.bytes)).signers.length, 1);

  const wrong = await signWithVector(
    'individual_valid_sign_2004_rsa',
    'Qwerty13',
    data,
    join(work, 'never.p7s'),
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /^upp: p12\.bad_password: /);
});

test('revoked NCA RK key stores: revoked per the OCSP response and per the CRL', async () => {
  const data = join(work, 'bid.txt');
  writeFileSync(data, 'ценовое предложение');
  const cases = [
    ['ceo_revoked_2015', 'Aa123456', 'ocsp', '2022-07-27T10:25:30.000Z'],
    ['ceo_sign_revoked_2004', 'Qwerty12', 'ocsp', '2022-01-18T06:30:55.000Z'],
    ['individual_sign_revoked_2004', 'Qwerty12', 'crl', null],
  ] as const;
  for (const [name, password, source, revokedAt] of cases) {
    const out = join(work, `${name}.p7s`);
    const signed = await signWithVector(name, password, data, out);
    assert.equal(signed.code, 0, signed.err);
    const { code, reports } = await verifyJson([
      out,
      '--at',
      AT_2022_09_02,
      '--trust',
      CA,
      ...OFFLINE,
    ]);
    assert.equal(code, 1);
    const signer = reports[0]?.signers[0];
    assert.equal(signer?.signatureValid, true);
    assert.equal(signer?.chain.trusted, true);
    assert.equal(signer?.revocation.status, 'revoked', name);
    assert.equal(signer?.revocation.source, source);
    if (revokedAt !== null) assert.equal(signer?.revocation.revokedAt, revokedAt);
    assert.ok(codes(signer).includes('cert.revoked'));
  }
});

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

test('demo PKI: demo-ca, issue, sign, verify good, revoke, verify revoked', async () => {
  const port = await freePort();
  const dataDir = join(work, 'demo-var');
  const env = { UPP_DATA_DIR: dataDir, UPP_PUBLIC_URL: `http://127.0.0.1:${port}` };
  const created = await run(pkiCommand, ['demo-ca'], env);
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, new RegExp(`/pki/crl/demo-gost2015.crl`));
  const data = join(work, 'protocol.txt');
  writeFileSync(data, 'протокол итогов');
  const holders = [
    ['rsa', 'sign', ['--role', 'individual']],
    ['gost2015', 'sign', ['--role', 'first_head', '--bin', '000740001307', '--org', 'ТОО DEMO']],
    ['rsa', 'auth', ['--role', 'first_head', '--bin', '000740001307', '--org', 'ТОО DEMO']],
    ['gost2015', 'auth', ['--role', 'individual']],
  ] as const;
  const signatures: { file: string; serial: string; purpose: string }[] = [];
  for (const [alg, purpose, role] of holders) {
    const p12 = join(work, `demo-${alg}-${purpose}.p12`);
    const issued = await run(
      pkiCommand,
      [
        'issue',
        ...role,
        '--iin',
        '900101300017',
        '--purpose',
        purpose,
        '--alg',
        alg,
        '--out',
        p12,
        '--password',
        'demo-pass',
      ],
      env,
    );
    assert.equal(issued.code, 0, issued.err);
    const serial = /issued ([0-9a-f]+):/.exec(issued.out)?.[1] ?? '';
    const file = join(work, `demo-${alg}-${purpose}.p7s`);
    const signed = await run(
      signCommand,
      ['--p12', p12, '--password', 'demo-pass', '--data', data, '--out', file],
      env,
    );
    assert.equal(signed.code, 0, signed.err);
    signatures.push({ file, serial, purpose });
  }
  const wrongPassword = await run(
    signCommand,
    ['--p12', join(work, 'demo-rsa-sign.p12'), '--password', 'nope', '--data', data],
    env,
  );
  assert.equal(wrongPassword.code, 1);
  assert.match(wrongPassword.err, /p12\.bad_password/);

  // Configured demo trust: the demo CA answers OCSP in-process, no server is listening.
  const good = await verifyJson(
    signatures.map((s) => s.file),
    env,
  );
  assert.equal(good.code, 0, JSON.stringify(good.reports.map((r) => r.signers[0]?.errors)));
  good.reports.forEach((report, index) => {
    const signer = report.signers[0];
    assert.equal(signer?.certificate.serial, signatures[index]?.serial);
    assert.equal(signer?.certificate.keyPurpose, signatures[index]?.purpose);
    assert.deepEqual(signer?.revocation, { status: 'good', source: 'ocsp', revokedAt: null });
  });
  assert.equal(good.reports[1]?.signers[0]?.certificate.subject.bin, '000740001307');

  const target = signatures[1] as (typeof signatures)[number];
  // OCSP and CRL times have whole seconds.
  const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
  const revoked = await run(
    pkiCommand,
    ['revoke', target.serial, '--reason', 'keyCompromise', '--at', revokedAt],
    env,
  );
  assert.equal(revoked.code, 0, revoked.err);
  const listed = await run(pkiCommand, ['list'], env);
  assert.match(listed.out, new RegExp(`${target.serial} gost2015 revoked ${revokedAt}`));

  const inProcess = await verifyJson([target.file], env);
  assert.equal(inProcess.code, 1);
  assert.deepEqual(inProcess.reports[0]?.signers[0]?.revocation, {
    status: 'revoked',
    source: 'ocsp',
    revokedAt,
  });

  // --trust replaces the configured trust: revocation goes to the certificate's own URLs.
  const trustDir = demoCaDir(dataDir);
  const offline = await verifyJson([target.file, '--trust', trustDir], env);
  assert.deepEqual(codes(offline.reports[0]?.signers[0]), ['revocation.unavailable']);
  const settings = pkiSettingsFromEnv(
    { UPP_PKI_TRUST: 'demo' },
    { nodeEnv: 'test', dataDir, publicBaseUrl: env.UPP_PUBLIC_URL },
  );
  const app = Fastify({ logger: false });
  app.addSchema(problemSchema);
  app.setErrorHandler(handleError);
  const platform = await createPlatformPki(settings, systemClock);
  await app.register(pkiRoutes, { pki: platform });
  await app.listen({ host: '127.0.0.1', port });
  try {
    const overHttp = await verifyJson([target.file, '--trust', trustDir], env);
    assert.equal(overHttp.code, 1);
    assert.deepEqual(overHttp.reports[0]?.signers[0]?.revocation, {
      status: 'revoked',
      source: 'ocsp',
      revokedAt,
    });
    const stillGood = await verifyJson([signatures[0]?.file ?? '', '--trust', trustDir], env);
    assert.equal(stillGood.code, 0);
    const token = join(work, 'receipt.tsr');
    writeFileSync(token, platform.timestamp(readFileSync(data)));
    const stamped = await verifyJson([token, '--trust', trustDir], env);
    assert.equal(stamped.code, 0, JSON.stringify(stamped.reports[0]?.signers[0]?.errors));
    assert.equal(stamped.reports[0]?.kind, 'timestamp-token');
    // The demo responder does not know its TSA certificate: the CRL answers instead.
    assert.deepEqual(stamped.reports[0]?.signers[0]?.revocation, {
      status: 'good',
      source: 'crl',
      revokedAt: null,
    });
  } finally {
    await app.close();
  }
});

test('demo trust is refused under NODE_ENV=production', async () => {
  const production = { NODE_ENV: 'production', UPP_DATA_DIR: join(work, 'prod-var') };
  const demo = await run(pkiCommand, ['demo-ca'], production);
  assert.equal(demo.code, 1);
  assert.match(demo.err, /trust\.demo_in_production/);
  await assert.rejects(
    run(verifyCommand, ['x.p7s'], { ...production, UPP_PKI_TRUST: 'demo' }),
    (error: unknown) => error instanceof ConfigError && error.variable === 'UPP_PKI_TRUST',
  );
  // Checking files against a given trust folder needs none of the server's production settings.
  const checked = await run(
    verifyCommand,
    [vector('ca/root_rsa_test.crt'), '--trust', CA, '--revocation', 'none'],
    production,
  );
  assert.equal(checked.code, 0, checked.err);
});
