// XMLDSig algorithm URIs the module accepts, as W3C, NCA RK (pkigovkz) and Kalkan write them,
// mapped to the signature and digest names of ../algorithms.ts.
import type { DigestName, SignatureAlgorithmName } from '../algorithms.js';
import { PkiError } from '../errors.js';

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const WSU_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const WSSE_NS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const EXC_C14N_NS = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const C14N_WITH_COMMENTS = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments';
export const X509V3_TOKEN =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';

const PKIGOVKZ = 'urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:';
const MORE = 'http://www.w3.org/2001/04/xmldsig-more#';

/** The names signXml takes for the algorithm to sign with. */
export type XmlSignatureMethodName =
  | 'rsa-sha1'
  | 'rsa-sha256'
  | 'rsa-sha384'
  | 'rsa-sha512'
  | 'gost2015-256'
  | 'gost2015-512'
  | 'gost2004';

export interface XmlSignatureMethod {
  name: XmlSignatureMethodName;
  uri: string;
  signature: SignatureAlgorithmName;
  digest: DigestName;
  /** The DigestMethod URI that goes with this method in NCALayer/Kalkan output. */
  digestUri: string;
}

const GOST2015_512_DIGEST = `${PKIGOVKZ}gostr34112015-512`;
const GOST2015_256_DIGEST = `${PKIGOVKZ}gostr34112015-256`;
const GOST2004_DIGEST = `${MORE}gost34311`;

export const xmlSignatureMethods: readonly XmlSignatureMethod[] = [
  {
    name: 'rsa-sha1',
    uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    signature: 'rsa-pkcs1-sha1',
    digest: 'sha1',
    digestUri: 'http://www.w3.org/2000/09/xmldsig#sha1',
  },
  {
    name: 'rsa-sha256',
    uri: `${MORE}rsa-sha256`,
    signature: 'rsa-pkcs1-sha256',
    digest: 'sha256',
    digestUri: 'http://www.w3.org/2001/04/xmlenc#sha256',
  },
  {
    name: 'rsa-sha384',
    uri: `${MORE}rsa-sha384`,
    signature: 'rsa-pkcs1-sha384',
    digest: 'sha384',
    digestUri: `${MORE}sha384`,
  },
  {
    name: 'rsa-sha512',
    uri: `${MORE}rsa-sha512`,
    signature: 'rsa-pkcs1-sha512',
    digest: 'sha512',
    digestUri: 'http://www.w3.org/2001/04/xmlenc#sha512',
  },
  {
    name: 'gost2015-512',
    uri: `${PKIGOVKZ}gostr34102015-gostr34112015-512`,
    signature: 'gost2015-512',
    digest: 'gost2015-512',
    digestUri: GOST2015_512_DIGEST,
  },
  {
    name: 'gost2015-256',
    uri: `${PKIGOVKZ}gostr34102015-gostr34112015-256`,
    signature: 'gost2015-256',
    digest: 'gost2015-256',
    digestUri: GOST2015_256_DIGEST,
  },
  {
    name: 'gost2004',
    uri: `${MORE}gost34310-gost34311`,
    signature: 'gost2004',
    digest: 'gost2004',
    digestUri: GOST2004_DIGEST,
  },
];

/** DigestMethod URIs; a Reference may use any of them whatever the SignatureMethod. */
export const xmlDigestMethods: Readonly<Record<string, DigestName>> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  [`${MORE}sha384`]: 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
  [GOST2015_512_DIGEST]: 'gost2015-512',
  [GOST2015_256_DIGEST]: 'gost2015-256',
  [GOST2004_DIGEST]: 'gost2004',
};

export function signatureMethodByUri(uri: string): XmlSignatureMethod | undefined {
  return xmlSignatureMethods.find((m) => m.uri === uri);
}

export function signatureMethodByName(name: XmlSignatureMethodName): XmlSignatureMethod {
  const method = xmlSignatureMethods.find((m) => m.name === name);
  if (!method) throw new PkiError('algorithm.unsupported', `unknown XML signature method ${name}`);
  return method;
}
