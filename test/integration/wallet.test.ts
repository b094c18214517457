// The wallet end to end on both databases: bank statements imported by an operator, holds in the
// caller's transaction (and under concurrency), signed withdrawals, and bank guarantees.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import { UppError } from '../../src/domain/errors.js';
import { walletBalance } from '../../src/domain/wallet.js';
import type { LedgerEntry } from '../../src/domain/wallet.js';
import { balance, checkGuarantee, hold, release, retain } from '../../src/services/wallet.js';
import { migrate } from '../../src/store/migrate.js';
import type { Database } from '../../src/store/database.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import { registerCompany } from '../support/participants.js';
import type { Company } from '../support/participants.js';
import { newBin, nonce, sign } from '../support/signing.js';
import { camt053 } from '../unit/bank-statement-fixture.js';
import type { FixtureEntry } from '../unit/bank-statement-fixture.js';

const ACCOUNT = 'KZ86125KZT5004100100';

describeEachDatabase('wallet', (fresh, driver) => {
  let t: TestApp;
  let db: Database;
  let supplier: Company;
  let operator: Company;
  let bank: Company;
  let statements = 0;

  before(async () => {
    const nodes = await fresh();
    db = await nodes.open();
    await migrate(db);
    t = await testApp(db);
    supplier = await registerCompany(t);
    operator = await registerCompany(t);
    bank = await registerCompany(t);
    await db.query("UPDATE participant SET roles = roles || '{operator}' WHERE id = $1", [
      operator.participantId,
    ]);
  });

  async function importXml(token: string, statement: string) {
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/wallet/statements',
      headers: { authorization: `Bearer ${token}` },
      payload: { statement },
    });
  }

  async function importEntries(entries: FixtureEntry[]) {
    statements += 1;
    const xml = camt053(entries, { statement: `STMT-${statements}` });
    const response = await importXml(operator.token, xml);
    assert.equal(response.statusCode, 200, response.body);
    return { xml, body: response.json() };
  }

  async function wallet(company: Company, query = '') {
    return t.app.inject({
      method: 'GET',
      url: `/api/v1/wallet?participantId=${company.participantId}${query}`,
      headers: { authorization: `Bearer ${company.token}` },
    });
  }

  async function fund(company: Company, amount: string): Promise<void> {
    const ref = `F-${randomUUID()}`;
    const { body } = await importEntries([
      { ref, amount, remittance: `UPP-WALLET-${company.bin}` },
    ]);
    assert.equal(body.entries[0].outcome, 'deposited', JSON.stringify(body));
  }

  async function ledgerOf(participantId: string): Promise<LedgerEntry[]> {
    const rows = await db.query<{ id: string; kind: LedgerEntry['kind']; amount: bigint }>(
      'SELECT id, kind, amount, hold_id FROM wallet_entry WHERE participant_id = $1 ORDER BY seq',
      [participantId],
    );
    return rows.rows.map((row) => ({
      ...row,
      holdId: (row as unknown as { hold_id: string | null }).hold_id,
    }));
  }

  test('booked KZT credits that name a participant become deposits, once', async () => {
    const unknownBin = newBin();
    const entries: FixtureEntry[] = [
      { ref: 'S1-01', amount: '125000.50', remittance: `Взнос UPP-WALLET-${supplier.bin}` },
      { ref: 'S1-02', amount: '2000', remittance: `Пополнение кошелька БИН ${supplier.bin}` },
      { ref: 'S1-03', amount: '500.00', remittance: `UPP-WALLET-${unknownBin}` },
      { ref: 'S1-04', amount: '90.00', direction: 'DBIT', remittance: 'Комиссия' },
      { ref: 'S1-05', amount: '100.00', currency: 'USD', remittance: `UPP-WALLET-${supplier.bin}` },
      { ref: 'S1-06', amount: '300.00', status: 'PDNG', remittance: `UPP-WALLET-${supplier.bin}` },
    ];
    const { xml, body } = await importEntries(entries);
    assert.deepEqual(
      body.entries.map((e: { outcome: string; reason?: string }) => [e.outcome, e.reason]),
      [
        ['deposited', undefined],
        ['deposited', undefined],
        ['unmatched', undefined],
        ['ignored', 'debit'],
        ['ignored', 'currency'],
        ['pending', 'status PDNG'],
      ],
    );
    assert.equal(body.entries[1].amount, '2000.00');
    assert.equal(body.entries[0].participantId, supplier.participantId);
    const shown = (await wallet(supplier)).json();
    assert.equal(shown.balance.available, '127000.50');
    assert.equal(shown.balance.deposited, '127000.50');

    const again = await importXml(operator.token, xml);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json().counts, {
      deposited: 0,
      already_imported: 5,
      unmatched: 0,
      ignored: 0,
      pending: 1,
      rejected: 0,
    });
    assert.equal((await wallet(supplier)).json().balance.available, '127000.50');
    const kept = await db.query<{ outcome: string }>(
      "SELECT outcome FROM bank_entry WHERE reference LIKE '%:S1-%' ORDER BY reference",
    );
    assert.deepEqual(
      kept.rows.map((row) => row.outcome),
      ['deposited', 'deposited', 'unmatched', 'ignored', 'ignored'],
      'unmatched and ignored entries are kept; pending ones come again when booked',
    );
  });

  test('only an operator imports statements, and bad XML is refused with its code', async () => {
    const xml = camt053([{ ref: 'S2-01', amount: '1.00' }], { statement: 'STMT-S2' });
    const bySupplier = await importXml(supplier.token, xml);
    assert.equal(bySupplier.statusCode, 403, bySupplier.body);
    assert.equal(bySupplier.json().code, 'access.not_operator');
    const malformed = await importXml(operator.token, '<Document><Stmt>');
    assert.equal(malformed.statusCode, 422);
    assert.equal(malformed.json().code, 'statement.malformed');
    const dtd = await importXml(operator.token, `<!DOCTYPE x [<!ENTITY e "e">]>${xml}`);
    assert.equal(dtd.json().code, 'statement.forbidden_dtd');
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/wallet/statements',
      payload: { statement: xml },
    });
    assert.equal(anonymous.statusCode, 401);
  });

  test('holds compose with the caller and refuse more than is available', async () => {
    const company = await registerCompany(t);
    await fund(company, '1000.00');
    const at = t.clock.now();
    const holder = { participantId: company.participantId, at, actor: 'test' };
    await assert.rejects(
      db.transaction(async (tx) => {
        await hold(tx, { ...holder, amount: 60_000n, reference: 'application:a:lot:1' });
        throw new Error('the application failed after the hold');
      }),
      /the application failed/,
    );
    assert.equal((await balance(db, company.participantId)).available, 100_000n, 'rolled back');

    const first = await db.transaction((tx) =>
      hold(tx, { ...holder, amount: 60_000n, reference: 'application:a:lot:1' }),
    );
    await assert.rejects(
      db.transaction((tx) =>
        hold(tx, { ...holder, amount: 60_000n, reference: 'application:a:lot:2' }),
      ),
      (error: unknown) => error instanceof UppError && error.code === 'wallet.insufficient',
    );
    await assert.rejects(
      db.transaction((tx) => hold(tx, { ...holder, amount: 1n, reference: 'application:a:lot:1' })),
      (error: unknown) => error instanceof UppError && error.code === 'wallet.already_held',
    );
    const second = await db.transaction((tx) =>
      hold(tx, { ...holder, amount: 30_000n, reference: 'application:a:lot:2' }),
    );
    await db.transaction((tx) => release(tx, first.id, { at, actor: 'test' }));
    await db.transaction((tx) => retain(tx, second.id, { at, actor: 'test' }));
    for (const end of [release, retain]) {
      await assert.rejects(
        db.transaction((tx) => end(tx, second.id, { at, actor: 'test' })),
        (error: unknown) => error instanceof UppError && error.code === 'wallet.hold_ended',
      );
    }
    const sums = await balance(db, company.participantId);
    assert.deepEqual(sums, walletBalance(await ledgerOf(company.participantId)));
    assert.equal(sums.available, 70_000n);
    assert.equal(sums.retained, 30_000n);
    assert.equal(sums.held, 0n);
    const shown = (await wallet(company)).json();
    assert.equal(shown.balance.retained, '300.00');
    assert.deepEqual(shown.holds, []);
  });

  test('the ledger is append-only and a hold ends once even past the service', async () => {
    const company = await registerCompany(t);
    await fund(company, '10.00');
    const at = t.clock.now();
    const held = await db.transaction((tx) =>
      hold(tx, {
        participantId: company.participantId,
        amount: 500n,
        reference: 'r',
        at,
        actor: 't',
      }),
    );
    await assert.rejects(
      db.query('UPDATE wallet_entry SET amount = 1 WHERE id = $1', [held.id]),
      /append-only/,
    );
    await assert.rejects(
      db.query('DELETE FROM wallet_entry WHERE id = $1', [held.id]),
      /append-only/,
    );
    const insertEnd = (kind: string, amount: bigint) =>
      db.query(
        `INSERT INTO wallet_entry (id, participant_id, kind, amount, reference, hold_id, at,
           recorded_by) VALUES ($1, $2, $3, $4, 'r', $5, $6, 't')`,
        [randomUUID(), company.participantId, kind, amount, held.id, at],
      );
    await assert.rejects(insertEnd('release', 499n), /does not end hold/);
    await insertEnd('release', 500n);
    await assert.rejects(insertEnd('retention', 500n), /wallet_entry_hold_end_key|duplicate/);
  });

  test('two holds at once that together exceed the money: exactly one succeeds', async () => {
    const company = await registerCompany(t);
    await fund(company, '100.00');
    const at = t.clock.now();
    for (let round = 0; round < 5; round++) {
      const attempts = await Promise.allSettled(
        [1, 2].map((lot) =>
          db.transaction((tx) =>
            hold(tx, {
              participantId: company.participantId,
              amount: 6_000n,
              reference: `application:${round}:lot:${lot}`,
              at,
              actor: 'test',
            }),
          ),
        ),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round} on ${driver}`);
      const lost = attempts.find((a) => a.status === 'rejected');
      assert.equal((lost?.reason as UppError).code, 'wallet.insufficient');
      const winner = (won[0] as PromiseFulfilledResult<{ id: string }>).value;
      await db.transaction((tx) => release(tx, winner.id, { at, actor: 'test' }));
    }
    assert.equal((await balance(db, company.participantId)).available, 10_000n);
  });

  test('a withdrawal is signed as a payment and cannot exceed the available money', async () => {
    const company = await registerCompany(t);
    await fund(company, '750.00');
    const withdraw = async (amount: string, account = ACCOUNT) => {
      const payload = {
        action: 'wallet.withdraw',
        nonce: await nonce(t.app),
        participantId: company.participantId,
        amount,
        account,
      };
      return t.app.inject({
        method: 'POST',
        url: '/api/v1/wallet/withdrawals',
        headers: { authorization: `Bearer ${company.token}` },
        payload: { payload, signature: sign(company.head.sign, payload, t.clock.now()) },
      });
    };
    const tooMuch = await withdraw('750.01');
    assert.equal(tooMuch.statusCode, 422, tooMuch.body);
    assert.equal(tooMuch.json().code, 'wallet.insufficient');
    const elsewhere = await withdraw('1.00', 'KZ000000000000000000');
    assert.equal(elsewhere.json().code, 'wallet.account_mismatch');
    const done = await withdraw('250.00');
    assert.equal(done.statusCode, 201, done.body);
    assert.equal(done.json().available, '500.00');
    const unsigned = await t.app.inject({
      method: 'POST',
      url: '/api/v1/wallet/withdrawals',
      headers: { authorization: `Bearer ${company.token}` },
      payload: {
        payload: {
          action: 'wallet.withdraw',
          nonce: await nonce(t.app),
          participantId: company.participantId,
          amount: '1.00',
          account: ACCOUNT,
        },
        signature: sign(supplier.head.sign, { other: true }, t.clock.now()),
      },
    });
    assert.equal(unsigned.statusCode, 422, unsigned.body);
    assert.equal(unsigned.json().code, 'digest.mismatch');
    assert.equal((await wallet(company)).json().balance.withdrawn, '250.00');
  });

  test("the wallet is shown to the participant's own users only, a page at a time", async () => {
    const company = await registerCompany(t);
    for (const amount of ['1.00', '2.00', '3.00']) await fund(company, amount);
    const other = await wallet({ ...company, token: supplier.token });
    assert.equal(other.statusCode, 403);
    assert.equal(other.json().code, 'access.not_member');
    const first = (await wallet(company, '&limit=2')).json();
    assert.deepEqual(
      first.entries.map((e: { amount: string }) => e.amount),
      ['3.00', '2.00'],
    );
    const second = (await wallet(company, `&limit=2&cursor=${first.nextCursor}`)).json();
    assert.deepEqual(
      second.entries.map((e: { amount: string }) => e.amount),
      ['1.00'],
    );
    assert.equal(second.nextCursor, null);
    const bad = await wallet(company, '&cursor=bm9wZQ');
    assert.equal(bad.json().code, 'request.invalid_cursor');
  });

  test('a bank guarantee must name the lot, the supplier, enough money, a later end', async () => {
    const procurementId = randomUUID();
    const lotId = randomUUID();
    const terms = {
      number: 'BG-2026/0042',
      beneficiary: { procurementId, lotId },
      principal: { bin: supplier.bin },
      amount: '45000.00',
      currency: 'KZT',
      validUntil: new Date(t.clock.now().getTime() + 30 * 86_400_000).toISOString(),
    };
    const issue = async (issuer: Company, type = 'bank_guarantee') => {
      const payload = {
        action: 'document.sign',
        nonce: await nonce(t.app),
        form: 'structured',
        content: terms,
        type,
        titles: { kk: 'Банк кепілдігі', ru: 'Банковская гарантия', en: 'Bank guarantee' },
        language: 'ru',
        visibility: 'parties',
        participantId: issuer.participantId,
      };
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/documents',
        headers: { authorization: `Bearer ${issuer.token}` },
        payload: { payload, signature: sign(issuer.head.sign, payload, t.clock.now()) },
      });
      assert.equal(response.statusCode, 201, response.body);
      return response.json().documentId as string;
    };
    const need = {
      participantId: supplier.participantId,
      procurementId,
      lotId,
      amount: 4_500_000n,
      at: t.clock.now(),
    };
    const check = (documentId: string, extra: object = {}) =>
      db.transaction((tx) => checkGuarantee(tx, { ...need, documentId, ...extra }));
    const refusedWith = (code: string) => (error: unknown) =>
      error instanceof UppError && error.code === code;

    const good = await issue(bank);
    const checked = await check(good);
    assert.equal(checked.issuerBin, bank.bin);
    assert.equal(checked.amount, 4_500_000n);
    await assert.rejects(
      check(good, { amount: 4_500_001n }),
      refusedWith('guarantee.amount_too_low'),
    );
    await assert.rejects(
      check(good, { lotId: randomUUID() }),
      refusedWith('guarantee.wrong_beneficiary'),
    );
    await assert.rejects(
      check(good, { at: new Date(terms.validUntil) }),
      refusedWith('guarantee.expired'),
    );
    await assert.rejects(
      check(good, { participantId: operator.participantId }),
      refusedWith('guarantee.wrong_principal'),
    );
    await assert.rejects(check(await issue(supplier)), refusedWith('guarantee.issuer_not_bank'));
    await assert.rejects(check(await issue(bank, 'letter')), refusedWith('guarantee.wrong_type'));
    await assert.rejects(check(randomUUID()), refusedWith('guarantee.not_found'));
  });
});
