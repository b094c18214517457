// tus request headers: Upload-Metadata and Upload-Checksum as the protocol writes them, byte
// counts, and the file-name rules; random input only ever gives a coded refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isUppError } from '../../src/domain/errors.js';
import {
  byteCount,
  parseUploadChecksum,
  parseUploadMetadata,
  safeFilename,
} from '../../src/files/tus-headers.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function refusedWith(code: string) {
  return (error: unknown) => isUppError(error) && error.code === code;
}

test('Upload-Metadata: the tus 1.0 specification example, UTF-8 values, empty values', () => {
  assert.deepEqual(
    parseUploadMetadata('filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential'),
    { filename: 'world_domination_plan.pdf', is_confidential: '' },
  );
  assert.deepEqual(parseUploadMetadata(`filename ${b64('Шарт №5.pdf')}, lang ${b64('kk')}`), {
    filename: 'Шарт №5.pdf',
    lang: 'kk',
  });
  assert.deepEqual(parseUploadMetadata(undefined), {});
});

test('Upload-Metadata: repeated keys, bad base64, spaces and invalid UTF-8 are refused', () => {
  for (const header of [
    `a ${b64('x')},a ${b64('y')}`,
    'a !!!',
    'a b c',
    `a  ${b64('x')}`,
    `k\u00e9y ${b64('x')}`,
    `name ${Buffer.from([0xff, 0xfe]).toString('base64')}`,
    'x'.repeat(5000),
  ]) {
    assert.throws(() => parseUploadMetadata(header), refusedWith('upload.bad_metadata'), header);
  }
});

test('Upload-Checksum: algorithm and base64 digest; unknown algorithms have their own code', () => {
  const checksum = parseUploadChecksum('sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=');
  assert.equal(checksum?.algorithm, 'sha1');
  assert.equal(checksum?.digest.toString('hex'), '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed');
  assert.equal(parseUploadChecksum(undefined), undefined);
  assert.throws(() => parseUploadChecksum('md5 AAAA'), refusedWith('upload.checksum_unsupported'));
  assert.throws(() => parseUploadChecksum('sha1'), refusedWith('upload.bad_checksum'));
});

test('byte counts are whole non-negative numbers within 2^53 - 1', () => {
  assert.equal(byteCount('0', 'Upload-Offset'), 0);
  assert.equal(byteCount('2147483648', 'Upload-Length'), 2147483648);
  assert.equal(byteCount(undefined, 'Upload-Length'), undefined);
  for (const bad of ['-1', '1.5', '1e3', ' 1', '', '99999999999999999']) {
    assert.throws(() => byteCount(bad, 'Upload-Length'), refusedWith('upload.bad_header'), bad);
  }
});

test('file names: Kazakh and Russian kept (NFC), traversal and control characters refused', () => {
  assert.equal(safeFilename('Қазақстан – шарт.pdf'), 'Қазақстан – шарт.pdf');
  assert.equal(safeFilename('Й.txt'.normalize('NFD')), 'Й.txt');
  assert.equal(safeFilename(`${'a'.repeat(251)}.pdf`).length, 255);
  for (const bad of [
    undefined,
    '',
    '..',
    '../a.pdf',
    'a/b',
    'a\\b',
    'nul\u0000.pdf',
    'tab\t.pdf',
    'del\u007f.pdf',
    'c1\u0085.pdf',
    'rlo\u202e.pdf',
    ' lead.pdf',
    'trail.',
    'a:b.pdf',
    'aux.pdf',
    `${'a'.repeat(252)}.pdf`,
    `${'ә'.repeat(127)}.pdf`,
  ]) {
    assert.throws(() => safeFilename(bad), refusedWith('upload.bad_name'), JSON.stringify(bad));
  }
});

test('fuzz: header parsers and the name check only ever refuse with a code', () => {
  let inputs = 0;
  const coded = (run: () => unknown) => {
    inputs += 1;
    try {
      run();
    } catch (error) {
      assert.ok(isUppError(error), String(error));
    }
  };
  fc.assert(
    fc.property(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      (a, b) => {
        coded(() => parseUploadMetadata(a));
        coded(() => parseUploadMetadata(`filename ${b64(b)},${a}`));
        coded(() => parseUploadChecksum(a));
        coded(() => byteCount(a, 'Upload-Offset'));
        coded(() => safeFilename(b));
      },
    ),
    { numRuns: 1500 },
  );
  console.log(`fuzz tus headers: ${inputs} inputs`);
});
