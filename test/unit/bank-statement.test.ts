// The camt.053 reader: entries as the bank wrote them, exact amounts in tiyn, whom a remittance
// names, and refusals of malformed, DTD-carrying, oversized or foreign XML.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  MAX_STATEMENT_BYTES,
  parseCamt053,
  statementAmount,
  walletTarget,
} from '../../src/services/bank-statement.js';
import { OPERATOR_IBAN, camt053 } from './bank-statement-fixture.js';

function refusal(work: () => unknown, code: string, status: number): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof UppError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  });
}

test('a statement gives its account, ids and entries as written', () => {
  const parsed = parseCamt053(
    camt053([
      { ref: 'A1', amount: '125000.50', remittance: 'Пополнение UPP-WALLET-210340000011' },
      { ref: 'A2', amount: '90.00', direction: 'DBIT', remittance: 'Комиссия банка' },
      { ref: 'A3', amount: '15.00', currency: 'USD' },
      { ref: 'A4', amount: '7', status: 'PDNG', entryRefOnly: true },
    ]),
  );
  assert.equal(parsed.messageId, 'MSG-20260302-0001');
  const [statement] = parsed.statements;
  assert.equal(statement?.account, OPERATOR_IBAN);
  assert.equal(statement?.id, 'STMT-20260302');
  assert.deepEqual(
    statement?.entries.map((e) => [e.bankReference, e.direction, e.status, e.currency]),
    [
      ['A1', 'credit', 'BOOK', 'KZT'],
      ['A2', 'debit', 'BOOK', 'KZT'],
      ['A3', 'credit', 'BOOK', 'USD'],
      ['A4', 'credit', 'PDNG', 'KZT'],
    ],
  );
  assert.deepEqual(statement?.entries[0]?.remittance, ['Пополнение UPP-WALLET-210340000011']);
  assert.equal(statement?.entries[0]?.bookedOn, '2026-03-02');
});

test('the older camt.053.001.02 status form is read too', () => {
  const xml = camt053([{ ref: 'B1', amount: '1.00' }])
    .replace('camt.053.001.08', 'camt.053.001.02')
    .replace('<Sts><Cd>BOOK</Cd></Sts>', '<Sts>BOOK</Sts>');
  assert.equal(parseCamt053(xml).statements[0]?.entries[0]?.status, 'BOOK');
});

test('amounts become tiyn exactly, and only whole tiyn are accepted', () => {
  assert.equal(statementAmount('125000.50'), 12_500_050n);
  assert.equal(statementAmount('7'), 700n);
  assert.equal(statementAmount('0.1'), 10n);
  assert.equal(statementAmount('3.12000'), 312n);
  for (const bad of ['3.121', '1e5', '-5.00', '', '1,50', '0.00', '12.345678', ' 1.00']) {
    assert.equal(statementAmount(bad), undefined, bad);
  }
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 10n ** 17n }), (tiyn) => {
      const text = `${tiyn / 100n}.${String(tiyn % 100n).padStart(2, '0')}`;
      assert.equal(statementAmount(text), tiyn);
      assert.equal(statementAmount(`${text}000`), tiyn);
    }),
  );
});

test('a remittance names a wallet by tag first, else by a bare BIN', () => {
  assert.deepEqual(walletTarget(['оплата UPP-WALLET-210340000011 по счёту 123456789012']), {
    tagged: true,
    numbers: ['210340000011'],
  });
  assert.deepEqual(walletTarget(['Гарантийный взнос БИН 210340000011']), {
    tagged: false,
    numbers: ['210340000011'],
  });
  assert.deepEqual(walletTarget(['upp-wallet-2103400000112']), {
    tagged: false,
    numbers: [],
  });
  assert.deepEqual(walletTarget(['']), { tagged: false, numbers: [] });
});

test('malformed XML is refused', () => {
  refusal(() => parseCamt053('<Document><BkToCstmrStmt>'), 'statement.malformed', 422);
  const noAmount = camt053([{ ref: 'C1', amount: '1.00' }]).replace(
    /<Amt Ccy="KZT">1.00<\/Amt>/,
    '',
  );
  refusal(() => parseCamt053(noAmount), 'statement.malformed', 422);
});

test('a DOCTYPE (and so any entity) is refused before parsing', () => {
  const xml = camt053([{ ref: 'D1', amount: '1.00' }]).replace(
    '<Document',
    '<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document',
  );
  refusal(() => parseCamt053(xml), 'statement.forbidden_dtd', 422);
});

test('a statement over 5 MB is refused as too large', () => {
  const padding = `<!--${'x'.repeat(MAX_STATEMENT_BYTES)}-->`;
  const xml = camt053([{ ref: 'E1', amount: '1.00' }]).replace('<Document', `${padding}<Document`);
  refusal(() => parseCamt053(xml), 'statement.too_large', 413);
});

test('another message type is refused', () => {
  const xml = camt053([]).replace('camt.053.001.08', 'camt.052.001.08');
  refusal(() => parseCamt053(xml), 'statement.not_camt053', 422);
});
