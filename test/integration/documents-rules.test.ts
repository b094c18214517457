// The pure rules behind document downloads and signing, as properties: RFC 6266 names, byte
// ranges, volume series and safe file names (the HTTP suite checks them end to end).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { contentDisposition, requestedRange } from '../../src/http/routes/documents.js';
import { checkFileName, checkVolumes } from '../../src/services/documents.js';

const codeOf = (work: () => void): string | undefined => {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

/** Names a user might give: any printable Unicode, Kazakh and Russian letters often. */
const fileName = fc
  .array(
    fc.oneof(
      fc.constantFrom(...'әғқңөұүһіӘҒҚҢӨҰҮҺІабвгдеёжзийклмнопрстуфхцчшщъыьэюяЁЯ №«»"\'()*%;,.'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    ),
    { minLength: 1, maxLength: 60 },
  )
  .map((parts) => parts.join(''))
  .filter((name) => codeOf(() => checkFileName(name)) === undefined);

test('Content-Disposition: filename* gives the exact name back; the fallback is ASCII', () => {
  fc.assert(
    fc.property(fileName, (name) => {
      const header = contentDisposition(name);
      const match = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([^\s;"]+)$/.exec(header);
      assert.ok(match, header);
      assert.match(match[1]!, /^[\x20-\x7e]*$/);
      assert.doesNotMatch(match[1]!, /["\\]/);
      assert.match(match[2]!, /^([A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+$/);
      assert.equal(decodeURIComponent(match[2]!), name);
    }),
    { numRuns: 500 },
  );
  assert.equal(
    contentDisposition('Шарт Қазақстан.pdf'),
    `attachment; filename="Shart Qazaqstan.pdf"; filename*=UTF-8''` +
      '%D0%A8%D0%B0%D1%80%D1%82%20%D2%9A%D0%B0%D0%B7%D0%B0%D2%9B%D1%81%D1%82%D0%B0%D0%BD.pdf',
  );
});

test('Range: a satisfiable range lies inside the file; the rest is 416 or the whole file', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.option(fc.nat({ max: 12_000 })),
      fc.option(fc.nat({ max: 12_000 })),
      (size, first, last) => {
        const header = `bytes=${first ?? ''}-${last ?? ''}`;
        const range = requestedRange(header, size);
        if (range === undefined) assert.fail(`${header} is a range`);
        if (range === 'invalid') {
          const satisfiable =
            first === null
              ? last !== null && last > 0
              : first < size && (last === null || first <= last);
          assert.equal(satisfiable, false, header);
          return;
        }
        assert.ok(range.start >= 0 && range.start <= range.end && range.end < size, header);
        if (first !== null) assert.equal(range.start, first);
        if (first === null && last !== null) {
          assert.equal(range.end - range.start + 1, Math.min(last, size));
        }
      },
    ),
    { numRuns: 500 },
  );
  assert.equal(requestedRange(undefined, 10), undefined);
  assert.equal(requestedRange('bytes=0-1,4-5', 10), undefined, 'several ranges: whole file');
  assert.equal(requestedRange('items=0-1', 10), undefined, 'other units are ignored');
  assert.equal(requestedRange('bytes=a-b', 10), 'invalid');
  assert.deepEqual(requestedRange('bytes=5-100', 10), { start: 5, end: 9 });
});

test('volumes: exactly name.001 .. name.N in order, one stem', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('архив.zip', 'Сметалар.7z', 'tender.rar', 'a'),
      fc.integer({ min: 2, max: 30 }),
      fc.nat(),
      (stem, count, seed) => {
        const series = Array.from(
          { length: count },
          (_, i) => `${stem}.${String(i + 1).padStart(3, '0')}`,
        );
        assert.equal(
          codeOf(() => checkVolumes(series)),
          undefined,
        );
        const swapAt = seed % (count - 1);
        const swapped = [...series];
        [swapped[swapAt], swapped[swapAt + 1]] = [swapped[swapAt + 1]!, swapped[swapAt]!];
        assert.equal(
          codeOf(() => checkVolumes(swapped)),
          'document.volumes_invalid',
        );
        const gap = series.filter((_, i) => i !== seed % count);
        if (gap.length > 1 && seed % count !== count - 1) {
          assert.equal(
            codeOf(() => checkVolumes(gap)),
            'document.volumes_invalid',
          );
        }
        const mixed = [...series.slice(0, -1), `other.${String(count).padStart(3, '0')}`];
        assert.equal(
          codeOf(() => checkVolumes(mixed)),
          'document.volumes_invalid',
        );
      },
    ),
    { numRuns: 200 },
  );
  assert.equal(
    codeOf(() => checkVolumes(['Шарт.pdf'])),
    undefined,
    'one file is no series',
  );
  assert.equal(
    codeOf(() => checkVolumes(['a.pdf', 'b.pdf'])),
    'document.volumes_invalid',
  );
});

test('file names: no paths, control or direction characters, lone surrogates or dot names', () => {
  for (const name of ['../x.pdf', 'a/b.pdf', 'a\\b.pdf', '..', '.', 'a\u0000.pdf', 'a\nb.pdf']) {
    assert.equal(
      codeOf(() => checkFileName(name)),
      'document.name_invalid',
      JSON.stringify(name),
    );
  }
  for (const name of ['fdp.\u202eexe', 'x\ud800.pdf', 'x\udc00.pdf', 'x'.repeat(256)]) {
    assert.equal(
      codeOf(() => checkFileName(name)),
      'document.name_invalid',
      JSON.stringify(name),
    );
  }
  for (const name of ['Шарт №12.pdf', 'Өтінім (2).docx', '😀 план.xlsx', '.hidden']) {
    assert.equal(
      codeOf(() => checkFileName(name)),
      undefined,
      name,
    );
  }
});
