// The OCDS merge that compiles a record's releases, the feed cursor, amounts as JSON numbers and
// the procurement category read from ENS TRU codes: pure functions, no database.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatAmount, parseAmount } from '../../src/domain/money.js';
import {
  categoryOf,
  compileReleases,
  decodeFeedCursor,
  encodeFeedCursor,
  published,
  tengeValue,
} from '../../src/services/ocds.js';
import type { JsonObject, Release } from '../../src/services/ocds.js';

const OCID = 'ocds-upp001-2026-000001';

function release(id: string, date: string, fields: JsonObject): Release {
  return { ocid: OCID, id, date, tag: ['tenderUpdate'], initiationType: 'tender', ...fields };
}

test('a later release overrides a field, keeps the ones it leaves out, and null removes', () => {
  const compiled = compileReleases([
    release('1', '2026-03-01T00:00:00Z', {
      tender: { id: 'T', title: 'Бумага', status: 'active', description: 'старое' },
    }),
    release('2', '2026-03-02T00:00:00Z', { tender: { status: 'cancelled', description: null } }),
  ]);
  assert.deepEqual(compiled.tender, { id: 'T', title: 'Бумага', status: 'cancelled' });
});

test('objects in arrays merge by id: changed in place, new ones appended, old ones kept', () => {
  const compiled = compileReleases([
    release('1', '2026-03-01T00:00:00Z', {
      tender: {
        items: [
          { id: '1', quantity: 1, unit: { id: '796', name: 'Штука' } },
          { id: '2', quantity: 5 },
        ],
      },
    }),
    release('2', '2026-03-02T00:00:00Z', {
      tender: {
        items: [
          { id: '3', quantity: 7 },
          { id: '1', quantity: 2, unit: { name: 'шт.' } },
        ],
      },
    }),
  ]);
  assert.deepEqual((compiled.tender as JsonObject).items, [
    { id: '1', quantity: 2, unit: { id: '796', name: 'шт.' } },
    { id: '2', quantity: 5 },
    { id: '3', quantity: 7 },
  ]);
});

test('ids match by value and type: the number 1 is not the string "1"', () => {
  const compiled = compileReleases([
    release('1', '2026-03-01T00:00:00Z', { awards: [{ id: 1, status: 'pending' }] }),
    release('2', '2026-03-02T00:00:00Z', { awards: [{ id: '1', status: 'active' }] }),
  ]);
  assert.deepEqual(compiled.awards, [
    { id: 1, status: 'pending' },
    { id: '1', status: 'active' },
  ]);
});

test('within one release the last object of an id wins', () => {
  const compiled = compileReleases([
    release('1', '2026-03-01T00:00:00Z', {
      parties: [
        { id: 'KZ-BIN-1', name: 'первое' },
        { id: 'KZ-BIN-1', name: 'второе' },
      ],
    }),
  ]);
  assert.deepEqual(compiled.parties, [{ id: 'KZ-BIN-1', name: 'второе' }]);
});

test('lists of values, lists without ids, empty lists and whole-list fields are replaced', () => {
  const compiled = compileReleases([
    release('1', '2026-03-01T00:00:00Z', {
      tender: {
        submissionMethod: ['electronicSubmission', 'written'],
        milestones: [{ title: 'без id' }],
        documents: [{ id: 'd1' }],
        items: [{ id: '1', additionalClassifications: [{ id: 'A' }, { id: 'B' }] }],
      },
    }),
    release('2', '2026-03-02T00:00:00Z', {
      tender: {
        submissionMethod: ['electronicSubmission'],
        milestones: [{ title: 'другой' }],
        documents: [],
        items: [{ id: '1', additionalClassifications: [{ id: 'C' }] }],
      },
    }),
  ]);
  assert.deepEqual(compiled.tender, {
    submissionMethod: ['electronicSubmission'],
    milestones: [{ title: 'другой' }],
    documents: [],
    items: [{ id: '1', additionalClassifications: [{ id: 'C' }] }],
  });
});

test('releases merge in date order whatever their order given; the compiled one is tagged', () => {
  const later = release('b', '2026-03-02T10:00:00.000Z', { tender: { status: 'complete' } });
  const earlier = release('a', '2026-03-02T05:00:00+05:00', { tender: { status: 'active' } });
  const compiled = compileReleases([later, earlier]);
  assert.deepEqual(compiled.tender, { status: 'complete' });
  assert.deepEqual(compiled.tag, ['compiled']);
  assert.equal(compiled.date, later.date);
  assert.equal(compiled.id, `${OCID}-${later.date}`);
  assert.equal(compiled.ocid, OCID);
  assert.equal(compiled.initiationType, 'tender');
});

test('releases of the same instant merge in the order given', () => {
  const at = '2026-03-02T10:00:00Z';
  const compiled = compileReleases([
    release('1', at, { tender: { status: 'active' } }),
    release('2', at, { tender: { status: 'cancelled' } }),
  ]);
  assert.deepEqual(compiled.tender, { status: 'cancelled' });
});

test('nothing to compile is ocds.not_found', () => {
  assert.throws(() => compileReleases([]), { code: 'ocds.not_found' });
});

test('stored paths get the public address; other strings stay as they are', () => {
  const stored = release('1', '2026-03-01T00:00:00Z', {
    tender: {
      documents: [{ id: 'd', url: '/api/v1/documents/d', title: '/не адрес' }],
      description: '/api/v1/documents/d',
    },
  });
  const shown = published(stored, { publicBaseUrl: 'https://upp.example.kz' });
  assert.deepEqual(shown.tender, {
    documents: [{ id: 'd', url: 'https://upp.example.kz/api/v1/documents/d', title: '/не адрес' }],
    description: '/api/v1/documents/d',
  });
  assert.equal(
    ((stored.tender as JsonObject).documents as JsonObject[])[0]!.url,
    '/api/v1/documents/d',
  );
});

test('the feed cursor reads back what it wrote and refuses anything else', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
      fc.bigInt({ min: 1n, max: 2n ** 62n }),
      (tx, seq) => {
        const cursor = encodeFeedCursor({ tx: tx.toString(), seq });
        assert.deepEqual(decodeFeedCursor(cursor), { tx: tx.toString(), seq });
      },
    ),
  );
  const bad = ['', '!!!!', 'Zm9v', Buffer.from('1.2.3').toString('base64url'), 'A'.repeat(65)];
  for (const cursor of [...bad, Buffer.from('-1.2').toString('base64url')]) {
    assert.throws(() => decodeFeedCursor(cursor), { code: 'feed.bad_cursor', status: 400 });
  }
});

test('amounts become JSON numbers of tenge that read back to the same tiyn', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (tiyn) => {
      const value = tengeValue(tiyn);
      const read = JSON.parse(JSON.stringify(value)) as number;
      assert.equal(parseAmount(read.toFixed(2)), tiyn);
      assert.equal(read.toFixed(2), formatAmount(tiyn));
    }),
  );
  assert.equal(tengeValue(125_000_050n), 1250000.5);
  assert.throws(() => tengeValue(10n ** 18n + 1n), { code: 'ocds.amount_unrepresentable' });
});

test('the category follows the КПВЭД division of every lot, or is unknown when they differ', () => {
  assert.equal(categoryOf(['172211.900.000001', '011111.100.000000']), 'goods');
  assert.equal(categoryOf(['421110.000.000000']), 'works');
  assert.equal(categoryOf(['620111.000.000000', '381111.000.000000']), 'services');
  assert.equal(categoryOf(['172211.900.000001', '421110.000.000000']), undefined);
});
