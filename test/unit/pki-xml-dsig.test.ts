// XMLDSig verification against the NCA RK vectors (enveloped RSA, WS-Security SOAP) and a GOST
// 2015-512 signature made with the NCA test key, plus tampering, signature wrapping and fuzzing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { checkXmlSignatures } from '../../src/pki/xml/dsig.js';
import { signXml } from '../../src/pki/xml/sign.js';
import { PkiError } from '../../src/pki/errors.js';
import { vectorSigner } from './pki-sign-fixtures.js';

const vectors = new URL('../../../shared/kz-eds-vectors/xml/', import.meta.url);
const rsaXml = readFileSync(new URL('xml_signed_rsa_1signer.xml', vectors), 'utf8');
const soapXml = readFileSync(new URL('soap_wsse_signed.xml', vectors), 'utf8');
const gostXml = signXml('<xml>test</xml>', vectorSigner('gost2015-512'));

function codes(xml: string): string[] {
  return checkXmlSignatures(xml).flatMap((check) => check.errors.map((e) => e.code));
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `vector lacks ${from}`);
  return text.replace(from, to);
}

test('NCA vector: enveloped RSA-SHA256 signature over <a><b>test</b></a> is valid', () => {
  const [check, ...rest] = checkXmlSignatures(rsaXml);
  assert.equal(rest.length, 0);
  assert.ok(check);
  assert.deepEqual(check.errors, []);
  assert.equal(check.signatureValid, true);
  assert.equal(check.signatureMethod?.name, 'rsa-sha256');
  assert.deepEqual(check.references, [{ uri: '', covers: 'document', digestValid: true }]);
  assert.equal(check.certificate?.profile.iin, '123456789011');
  assert.equal(check.certificate?.notBefore.toISOString(), '2021-01-18T13:09:14.000Z');
});

test('NCA vector: WS-Security SOAP body signature (exclusive c14n) is valid', () => {
  const [check] = checkXmlSignatures(soapXml);
  assert.ok(check);
  assert.deepEqual(check.errors, []);
  assert.equal(check.signatureValid, true);
  assert.deepEqual(check.references, [
    {
      uri: '#id-0ace83d4-0477-4890-90b2-50b3bd434949',
      covers: 'element',
      element: 'SOAP-ENV:Body',
      digestValid: true,
    },
  ]);
  assert.equal(check.certificate?.profile.iin, '123456789011');
});

/** The signed document with the base64 text of `element` replaced by its bytes reversed. */
function withReversed(xml: string, element: string): string {
  const text = new RegExp(`<ds:${element}>([^<]*)</ds:${element}>`).exec(xml)?.[1];
  assert.ok(text !== undefined, `no ds:${element}`);
  const bytes = Buffer.from(text.replace(/&#13;|\s/g, ''), 'base64');
  assert.ok(bytes.length >= 64);
  return xml.replace(text, bytes.reverse().toString('base64'));
}

// The layout (digest as the CMS messageDigest holds it, r then s little-endian) was confirmed
// once against a GOST 2015-512 XML signature that Kalkan itself produced; here the NCA RK test
// key signs, and the RFC 4491 order (every byte string reversed) must not verify.
test('GOST 2015-512 XML: DigestValue and SignatureValue use the CMS byte layout', () => {
  const [check, ...rest] = checkXmlSignatures(gostXml);
  assert.equal(rest.length, 0);
  assert.ok(check);
  assert.deepEqual(check.errors, []);
  assert.equal(check.signatureValid, true);
  assert.equal(check.signatureMethod?.name, 'gost2015-512');
  assert.equal(check.certificate?.profile.algorithm, 'gost2015-512');
  assert.equal(check.certificate?.profile.iin, '123456789012');
  assert.deepEqual(check.references, [{ uri: '', covers: 'document', digestValid: true }]);
  assert.deepEqual(codes(withReversed(gostXml, 'DigestValue')), [
    'digest.mismatch',
    'signature.invalid',
  ]);
  assert.deepEqual(codes(withReversed(gostXml, 'SignatureValue')), ['signature.invalid']);
});

test('tampering with signed content gives digest.mismatch', () => {
  assert.deepEqual(codes(replaceOnce(rsaXml, '<b>test</b>', '<b>Test</b>')), ['digest.mismatch']);
  assert.deepEqual(codes(replaceOnce(rsaXml, '<a>', '<a x="1">')), ['digest.mismatch']);
  const body = replaceOnce(soapXml, '<iin>931002451325</iin>', '<iin>931002451326</iin>');
  assert.deepEqual(codes(body), ['digest.mismatch']);
  const [check] = checkXmlSignatures(body);
  assert.equal(check?.signatureValid, false);
  assert.equal(check?.references[0]?.digestValid, false);
});

test('comments are outside URI="" and #id node sets; the SOAP header is not covered', () => {
  assert.deepEqual(codes(replaceOnce(rsaXml, '<b>test</b>', '<b>test<!-- note --></b>')), []);
  const header = replaceOnce(soapXml, 'SOAP-ENV:mustUnderstand="1"', 'SOAP-ENV:mustUnderstand="0"');
  const [check] = checkXmlSignatures(header);
  assert.equal(check?.signatureValid, true);
  assert.equal(check?.references[0]?.covers, 'element');
});

test('tampering with SignedInfo or SignatureValue gives signature.invalid', () => {
  const rsa = replaceOnce(
    rsaXml,
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>',
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256">' +
      '</ds:SignatureMethod> ',
  );
  assert.deepEqual(codes(rsa), ['signature.invalid']);
  const value = replaceOnce(rsaXml, 'aAeSW+p2AfXts7Pf', 'aAeSW+p2AfXts7Pg');
  assert.deepEqual(codes(value), ['signature.invalid']);
  const sha1 = replaceOnce(rsaXml, 'xmldsig-more#rsa-sha256', 'xmldsig-more#rsa-sha512');
  assert.deepEqual(codes(sha1), ['signature.invalid']);
});

test('signature wrapping: a duplicated Id is refused, a missing one reported', () => {
  const duplicate = replaceOnce(
    soapXml,
    '</SOAP-ENV:Header>',
    '<x wsu:Id="id-0ace83d4-0477-4890-90b2-50b3bd434949" xmlns:wsu="http://docs.oasis-open.org/' +
      'wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"/></SOAP-ENV:Header>',
  );
  assert.deepEqual(codes(duplicate), ['xml.duplicate_id']);
  const missing = replaceOnce(soapXml, 'wsu:Id="id-0ace', 'wsu:Id="id-1ace');
  assert.deepEqual(codes(missing), ['xml.reference_not_found']);
  const escaped = replaceOnce(soapXml, 'URI="#id-0ace', 'URI="#%E0%A4%A');
  assert.deepEqual(codes(escaped), ['xml.reference_not_found']);
});

test('structural faults of one signature are reported with stable codes', () => {
  const cases: [string, string, string][] = [
    ['xmldsig-more#rsa-sha256"/>', 'xmldsig-more#rsa-md5"/>', 'algorithm.unsupported'],
    ['xmlenc#sha256"/>', 'xmlenc#md5"/>', 'algorithm.unsupported'],
    [
      '<ds:Reference URI="">',
      '<ds:Reference URI="http://example.org/">',
      'xml.unsupported_reference',
    ],
    ['<ds:Reference URI="">', '<ds:Reference>', 'xml.unsupported_reference'],
    ['xmldsig#enveloped-signature', 'TR/1999/REC-xpath-19991116', 'xml.unsupported_transform'],
    ['<ds:SignedInfo>', '<ds:Other>', 'xml.signature_malformed'],
    ['9KpJreFMA6K98mcu', '9KpJreFMA6K98mc!', 'xml.signature_malformed'],
    ['maK+pHxaV71IlHAB', 'maK+pHxaV71IlHAC', 'signature.invalid'],
    [
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"',
      'urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"',
      'signature.invalid',
    ],
    ['MIIF+zCCA+OgAwIBAgIU', 'MIIF+zCCA+OgAwIBAgIV', 'cert.malformed'],
  ];
  for (const [from, to, code] of cases) {
    const xml = replaceOnce(rsaXml, from, to).replace('</ds:SignedInfo>', (m) =>
      to === '<ds:Other>' ? '</ds:Other>' : m,
    );
    assert.ok(codes(xml).includes(code), `${to}: ${codes(xml).join()}`);
    assert.equal(checkXmlSignatures(xml)[0]?.signatureValid, false);
  }
  const noKeyInfo = rsaXml.replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '');
  assert.deepEqual(codes(noKeyInfo), ['xml.signer_not_found']);
});

test('documents without signatures or unreadable ones throw PkiError', () => {
  assert.throws(() => checkXmlSignatures('<a><b>test</b></a>'), { code: 'xml.no_signature' });
  assert.throws(() => checkXmlSignatures(rsaXml.slice(0, 500)), { code: 'xml.malformed' });
  const bomb = '<!DOCTYPE a [<!ENTITY x "x">]>' + rsaXml.slice(rsaXml.indexOf('<a>'));
  assert.throws(() => checkXmlSignatures(bomb), { code: 'xml.forbidden_dtd' });
  const many = rsaXml.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, (s) => s.repeat(40));
  assert.throws(() => checkXmlSignatures(many), { code: 'xml.too_large' });
  const references = rsaXml.replace(/<ds:Reference[\s\S]*<\/ds:Reference>/, (r) => r.repeat(3));
  assert.deepEqual(
    checkXmlSignatures(references, { maxCanonicalNodes: 100 }).map((c) => c.signatureValid),
    [false],
  );
  assert.throws(() => checkXmlSignatures(references, { maxCanonicalNodes: 10 }), {
    code: 'xml.too_large',
  });
  assert.throws(() => checkXmlSignatures(references, { maxReferences: 2 }), {
    code: 'xml.too_large',
  });
});

function mutate(text: string, edits: [number, number, string][]): string {
  let out = text;
  for (const [kind, position, piece] of edits) {
    const at = position % (out.length + 1);
    if (kind === 0) out = out.slice(0, at) + piece + out.slice(at + 1);
    else if (kind === 1) out = out.slice(0, at) + piece + out.slice(at);
    else out = out.slice(0, at) + out.slice(at + 1 + (piece.length % 8));
  }
  return out;
}

test('fuzz xml signature checks: mutated signed documents only ever give PkiError', () => {
  let tried = 0;
  let stillValid = 0;
  const pieces = fc.constantFrom(
    '<',
    '>',
    '/',
    '"',
    '=',
    'a',
    ' ',
    '\n',
    '&#13;',
    '#',
    'ds:',
    '<ds:Transform/>',
    '<ds:Reference URI="#x">',
    '</ds:Reference>',
    'Id="x"',
    '<!--c-->',
    'xmlns:ds="urn:x"',
  );
  const edit = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), pieces);
  fc.assert(
    fc.property(
      fc.constantFrom(rsaXml, soapXml, gostXml),
      fc.array(edit, { minLength: 1, maxLength: 6 }),
      (document, edits) => {
        tried += 1;
        try {
          const checks = checkXmlSignatures(mutate(document, edits));
          if (checks.every((c) => c.signatureValid)) stillValid += 1;
        } catch (error) {
          if (!(error instanceof PkiError)) throw error;
        }
      },
    ),
    { numRuns: 1500 },
  );
  console.log(`fuzz xml dsig: ${tried} inputs (${stillValid} still valid after harmless edits)`);
  assert.equal(tried, 1500);
});

test('WS-Security: InclusiveNamespaces PrefixList and a BinarySecurityToken reference', () => {
  const signer = vectorSigner('rsa');
  const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
  const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
  const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
  const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
  const DS = 'http://www.w3.org/2000/09/xmldsig#';
  const X509 =
    'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
  // Canonical forms written out by hand from the exclusive c14n rules: `m` comes from the
  // PrefixList although the Body does not use it, `unused`, `wsse` never appear.
  const bodyCanonical =
    `<soap:Body xmlns:m="urn:m" xmlns:soap="${SOAP}" xmlns:wsu="${WSU}" wsu:Id="body-1">` +
    '<m:op>Сумма 100</m:op></soap:Body>';
  const digestValue = createHash('sha256').update(bodyCanonical).digest('base64');
  const signedInfo = (ns: string, empty: (name: string, attrs: string) => string) =>
    `<ds:SignedInfo${ns}><ds:CanonicalizationMethod Algorithm="${EXC}">` +
    empty('ec:InclusiveNamespaces', ` xmlns:ec="${EXC}" PrefixList="soap"`) +
    '</ds:CanonicalizationMethod>' +
    empty('ds:SignatureMethod', ' Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"') +
    '<ds:Reference URI="#body-1"><ds:Transforms>' +
    `<ds:Transform Algorithm="${EXC}">` +
    empty('ec:InclusiveNamespaces', ` xmlns:ec="${EXC}" PrefixList="m"`) +
    '</ds:Transform></ds:Transforms>' +
    empty('ds:DigestMethod', ' Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"') +
    `<ds:DigestValue>${digestValue}</ds:DigestValue></ds:Reference></ds:SignedInfo>`;
  const canonicalSignedInfo = signedInfo(
    ` xmlns:ds="${DS}" xmlns:soap="${SOAP}"`,
    (name, attrs) => `<${name}${attrs}></${name}>`,
  );
  const key = signer.privateKey;
  assert.ok(key.algorithm === 'rsa');
  const value = createSign('sha256').update(canonicalSignedInfo).sign(key.keyObject);
  const envelope =
    `<soap:Envelope xmlns:soap="${SOAP}" xmlns:m="urn:m" xmlns:unused="urn:u"><soap:Header>` +
    `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}">` +
    `<wsse:BinarySecurityToken wsu:Id="tok" ValueType="${X509}">` +
    `${Buffer.from(signer.certificate.der).toString('base64')}</wsse:BinarySecurityToken>` +
    `<ds:Signature xmlns:ds="${DS}">` +
    signedInfo('', (name, attrs) => `<${name}${attrs}/>`) +
    `<ds:SignatureValue>${value.toString('base64')}</ds:SignatureValue>` +
    `<ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#tok" ValueType="${X509}"/>` +
    '</wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security></soap:Header>' +
    `<soap:Body xmlns:wsu="${WSU}" wsu:Id="body-1"><m:op xmlns:m="urn:m">Сумма 100</m:op>` +
    '</soap:Body></soap:Envelope>';
  const [check] = checkXmlSignatures(envelope);
  assert.deepEqual(check?.errors, []);
  assert.equal(check?.signatureValid, true);
  assert.equal(check?.certificate?.serialHex, signer.certificate.serialHex);
  const withoutPrefixList = envelope.replace('PrefixList="m"', 'PrefixList=""');
  assert.deepEqual(codes(withoutPrefixList), ['digest.mismatch', 'signature.invalid']);
});
