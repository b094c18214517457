// XMLDSig signing as NCALayer/Kalkan do it: an enveloped ds:Signature appended as the root's last
// child (URI="", enveloped + c14n transforms, X509Certificate); on a signed document it co-signs.
import { sign as nodeSign } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { digest } from '../algorithms.js';
import { parseCertificate, type Certificate } from '../certificate.js';
import { PkiError } from '../errors.js';
import { privateKeyMatches, signData, type PrivateKey } from '../keys.js';
import {
  C14N,
  C14N_WITH_COMMENTS,
  DSIG_NS,
  ENVELOPED_SIGNATURE,
  signatureMethodByName,
  type XmlSignatureMethod,
  type XmlSignatureMethodName,
} from './algorithms.js';
import { canonicalize } from './c14n.js';
import { signatureElements } from './dsig.js';
import { parseXml, rootElementEnd, xmlText, type XmlLimits } from './parse.js';

export interface SignXmlOptions {
  privateKey: PrivateKey;
  /** The signer's certificate (DER, PEM/base64 text, or parsed); it must match the key. */
  certificate: Certificate | Uint8Array | string;
  /** Defaults to the key's own: rsa-sha256 for RSA, the GOST algorithm of a GOST key. */
  algorithm?: XmlSignatureMethodName;
  limits?: Partial<XmlLimits>;
}

const SIGNATURE_VALUE_MARK = '\u0000signature-value\u0000';

/** Base64 in 76-character lines ending CR LF, the CR escaped, as Kalkan's serializer writes it. */
function wrapBase64(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('base64');
  return text.match(/.{1,76}/g)?.join('&#13;\n') ?? '';
}

function chooseMethod(key: PrivateKey, requested?: XmlSignatureMethodName): XmlSignatureMethod {
  const method = signatureMethodByName(
    requested ?? (key.algorithm === 'rsa' ? 'rsa-sha256' : key.algorithm),
  );
  const fits =
    key.algorithm === 'rsa' ? method.name.startsWith('rsa-') : method.name === key.algorithm;
  if (!fits) {
    throw new PkiError(
      'sign.key_mismatch',
      `a ${key.algorithm} key cannot sign with ${method.name}`,
    );
  }
  return method;
}

function signatureText(
  method: XmlSignatureMethod,
  digestValue: Uint8Array,
  certificate: Certificate,
): string {
  return [
    `<ds:Signature xmlns:ds="${DSIG_NS}">`,
    '<ds:SignedInfo>',
    `<ds:CanonicalizationMethod Algorithm="${C14N}"/>`,
    `<ds:SignatureMethod Algorithm="${method.uri}"/>`,
    '<ds:Reference URI="">',
    '<ds:Transforms>',
    `<ds:Transform Algorithm="${ENVELOPED_SIGNATURE}"/>`,
    `<ds:Transform Algorithm="${C14N_WITH_COMMENTS}"/>`,
    '</ds:Transforms>',
    `<ds:DigestMethod Algorithm="${method.digestUri}"/>`,
    `<ds:DigestValue>${Buffer.from(digestValue).toString('base64')}</ds:DigestValue>`,
    '</ds:Reference>',
    '</ds:SignedInfo>',
    '<ds:SignatureValue>',
    SIGNATURE_VALUE_MARK,
    '</ds:SignatureValue>',
    '<ds:KeyInfo>',
    '<ds:X509Data>',
    '<ds:X509Certificate>',
    wrapBase64(certificate.der),
    '</ds:X509Certificate>',
    '</ds:X509Data>',
    '</ds:KeyInfo>',
    '</ds:Signature>',
  ].join('\n');
}

function signBytes(key: PrivateKey, method: XmlSignatureMethod, data: Uint8Array): Uint8Array {
  if (key.algorithm === 'rsa') return new Uint8Array(nodeSign(method.digest, data, key.keyObject));
  return signData(key, data);
}

/**
 * Adds an enveloped signature to `xml` and returns the signed document as text. The original
 * text is kept byte for byte; the signature goes in just before the root's end tag.
 */
export function signXml(xml: string | Uint8Array, options: SignXmlOptions): string {
  const text = xmlText(xml, options.limits);
  const document = parseXml(text, options.limits);
  const certificate =
    typeof options.certificate === 'string' || options.certificate instanceof Uint8Array
      ? parseCertificate(options.certificate)
      : options.certificate;
  if (!privateKeyMatches(options.privateKey, certificate.der)) {
    throw new PkiError('sign.key_mismatch', 'the private key does not belong to the certificate');
  }
  const method = chooseMethod(options.privateKey, options.algorithm);
  // URI="" leaves comments out, and the new signature is not there yet: the digest is final.
  const content = canonicalize(document, { exclusive: false, withComments: false });
  const digestValue = digest(method.digest, Buffer.from(content, 'utf8'));

  const end = rootElementEnd(text);
  const signature = signatureText(method, digestValue, certificate);
  const [head, tail] = signature.split(SIGNATURE_VALUE_MARK) as [string, string];
  const before = end.selfClosing ? `${text.slice(0, end.offset)}>` : text.slice(0, end.offset);
  const after = end.selfClosing
    ? `</${end.name}>${text.slice(end.offset + 2)}`
    : text.slice(end.offset);

  // SignedInfo inherits namespaces and xml:* attributes from the root, so it is canonicalized
  // in place, in the document as it will be.
  const draft = parseXml(before + head + tail + after, options.limits);
  const placed = signatureElements(draft)
    .filter((s) => s.parentNode === draft.documentElement)
    .pop();
  const signedInfo = placed
    ?.getElementsByTagNameNS(DSIG_NS, 'SignedInfo')
    .item(0) as Element | null;
  if (!signedInfo) throw new PkiError('xml.malformed', 'the new signature could not be placed');
  const signedBytes = Buffer.from(
    canonicalize(signedInfo, { exclusive: false, withComments: false }),
    'utf8',
  );
  const value = signBytes(options.privateKey, method, signedBytes);
  return before + head + wrapBase64(value) + tail + after;
}
