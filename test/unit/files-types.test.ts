// Declared file types against magic bytes: the allowed list, split-archive volumes, and content
// that contradicts its type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isUppError } from '../../src/domain/errors.js';
import { SAMPLE_BYTES, checkContent, declaredKinds } from '../../src/files/file-types.js';

const SAMPLES: Record<string, Buffer> = {
  pdf: Buffer.from('%PDF-1.4\n%âãÏÓ\n'),
  zip: Buffer.from('504b0304140000000800', 'hex'),
  jpeg: Buffer.from('ffd8ffe000104a464946', 'hex'),
  png: Buffer.from('89504e470d0a1a0a0000000d', 'hex'),
  tiffLittle: Buffer.from('49492a0008000000', 'hex'),
  tiffBig: Buffer.from('4d4d002a00000008', 'hex'),
  xml: Buffer.from('\ufeff<?xml version="1.0"?><a>Ә</a>'),
  text: Buffer.from('Хабарландыру\r\n\tмәтін\n'),
  // ContentInfo: SEQUENCE { OID 1.2.840.113549.1.7.2 ... }, long and indefinite lengths.
  cms: Buffer.from('308206a106092a864886f70d010702', 'hex'),
  cmsBer: Buffer.from('308006092a864886f70d010702a080', 'hex'),
};

function accepts(filename: string, filetype: string | null, content: Buffer): boolean {
  try {
    checkContent(declaredKinds(filename, filetype), content, true);
    return true;
  } catch (error) {
    assert.ok(isUppError(error) && error.code === 'upload.type_mismatch', String(error));
    return false;
  }
}

test('each allowed type accepts its own magic bytes, by media type and by extension', () => {
  const cases: [string, string | null, Buffer][] = [
    ['a.pdf', 'application/pdf', SAMPLES.pdf!],
    ['a.zip', 'application/zip', SAMPLES.zip!],
    [
      'a.docx',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      SAMPLES.zip!,
    ],
    ['a.xlsx', null, SAMPLES.zip!],
    ['a.jpg', 'image/jpeg', SAMPLES.jpeg!],
    ['a.PNG', null, SAMPLES.png!],
    ['a.tif', 'image/tiff', SAMPLES.tiffLittle!],
    ['a.tiff', null, SAMPLES.tiffBig!],
    ['a.xml', 'text/xml; charset=utf-8', SAMPLES.xml!],
    ['a.txt', 'text/plain', SAMPLES.text!],
    ['a.p7s', 'application/pkcs7-signature', SAMPLES.cms!],
    ['a.cms', null, SAMPLES.cmsBer!],
    ['a.bin', 'application/pdf', SAMPLES.pdf!],
  ];
  for (const [name, type, content] of cases) assert.equal(accepts(name, type, content), true, name);
});

test('content of another type contradicts the declaration', () => {
  assert.equal(accepts('a.pdf', 'application/pdf', SAMPLES.png!), false);
  assert.equal(accepts('a.png', 'application/pdf', SAMPLES.pdf!), false, 'name says PNG');
  assert.equal(accepts('a.docx', null, SAMPLES.pdf!), false);
  assert.equal(accepts('a.txt', null, Buffer.from([0x61, 0x00, 0x62])), false);
  assert.equal(accepts('a.txt', null, Buffer.from([0xc3, 0x28])), false);
  assert.equal(accepts('a.xml', null, Buffer.from('not xml')), false);
  assert.equal(accepts('a.p7s', null, SAMPLES.zip!), false);
  assert.equal(accepts('a.jpg', null, SAMPLES.png!), false);
});

test('split archives: .zip.001 must be a ZIP, later volumes carry any bytes', () => {
  assert.equal(accepts('лот.zip.001', null, SAMPLES.zip!), true);
  assert.equal(accepts('лот.zip.001', null, SAMPLES.pdf!), false);
  assert.equal(accepts('лот.zip.002', 'application/octet-stream', SAMPLES.pdf!), true);
  assert.equal(accepts('лот.zip.117', 'application/zip', Buffer.from([0, 1, 2])), true);
});

test('a text sample cut inside a multi-byte letter is still text', () => {
  const text = Buffer.from('ә'.repeat(SAMPLE_BYTES));
  const cut = text.subarray(0, SAMPLE_BYTES - 1);
  assert.equal(cut.toString('utf8').endsWith('\ufffd'), true);
  checkContent(declaredKinds('a.txt', null), cut, false);
  assert.throws(() => checkContent(declaredKinds('a.txt', null), cut, true));
});

test('types not on the list, or no type at all, are refused before any byte is sent', () => {
  for (const [name, type] of [
    ['setup.exe', 'application/x-msdownload'],
    ['a.pdf', 'image/gif'],
    ['README', null],
    ['archive.rar', 'application/octet-stream'],
  ] as const) {
    assert.throws(
      () => declaredKinds(name, type),
      (error) => isUppError(error) && error.code === 'upload.type_not_allowed',
      name,
    );
  }
});

test('fuzz: random content is accepted or refused with upload.type_mismatch, never a crash', () => {
  let inputs = 0;
  fc.assert(
    fc.property(
      fc.constantFrom('a.pdf', 'a.zip', 'a.jpg', 'a.png', 'a.tif', 'a.xml', 'a.txt', 'a.p7s'),
      fc.uint8Array({ maxLength: 64 }),
      fc.boolean(),
      (name, bytes, whole) => {
        inputs += 1;
        try {
          checkContent(declaredKinds(name, null), Buffer.from(bytes), whole);
        } catch (error) {
          assert.ok(isUppError(error) && error.code === 'upload.type_mismatch');
        }
      },
    ),
    { numRuns: 2000 },
  );
  console.log(`fuzz file types: ${inputs} inputs`);
});
