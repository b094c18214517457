// Platform receipts: sealed with the platform's RFC 3161 token over the Merkle root of the receipts
// issued in the same turn, checked offline by `upp verify` (kind 'receipt'); any change to a sealed
// receipt or its path shows. Receipts of layouts 1 and 2, whose token stamped the body itself (and
// layout 1 with the platform's CMS over the same bytes), still verify.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { verifyCommand } from '../../src/cli/pki.js';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { fixedClock } from '../../src/domain/time.js';
import { PkiError } from '../../src/pki/errors.js';
import { rootImprint, rootOf } from '../../src/pki/batch-stamp.js';
import { verifyTimeStampToken } from '../../src/pki/tsp.js';
import { detectKind, verifyInput } from '../../src/pki/verify.js';
import { createPlatformPki, pkiSettingsFromEnv } from '../../src/services/pki.js';
import type { PlatformPki } from '../../src/services/pki.js';
import { RECEIPT_FORMAT, receiptBytes, sealReceipt } from '../../src/services/receipts.js';
import type { Receipt, ReceiptBody } from '../../src/services/receipts.js';

const work = mkdtempSync(join(tmpdir(), 'upp-receipts-'));
after(() => rmSync(work, { recursive: true, force: true }));
const env = { NODE_ENV: 'test', UPP_DATA_DIR: work, UPP_PKI_TRUST: 'demo' };
const clock = fixedClock('2026-03-02T04:00:00.000Z');
let pki: PlatformPki;

before(async () => {
  const settings = pkiSettingsFromEnv(env, {
    nodeEnv: 'test',
    dataDir: work,
    publicBaseUrl: 'http://127.0.0.1:9',
  });
  pki = await createPlatformPki(settings, clock);
});

function body(overrides: Partial<ReceiptBody> = {}): ReceiptBody {
  return {
    format: RECEIPT_FORMAT,
    receiptId: '7d1f3f0e-2a4b-4c8e-9f00-1b2c3d4e5f60',
    documentId: '0b9e0f5a-6c1d-4e2f-8a3b-4c5d6e7f8091',
    action: 'document.sign',
    receivedAt: '2026-03-02T09:00:00.000+05:00',
    receivedAtUtc: '2026-03-02T04:00:00.000Z',
    sha256: 'a'.repeat(64),
    files: [{ position: 1, name: 'Шарт №12 — келісім.pdf', size: 1234, sha256: 'b'.repeat(64) }],
    signer: {
      commonName: 'САПАРОВ ЕРЛАН',
      iin: '870412300013',
      bin: null,
      serial: '0a1b',
      algorithm: 'rsa',
    },
    ...overrides,
  };
}

interface Report {
  kind: string;
  valid: boolean;
  errors?: { code: string }[];
  signers: { errors: { code: string }[]; timestamp: { valid: boolean } | null }[];
}

/** Runs `upp verify FILE --json` in-process with the demo trust of this test's data dir. */
async function verifyReceiptFile(receipt: unknown): Promise<{ code: number; report: Report }> {
  const path = join(work, `receipt-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof receipt === 'string' ? receipt : JSON.stringify(receipt, null, 2));
  const saved = { ...process.env };
  const out: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => out.push(parts.join(' '));
  Object.assign(process.env, env);
  try {
    const code = await verifyCommand([path, '--json']);
    return { code, report: JSON.parse(out.join('\n')) as Report };
  } finally {
    console.log = log;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

const allCodes = (report: Report) => [
  ...(report.errors ?? []).map((e) => e.code),
  ...report.signers.flatMap((s) => s.errors.map((e) => e.code)),
];

test('the platform time-stamps the root its path folds the canonical body to', async () => {
  const receipt = await sealReceipt(pki, body());
  const bytes = receiptBytes(receipt);
  assert.equal(new TextDecoder().decode(bytes), canonicalJson(body()));
  assert.deepEqual(Object.keys(receipt.platform), ['timestampToken', 'merklePath']);
  assert.deepEqual(receipt.platform.merklePath, [], 'a receipt alone in its turn is the root');
  const token = Buffer.from(receipt.platform.timestampToken, 'base64');
  const root = rootOf(bytes, receipt.platform.merklePath);
  const stamp = verifyTimeStampToken(token, { imprint: rootImprint(root) });
  assert.equal(stamp.valid, true, JSON.stringify(stamp.errors));
  assert.equal(stamp.time.toISOString(), clock.now().toISOString());
  assert.equal(stamp.tsaCertificate?.fingerprintSha256, pki.tsa.certificate.fingerprintSha256);
  const direct = verifyTimeStampToken(token, { data: bytes });
  assert.equal(direct.valid, false, 'the token stamps the leaf, not the bytes as they are');
});

test('receipts sealed in one turn share one token; each verifies by its own path', async () => {
  const bodies = Array.from({ length: 5 }, (_, n) => body({ sha256: String(n).repeat(64) }));
  const receipts = await Promise.all(bodies.map((one) => sealReceipt(pki, one)));
  const tokens = new Set(receipts.map((receipt) => receipt.platform.timestampToken));
  assert.equal(tokens.size, 1, 'one signature for the batch');
  assert.deepEqual(
    receipts.map((receipt) => receipt.platform.merklePath.length),
    [3, 3, 3, 3, 1],
    'five leaves: four on the left, one on the right',
  );
  for (const receipt of receipts) {
    const { code, report } = await verifyReceiptFile(receipt);
    assert.deepEqual(allCodes(report), []);
    assert.equal(code, 0);
  }
  const [first, second] = receipts as [Receipt, Receipt];
  const swapped = {
    ...first,
    platform: { ...first.platform, merklePath: second.platform.merklePath },
  };
  const failed = await verifyReceiptFile(swapped);
  assert.equal(failed.code, 1);
  assert.ok(allCodes(failed.report).includes('timestamp.imprint_mismatch'));
  const later = await sealReceipt(pki, body());
  assert.notEqual(later.platform.timestampToken, first.platform.timestampToken, 'a new turn');
});

test('a receipt of layout 2, its token over the body itself, still verifies', async () => {
  const sealed = body({ format: 'upp.receipt/2' as typeof RECEIPT_FORMAT });
  const token = pki.timestamp(receiptBytes(sealed));
  const receipt = {
    ...sealed,
    platform: { timestampToken: Buffer.from(token).toString('base64') },
  };
  const { code, report } = await verifyReceiptFile(receipt);
  assert.deepEqual(allCodes(report), []);
  assert.equal(code, 0);
  const pathAdded = { ...receipt, platform: { ...receipt.platform, merklePath: [] } };
  assert.equal((await verifyReceiptFile(pathAdded)).code, 1, 'a path changes what is stamped');
});

test('upp verify checks a receipt offline: kind receipt, valid, exit 0', async () => {
  const receipt = await sealReceipt(pki, body());
  assert.equal(detectKind(JSON.stringify(receipt)), 'receipt');
  const { code, report } = await verifyReceiptFile(receipt);
  assert.equal(report.kind, 'receipt');
  assert.deepEqual(allCodes(report), []);
  assert.equal(report.valid, true);
  assert.equal(code, 0);
  assert.equal(report.signers.length, 1, 'the platform, as its time-stamp authority');
  assert.equal(report.signers[0]?.timestamp?.valid, true);
});

/** A receipt of layout 1: the same body sealed with the platform's CMS and its token. */
function layoutOne(overrides: Partial<ReceiptBody> = {}) {
  const sealed = { ...body({ format: 'upp.receipt/1' as typeof RECEIPT_FORMAT, ...overrides }) };
  const bytes = receiptBytes(sealed);
  return {
    ...sealed,
    platform: {
      signature: Buffer.from(pki.signAsPlatform(bytes)).toString('base64'),
      timestampToken: Buffer.from(pki.timestamp(bytes)).toString('base64'),
    },
  };
}

test('a receipt of layout 1 verifies with both its signatures; a swapped CMS fails', async () => {
  const receipt = layoutOne();
  const { code, report } = await verifyReceiptFile(receipt);
  assert.deepEqual(allCodes(report), []);
  assert.equal(report.valid, true);
  assert.equal(code, 0);
  assert.equal(report.signers.length, 2, 'the platform signer and the time-stamp authority');
  assert.equal(report.signers[1]?.timestamp?.valid, true);
  const other = layoutOne({ sha256: 'c'.repeat(64) });
  const swapped = {
    ...receipt,
    platform: { ...receipt.platform, signature: other.platform.signature },
  };
  const failed = await verifyReceiptFile(swapped);
  assert.equal(failed.report.valid, false);
  assert.equal(failed.code, 1);
  assert.ok(allCodes(failed.report).length > 0, 'the report names what failed');
});

test('a changed receipt fails: body, token or path', async () => {
  const [receipt, other] = await Promise.all([
    sealReceipt(pki, body()),
    sealReceipt(pki, body({ sha256: 'c'.repeat(64) })),
  ]);
  const step = receipt.platform.merklePath[0]!;
  const flipped = (step.sha256[0] === '0' ? '1' : '0') + step.sha256.slice(1);
  const tampered: [string, Receipt][] = [
    ['time', { ...receipt, receivedAt: '2026-03-01T09:00:00.000+05:00' }],
    ['file hash', { ...receipt, files: [{ ...receipt.files[0]!, sha256: 'd'.repeat(64) }] }],
    ['signer', { ...receipt, signer: { ...receipt.signer, iin: '870412300021' } }],
    [
      'token of another batch',
      {
        ...receipt,
        platform: {
          ...receipt.platform,
          timestampToken: (await sealReceipt(pki, body())).platform.timestampToken,
        },
      },
    ],
    [
      'path of another receipt',
      { ...receipt, platform: { ...receipt.platform, merklePath: other.platform.merklePath } },
    ],
    [
      'a sibling changed',
      {
        ...receipt,
        platform: { ...receipt.platform, merklePath: [{ ...step, sha256: flipped }] },
      },
    ],
    [
      'a side changed',
      {
        ...receipt,
        platform: {
          ...receipt.platform,
          merklePath: [{ ...step, position: step.position === 'left' ? 'right' : 'left' }],
        },
      },
    ],
  ];
  for (const [what, changed] of tampered) {
    const { code, report } = await verifyReceiptFile(changed);
    assert.equal(report.kind, 'receipt', what);
    assert.equal(report.valid, false, what);
    assert.equal(code, 1, what);
    assert.ok(allCodes(report).length > 0, `${what}: the report names what failed`);
  }
  const { report } = await verifyReceiptFile({ ...receipt, receivedAt: 'changed' });
  assert.ok(allCodes(report).includes('timestamp.imprint_mismatch'), allCodes(report).join());
});

test('malformed receipts are refused with receipt.malformed', async () => {
  const receipt = await sealReceipt(pki, body());
  const withPath = (merklePath: unknown) =>
    JSON.stringify({ ...receipt, platform: { ...receipt.platform, merklePath } });
  const step = { position: 'left', sha256: 'a'.repeat(64) };
  const inputs = [
    withPath('a'.repeat(64)),
    withPath([{ position: 'up', sha256: 'a'.repeat(64) }]),
    withPath([{ position: 'left', sha256: 'A'.repeat(64) }]),
    withPath([null]),
    withPath(Array.from({ length: 33 }, () => step)),
    '{"not": "closed"',
    JSON.stringify({ ...receipt, platform: undefined }),
    JSON.stringify({ ...receipt, platform: { signature: '***', timestampToken: 'AA==' } }),
    '{"platform": 1}',
  ];
  for (const input of inputs) {
    const { code, report } = await verifyReceiptFile(input);
    assert.equal(code, 1);
    assert.deepEqual(allCodes(report), ['receipt.malformed'], input);
  }
});

test('fuzz: mutated receipts give a report and never throw', async () => {
  const trust = pki.trust;
  const batch = await Promise.all([sealReceipt(pki, body()), sealReceipt(pki, body())]);
  const sealed = JSON.stringify(batch[1]);
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc
          .tuple(fc.nat({ max: sealed.length - 1 }), fc.string({ maxLength: 4 }))
          .map(([at, insert]) => sealed.slice(0, at) + insert + sealed.slice(at + insert.length)),
        fc.nat({ max: sealed.length }).map((at) => sealed.slice(0, at)),
        fc.json().map((json) => `{"platform":${json}}`),
      ),
      async (input) => {
        tried += 1;
        try {
          const report = await verifyInput(input, { trust, at: clock.now(), revocation: 'none' });
          if (report.valid) {
            const parsed = JSON.parse(input) as Receipt;
            assert.deepEqual(receiptBytes(parsed), receiptBytes(JSON.parse(sealed) as Receipt));
          }
        } catch (error) {
          assert.ok(error instanceof PkiError, String(error));
        }
      },
    ),
    { numRuns: 300 },
  );
  console.log(`fuzz receipt: ${tried} inputs`);
});
