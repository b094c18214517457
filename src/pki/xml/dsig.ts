// XMLDSig verification for enveloped signatures as NCALayer/Kalkan make them and for WS-Security
// SOAP messages: references, transforms, digests, SignedInfo, SignatureValue and the signer.
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import type { Attr, Document, Element, Node } from '@xmldom/xmldom';
import { digest, SIGNATURE_ALGORITHM_OIDS, verifySignature } from '../algorithms.js';
import { parseCertificate, type Certificate } from '../certificate.js';
import { PkiError } from '../errors.js';
import { c14nMethods, canonicalize, type C14nMethod } from './c14n.js';
import {
  DSIG_NS,
  ENVELOPED_SIGNATURE,
  EXC_C14N_NS,
  signatureMethodByUri,
  WSSE_NS,
  WSU_NS,
  X509V3_TOKEN,
  xmlDigestMethods,
  type XmlSignatureMethod,
} from './algorithms.js';
import { NodeKind, parseXml, XML_NS, type XmlLimits } from './parse.js';

export interface XmlIssue {
  readonly code: string;
  readonly message: string;
}

export interface XmlReferenceCheck {
  readonly uri: string;
  /** What the reference signs: the whole document or one element's subtree. */
  readonly covers: 'document' | 'element';
  /** Qualified name of the signed element when `covers` is 'element'. */
  readonly element?: string;
  readonly digestValid: boolean;
}

export interface XmlSignatureCheck {
  /** Position of the signature in document order, from 0. */
  readonly index: number;
  /** True when every reference digest matches and SignatureValue verifies with the certificate. */
  readonly signatureValid: boolean;
  /** The signer: the certificate whose key verified, else the first one KeyInfo carries. */
  readonly certificate?: Certificate;
  /** Every certificate KeyInfo carries (possible intermediates for path validation). */
  readonly certificates: readonly Certificate[];
  readonly signatureMethod?: XmlSignatureMethod;
  readonly references: readonly XmlReferenceCheck[];
  readonly errors: readonly XmlIssue[];
}

export interface XmlCheckOptions {
  limits?: Partial<XmlLimits>;
  /** Certificates to find the signer among besides those in KeyInfo. */
  certificates?: readonly Certificate[];
  /** Most ds:Signature elements checked in one document (default 16). */
  maxSignatures?: number;
  /** Most references over all signatures (default 64): each one canonicalizes a subset. */
  maxReferences?: number;
  /** Most nodes canonicalized over all references and SignedInfos (default 600,000). */
  maxCanonicalNodes?: number;
}

const MAX_TRANSFORMS = 8;
const MAX_KEYINFO_CERTIFICATES = 8;
const MAX_CANDIDATES = 4;

function keyFits(method: XmlSignatureMethod, certificate: Certificate): boolean {
  const key = certificate.profile.algorithm;
  return method.signature.startsWith('rsa-') ? key === 'rsa' : key === method.signature;
}
const ID_ATTRIBUTES: readonly [string | null, string][] = [
  [null, 'Id'],
  [null, 'ID'],
  [null, 'id'],
  [WSU_NS, 'Id'],
  [XML_NS, 'id'],
];

function fault(code: string, message: string): PkiError {
  return new PkiError(code, message);
}

function elementChildren(element: Element): Element[] {
  const out: Element[] = [];
  for (let child = element.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === NodeKind.element) out.push(child as Element);
  }
  return out;
}

function childrenNamed(element: Element, ns: string, localName: string): Element[] {
  return elementChildren(element).filter((c) => c.namespaceURI === ns && c.localName === localName);
}

function requiredChild(element: Element, localName: string): Element {
  const found = childrenNamed(element, DSIG_NS, localName);
  if (found.length !== 1 || !found[0]) {
    throw fault(
      'xml.signature_malformed',
      `${element.localName} needs exactly one ds:${localName}`,
    );
  }
  return found[0];
}

function algorithmOf(element: Element): string {
  const algorithm = element.getAttribute('Algorithm');
  if (!algorithm) throw fault('xml.signature_malformed', `${element.localName} has no Algorithm`);
  return algorithm;
}

/** Strict base64 of an element's text; whitespace (line breaks, `&#13;`) is ignored. */
export function base64Content(element: Element): Uint8Array {
  const text = (element.textContent ?? '').replace(/[ \t\r\n]+/g, '');
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw fault('xml.signature_malformed', `${element.localName} is not valid base64`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function idIndex(document: Document): Map<string, Element[]> {
  const index = new Map<string, Element[]>();
  const all = document.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) {
    const element = all.item(i);
    if (!element) continue;
    for (const [ns, name] of ID_ATTRIBUTES) {
      const attr: Attr | null =
        ns === null ? element.getAttributeNode(name) : element.getAttributeNodeNS(ns, name);
      if (!attr || (ns === null && attr.namespaceURI)) continue;
      const list: Element[] = index.get(attr.value) ?? [];
      if (!list.includes(element)) list.push(element);
      index.set(attr.value, list);
    }
  }
  return index;
}

function elementById(ids: Map<string, Element[]>, id: string): Element {
  const found = ids.get(id) ?? [];
  if (found.length > 1) {
    throw fault('xml.duplicate_id', `more than one element has the Id "${id.slice(0, 100)}"`);
  }
  if (!found[0])
    throw fault('xml.reference_not_found', `no element has the Id "${id.slice(0, 100)}"`);
  return found[0];
}

interface Dereferenced {
  apex: Document | Element;
  /** Same-document references without XPointer leave comments out of the node set. */
  comments: boolean;
}

function dereference(
  uri: string | null,
  document: Document,
  ids: Map<string, Element[]>,
): Dereferenced {
  if (uri === null) {
    throw fault('xml.unsupported_reference', 'a Reference without URI is not supported');
  }
  if (uri === '') return { apex: document, comments: false };
  if (uri === '#xpointer(/)') return { apex: document, comments: true };
  const xpointer = /^#xpointer\(id\((['"])([^'"]*)\1\)\)$/.exec(uri);
  if (xpointer) return { apex: elementById(ids, xpointer[2] ?? ''), comments: true };
  if (uri.startsWith('#') && uri.length > 1 && !uri.includes('(')) {
    return { apex: elementById(ids, uri.slice(1)), comments: false };
  }
  throw fault(
    'xml.unsupported_reference',
    `only same-document references are supported: ${uri.slice(0, 100)}`,
  );
}

function inclusivePrefixes(method: Element): string[] | undefined {
  const list = childrenNamed(method, EXC_C14N_NS, 'InclusiveNamespaces')[0];
  const prefixes = list?.getAttribute('PrefixList');
  return prefixes ? prefixes.split(/\s+/).filter((p) => p !== '') : undefined;
}

interface TransformPlan {
  enveloped: boolean;
  c14n?: { method: C14nMethod; prefixes?: string[] };
}

function planTransforms(reference: Element): TransformPlan {
  const plan: TransformPlan = { enveloped: false };
  const container = childrenNamed(reference, DSIG_NS, 'Transforms');
  if (container.length > 1) throw fault('xml.signature_malformed', 'more than one ds:Transforms');
  const transforms = container[0] ? childrenNamed(container[0], DSIG_NS, 'Transform') : [];
  if (container[0] && transforms.length === 0) {
    throw fault('xml.signature_malformed', 'ds:Transforms without ds:Transform');
  }
  if (transforms.length > MAX_TRANSFORMS) {
    throw fault('xml.unsupported_transform', `more than ${MAX_TRANSFORMS} transforms`);
  }
  for (const transform of transforms) {
    const algorithm = algorithmOf(transform);
    if (plan.c14n) {
      // Anything after canonicalization would need the octets parsed again.
      throw fault('xml.unsupported_transform', `transform after canonicalization: ${algorithm}`);
    }
    const method = c14nMethods[algorithm];
    if (algorithm === ENVELOPED_SIGNATURE) {
      plan.enveloped = true;
    } else if (method) {
      const prefixes = method.exclusive ? inclusivePrefixes(transform) : undefined;
      plan.c14n = prefixes ? { method, prefixes } : { method };
    } else {
      throw fault('xml.unsupported_transform', `unsupported transform ${algorithm.slice(0, 200)}`);
    }
  }
  return plan;
}

function isWhitespaceText(node: Node): boolean {
  return (
    (node.nodeType === NodeKind.text && /^[ \t\r\n]*$/.test(node.nodeValue ?? '')) ||
    node.nodeType === NodeKind.comment
  );
}

/**
 * Signatures appended after `signature` as its following siblings, Kalkan's order for co-signing.
 * Empty when anything but signatures (and whitespace) follows it.
 */
function laterSignatures(signature: Element): Element[] {
  const later: Element[] = [];
  for (let node = signature.nextSibling; node; node = node.nextSibling) {
    if (isWhitespaceText(node)) continue;
    const element = node as Element;
    if (node.nodeType !== NodeKind.element || element.namespaceURI !== DSIG_NS) return [];
    if (element.localName !== 'Signature') return [];
    later.push(element);
  }
  return later;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function transformedOctets(
  target: Dereferenced,
  plan: TransformPlan,
  excluded: ReadonlySet<Node>,
  budget: { nodes: number },
): Uint8Array {
  const method = plan.c14n?.method ?? { exclusive: false, withComments: false };
  const text = canonicalize(target.apex, {
    exclusive: method.exclusive,
    withComments: method.withComments && target.comments,
    excluded,
    budget,
    ...(plan.c14n?.prefixes ? { inclusivePrefixes: plan.c14n.prefixes } : {}),
  });
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

function checkReference(
  reference: Element,
  signature: Element,
  document: Document,
  ids: Map<string, Element[]>,
  budget: { nodes: number },
): XmlReferenceCheck {
  const uri = reference.hasAttribute('URI') ? reference.getAttribute('URI') : null;
  const target = dereference(uri, document, ids);
  const plan = planTransforms(reference);
  const digestUri = algorithmOf(requiredChild(reference, 'DigestMethod'));
  const digestName = xmlDigestMethods[digestUri];
  if (!digestName) {
    throw fault('algorithm.unsupported', `unsupported DigestMethod ${digestUri.slice(0, 200)}`);
  }
  const expected = base64Content(requiredChild(reference, 'DigestValue'));
  const exclusions: Set<Node>[] = [new Set(plan.enveloped ? [signature] : [])];
  if (plan.enveloped && target.apex === document) {
    const later = laterSignatures(signature);
    if (later.length > 0) exclusions.push(new Set([signature, ...later]));
  }
  const digestValid = exclusions.some((excluded) =>
    sameBytes(digest(digestName, transformedOctets(target, plan, excluded, budget)), expected),
  );
  const covers = target.apex === document ? 'document' : 'element';
  return {
    uri: uri ?? '',
    covers,
    ...(covers === 'element' ? { element: (target.apex as Element).nodeName } : {}),
    digestValid,
  };
}

/** Parsed KeyInfo certificates by their base64: the same signers come back again and again. */
const certificateCache = new Map<string, Certificate>();
const CERTIFICATE_CACHE_LIMIT = 256;

function certificateFrom(bytes: Uint8Array, issues: XmlIssue[]): Certificate | undefined {
  const key = Buffer.from(bytes).toString('base64');
  const cached = certificateCache.get(key);
  if (cached) return cached;
  try {
    const certificate = parseCertificate(bytes);
    if (certificateCache.size >= CERTIFICATE_CACHE_LIMIT) certificateCache.clear();
    certificateCache.set(key, certificate);
    return certificate;
  } catch (error) {
    const code = error instanceof PkiError ? error.code : 'cert.malformed';
    issues.push({ code, message: `KeyInfo certificate: ${(error as Error).message}` });
    return undefined;
  }
}

/** Certificates of KeyInfo: X509Data/X509Certificate, or a WS-Security token reference. */
function keyInfoCertificates(
  signature: Element,
  ids: Map<string, Element[]>,
  issues: XmlIssue[],
): Certificate[] {
  const keyInfo = childrenNamed(signature, DSIG_NS, 'KeyInfo')[0];
  if (!keyInfo) return [];
  const encoded: Element[] = [];
  for (const data of childrenNamed(keyInfo, DSIG_NS, 'X509Data')) {
    encoded.push(...childrenNamed(data, DSIG_NS, 'X509Certificate'));
  }
  for (const tokenReference of childrenNamed(keyInfo, WSSE_NS, 'SecurityTokenReference')) {
    for (const identifier of childrenNamed(tokenReference, WSSE_NS, 'KeyIdentifier')) {
      if (identifier.getAttribute('ValueType') === X509V3_TOKEN) encoded.push(identifier);
    }
    for (const pointer of childrenNamed(tokenReference, WSSE_NS, 'Reference')) {
      const uri = pointer.getAttribute('URI') ?? '';
      if (!uri.startsWith('#')) continue;
      const token = elementById(ids, uri.slice(1));
      if (token.namespaceURI === WSSE_NS && token.localName === 'BinarySecurityToken') {
        encoded.push(token);
      }
    }
  }
  const certificates: Certificate[] = [];
  for (const element of encoded.slice(0, MAX_KEYINFO_CERTIFICATES)) {
    const certificate = certificateFrom(base64Content(element), issues);
    if (certificate) certificates.push(certificate);
  }
  return certificates;
}

/**
 * GOST signature and digest values in XML have the byte layout of CMS (digest bytes as the hash
 * function gives them, signature r then s little-endian): Kalkan's XMLDSig algorithm classes hand
 * the JCE provider's raw output through, and a Kalkan-made GOST 2015-512 signature verifies so.
 */
function verifySignatureValue(
  method: XmlSignatureMethod,
  certificate: Certificate,
  signedInfo: Uint8Array,
  value: Uint8Array,
): boolean {
  const algorithm = new AlgorithmIdentifier({
    algorithm: SIGNATURE_ALGORITHM_OIDS[method.signature],
  });
  return verifySignature(algorithm, certificate.spki, signedInfo, value);
}

interface SignatureContext {
  document: Document;
  ids: Map<string, Element[]>;
  options: XmlCheckOptions;
  referenceBudget: { left: number };
  c14nBudget: { nodes: number };
}

function checkSignature(
  signature: Element,
  index: number,
  context: SignatureContext,
): XmlSignatureCheck {
  const errors: XmlIssue[] = [];
  const references: XmlReferenceCheck[] = [];
  let certificates: Certificate[] = [];
  let certificate: Certificate | undefined;
  let method: XmlSignatureMethod | undefined;
  let signatureValid = false;
  try {
    const signedInfo = requiredChild(signature, 'SignedInfo');
    const valueElement = requiredChild(signature, 'SignatureValue');
    const c14nElement = requiredChild(signedInfo, 'CanonicalizationMethod');
    const c14nUri = algorithmOf(c14nElement);
    const c14n = c14nMethods[c14nUri];
    if (!c14n) throw fault('algorithm.unsupported', `unsupported c14n ${c14nUri.slice(0, 200)}`);
    const methodUri = algorithmOf(requiredChild(signedInfo, 'SignatureMethod'));
    method = signatureMethodByUri(methodUri);
    if (!method) {
      throw fault(
        'algorithm.unsupported',
        `unsupported SignatureMethod ${methodUri.slice(0, 200)}`,
      );
    }
    const referenceElements = childrenNamed(signedInfo, DSIG_NS, 'Reference');
    if (referenceElements.length === 0) throw fault('xml.signature_malformed', 'no ds:Reference');
    context.referenceBudget.left -= referenceElements.length;
    if (context.referenceBudget.left < 0) {
      throw fault('xml.too_large', 'the document has too many signature references');
    }
    for (const reference of referenceElements) {
      const check = checkReference(
        reference,
        signature,
        context.document,
        context.ids,
        context.c14nBudget,
      );
      references.push(check);
      if (!check.digestValid) {
        errors.push({
          code: 'digest.mismatch',
          message: `digest of Reference "${check.uri.slice(0, 100)}" differs`,
        });
      }
    }
    certificates = keyInfoCertificates(signature, context.ids, errors);
    const chosenMethod = method;
    // Only keys of the method's family are tried, and few of them: each GOST check is costly.
    const candidates = [...certificates, ...(context.options.certificates ?? [])]
      .filter((c) => keyFits(chosenMethod, c))
      .slice(0, MAX_CANDIDATES);
    const prefixes = c14n.exclusive ? inclusivePrefixes(c14nElement) : undefined;
    const signedBytes = Buffer.from(
      canonicalize(signedInfo, {
        ...c14n,
        budget: context.c14nBudget,
        ...(prefixes ? { inclusivePrefixes: prefixes } : {}),
      }),
      'utf8',
    );
    const value = base64Content(valueElement);
    certificate = candidates.find((c) => verifySignatureValue(chosenMethod, c, signedBytes, value));
    if (certificate) {
      signatureValid = errors.length === 0;
    } else if (candidates.length === 0) {
      certificate = certificates[0];
      const message = certificate
        ? `the KeyInfo certificate holds no ${chosenMethod.name} key`
        : 'no certificate to check the signature';
      errors.push({ code: certificate ? 'signature.invalid' : 'xml.signer_not_found', message });
    } else {
      certificate = candidates[0];
      errors.push({ code: 'signature.invalid', message: 'SignatureValue does not verify' });
    }
  } catch (error) {
    if (!(error instanceof PkiError) || error.code === 'xml.too_large') throw error;
    errors.push({ code: error.code, message: error.message });
    signatureValid = false;
  }
  return {
    index,
    signatureValid,
    ...(certificate ? { certificate } : {}),
    certificates,
    ...(method ? { signatureMethod: method } : {}),
    references,
    errors,
  };
}

/** Every ds:Signature element of the document, in document order. */
export function signatureElements(document: Document): Element[] {
  const list = document.getElementsByTagNameNS(DSIG_NS, 'Signature');
  const out: Element[] = [];
  for (let i = 0; i < list.length; i++) {
    const element = list.item(i);
    if (element) out.push(element);
  }
  return out;
}

/**
 * Checks every ds:Signature of an XML document, in document order. Throws PkiError for documents
 * that cannot be read (xml.*) or that carry no signature (`xml.no_signature`); faults of one
 * signature are reported in its `errors` instead.
 */
export function checkXmlSignatures(
  input: string | Uint8Array | Document,
  options: XmlCheckOptions = {},
): XmlSignatureCheck[] {
  const document =
    typeof input === 'string' || input instanceof Uint8Array
      ? parseXml(input, options.limits)
      : input;
  const signatures = signatureElements(document);
  if (signatures.length === 0) throw fault('xml.no_signature', 'the document has no ds:Signature');
  const maxSignatures = options.maxSignatures ?? 16;
  if (signatures.length > maxSignatures) {
    throw fault('xml.too_large', `the document has more than ${maxSignatures} signatures`);
  }
  const context: SignatureContext = {
    document,
    ids: idIndex(document),
    options,
    referenceBudget: { left: options.maxReferences ?? 64 },
    c14nBudget: { nodes: options.maxCanonicalNodes ?? 600_000 },
  };
  return signatures.map((signature, index) => checkSignature(signature, index, context));
}
