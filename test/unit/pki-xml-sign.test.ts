// XML signing as NCALayer/Kalkan do it: byte-identical output to the NCA RSA vector, round trips
// with RSA and every GOST algorithm, co-signing in Kalkan's order, and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { checkXmlSignatures } from '../../src/pki/xml/dsig.js';
import { signXml } from '../../src/pki/xml/sign.js';
import { gostDigest, GOST_OIDS } from '../../src/pki/gost/index.js';
import { CMS_OIDS, parseCms } from '../../src/pki/cms.js';
import { readVector, testLeaf, testRoot, vectorSigner } from './pki-sign-fixtures.js';

const vectors = new URL('../../../shared/kz-eds-vectors/xml/', import.meta.url);
const rsaVector = readFileSync(new URL('xml_signed_rsa_1signer.xml', vectors), 'utf8');
const rsa = vectorSigner('rsa');
const gost512 = vectorSigner('gost2015-512');
const gost2004 = vectorSigner('gost2004');

function validity(xml: string): boolean[] {
  return checkXmlSignatures(xml).map((check) => check.signatureValid);
}

function codes(xml: string): string[][] {
  return checkXmlSignatures(xml).map((check) => check.errors.map((e) => e.code));
}

function base64Of(xml: string, element: string, nth = 0): Buffer {
  const all = [...xml.matchAll(new RegExp(`<ds:${element}>([^<]*)</ds:${element}>`, 'g'))];
  const text = all[nth]?.[1];
  assert.ok(text !== undefined, `no ds:${element} #${nth}`);
  return Buffer.from(text.replace(/&#13;|\s/g, ''), 'base64');
}

test('RSA: signing <a><b>test</b></a> with the vector key gives the NCA vector exactly', () => {
  const input = '<?xml version="1.0" encoding="utf-8" standalone="no"?><a><b>test</b></a>';
  const signed = signXml(input, { privateKey: rsa.privateKey, certificate: rsa.certificate });
  assert.equal(signed, rsaVector);
});

test('GOST 2015-512: gostDigest gives the messageDigest of the NCA two-signer CMS sample', () => {
  const cms = parseCms(readVector('cms/cms_attached_2signers_test123.p7s'));
  const signer = cms.signers.find((s) => s.digestAlgorithmOid === GOST_OIDS['gost2015-512'].digest);
  const messageDigest = signer?.signedAttributes?.find((a) => a.oid === CMS_OIDS.messageDigest);
  const value = messageDigest?.values[0]?.value;
  assert.ok(value);
  assert.deepEqual(
    Buffer.from(gostDigest('gost2015-512', readVector('cms/test123.txt'))),
    Buffer.from(value),
  );
});

test('GOST 2015-512: the DigestValue is the CMS-layout digest and the signature verifies', () => {
  // Canonical forms written out by hand: no prolog, attributes in double quotes, empty
  // elements as start and end tags, character references resolved, CR LF as LF.
  const documents: [string, string][] = [
    ['<xml>test</xml>', '<xml>test</xml>'],
    [
      "<?xml version='1.0' encoding='UTF-8'?>\n<doc b='2' a=\"1\"><e/>&#x41;</doc>",
      '<doc a="1" b="2"><e></e>A</doc>',
    ],
    ['<r>\r\n<!-- note -->Сумма</r>', '<r>\nСумма</r>'],
  ];
  for (const [document, canonical] of documents) {
    const signed = signXml(document, {
      privateKey: gost512.privateKey,
      certificate: gost512.certificate.der,
    });
    assert.deepEqual(
      base64Of(signed, 'DigestValue'),
      Buffer.from(gostDigest('gost2015-512', Buffer.from(canonical, 'utf8'))),
      document,
    );
    assert.ok(signed.includes('gostr34102015-gostr34112015-512'));
    assert.equal(base64Of(signed, 'SignatureValue').length, 128);
    assert.deepEqual(validity(signed), [true]);
  }
});

test('GOST 34.310-2004 and GOST 2015-256 round trips with their URIs', () => {
  const signed2004 = signXml('<doc>2004</doc>', {
    privateKey: gost2004.privateKey,
    certificate: gost2004.certificate,
  });
  assert.ok(signed2004.includes('http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311'));
  assert.ok(signed2004.includes('http://www.w3.org/2001/04/xmldsig-more#gost34311'));
  assert.deepEqual(validity(signed2004), [true]);
  const root = testRoot('gost2015-256');
  const leaf = testLeaf(root, 'gost2015-256');
  const signed256 = signXml('<doc>256</doc>', leaf);
  assert.ok(signed256.includes('gostr34102015-gostr34112015-256"'));
  assert.ok(signed256.includes('gostr34112015-256"'));
  assert.equal(base64Of(signed256, 'SignatureValue').length, 64);
  assert.deepEqual(validity(signed256), [true]);
});

test('RSA with SHA-1, SHA-384 and SHA-512 URIs', () => {
  for (const algorithm of ['rsa-sha1', 'rsa-sha384', 'rsa-sha512'] as const) {
    const signed = signXml('<a/>', { ...rsa, algorithm });
    assert.ok(signed.includes(`#${algorithm}"`));
    const [check] = checkXmlSignatures(signed);
    assert.equal(check?.signatureMethod?.name, algorithm);
    assert.equal(check?.signatureValid, true);
  }
});

test('co-signing: a later signature covers the earlier ones, each verifies in Kalkan order', () => {
  const once = signXml(rsaVector, {
    privateKey: gost512.privateKey,
    certificate: gost512.certificate,
  });
  assert.ok(once.startsWith(rsaVector.slice(0, rsaVector.lastIndexOf('</a>'))));
  const twice = signXml(once, {
    privateKey: gost2004.privateKey,
    certificate: gost2004.certificate,
  });
  const checks = checkXmlSignatures(twice);
  assert.deepEqual(
    checks.map((c) => [c.signatureValid, c.signatureMethod?.name]),
    [
      [true, 'rsa-sha256'],
      [true, 'gost2015-512'],
      [true, 'gost2004'],
    ],
  );
  assert.deepEqual(
    checks.map((c) => c.certificate?.serialHex),
    [rsa.certificate.serialHex, gost512.certificate.serialHex, gost2004.certificate.serialHex],
  );
  // The second signature's digest covers the first signature: altering it breaks both.
  const first = base64Of(twice, 'SignatureValue', 0).toString('base64').slice(0, 20);
  const altered = twice.replace(/aAeSW\+p2AfXts7Pf/, 'aAeSW+p2AfXts7Pg');
  assert.notEqual(first, '');
  assert.deepEqual(codes(altered), [
    ['signature.invalid'],
    ['digest.mismatch'],
    ['digest.mismatch'],
  ]);
  // Content placed after a signature (not a later signature) breaks it.
  const inserted = once.replace('</a>', '<c/></a>');
  assert.deepEqual(codes(inserted), [['digest.mismatch'], ['digest.mismatch']]);
});

test('document shapes: prolog, namespaces, xml:lang, empty root, trailing misc, CRLF', () => {
  const documents = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- before --><?pi x?>\n<r/>\n<!-- after </r> -->\n',
    '<r xmlns="urn:default" xmlns:p="urn:p" xml:lang="kk"><p:x a="1">Тест &amp; &#x41;</p:x></r>',
    '<r>\r\n  <x><![CDATA[<raw>]]></x>\r\n</r>',
    '<ds:r xmlns:ds="urn:not-dsig"><ds:x/></ds:r>',
    '<r attr=\'single "quoted"\'><x>&lt;/r&gt;</x></r >',
  ];
  for (const document of documents) {
    const signed = signXml(document, rsa);
    assert.deepEqual(validity(signed), [true], document);
    const cosigned = signXml(signed, gost512);
    assert.deepEqual(validity(cosigned), [true, true], document);
  }
});

test('refusals: mismatched key and certificate, wrong algorithm for the key, bad input', () => {
  assert.throws(
    () => signXml('<a/>', { privateKey: rsa.privateKey, certificate: gost512.certificate }),
    {
      code: 'sign.key_mismatch',
    },
  );
  assert.throws(() => signXml('<a/>', { ...gost512, algorithm: 'gost2015-256' }), {
    code: 'sign.key_mismatch',
  });
  assert.throws(() => signXml('<a/>', { ...rsa, algorithm: 'gost2004' }), {
    code: 'sign.key_mismatch',
  });
  assert.throws(() => signXml('<a>', rsa), { code: 'xml.malformed' });
  assert.throws(() => signXml('<!DOCTYPE a><a/>', rsa), { code: 'xml.forbidden_dtd' });
});

/** Keeps characters that stand in XML text as they are (no markup, no forbidden code points). */
function xmlSafe(text: string): string {
  return Array.from(text)
    .filter((c) => {
      const p = c.codePointAt(0) ?? 0;
      const surrogate = p >= 0xd800 && p <= 0xdfff;
      return p >= 0x20 && !'<&]'.includes(c) && !surrogate && p !== 0xfffe && p !== 0xffff;
    })
    .join('');
}

test('property: any generated document signs and verifies, and any text change breaks it', () => {
  const name = fc.constantFrom('a', 'b', 'p:c', 'd');
  const text = fc.string({ maxLength: 12 }).map(xmlSafe);
  const element: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      text,
      fc
        .tuple(name, fc.array(tie('node'), { maxLength: 3 }))
        .map(([n, children]) => `<${n}>${children.join('')}</${n}>`),
    ),
  })).node;
  let runs = 0;
  fc.assert(
    fc.property(
      fc.array(element, { maxLength: 4 }),
      fc.string({ minLength: 1, maxLength: 3 }),
      (children, extra) => {
        runs += 1;
        const document = `<root xmlns:p="urn:p">${children.join('')}<z>x</z></root>`;
        const signed = signXml(document, rsa);
        assert.deepEqual(validity(signed), [true]);
        const safeExtra = xmlSafe(extra) || 'y';
        assert.deepEqual(validity(signed.replace('<z>x</z>', `<z>x${safeExtra}</z>`)), [false]);
      },
    ),
    { numRuns: 60 },
  );
  assert.equal(runs, 60);
});
