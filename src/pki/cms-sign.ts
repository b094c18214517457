// Creates CMS SignedData as NCA RK tools do (contentType, messageDigest, signingTime and
// ESS signing-certificate-v2 signed attributes; RSA and GOST), and adds co-signers to one.
import { createHash } from 'node:crypto';
import { bytesEqual, decodeBer, der, TAG, tlvContent } from './ber.js';
import type { Certificate } from './certificate.js';
import { CMS_OIDS, parseCms } from './cms.js';
import { PkiError } from './errors.js';
import { keyDigest, privateKeyMatches, signatureParts, signData } from './keys.js';
import type { PrivateKey } from './keys.js';

export interface CmsSigner {
  readonly privateKey: PrivateKey;
  readonly certificate: Certificate;
  /** Issuing CA certificates to carry in the message. */
  readonly chain?: readonly Certificate[];
}

export interface SignCmsOptions {
  readonly content: Uint8Array;
  /** Leave the content out of the message (a detached signature). */
  readonly detached: boolean;
  readonly signers: readonly CmsSigner[];
  readonly signingTime: Date;
  /** eContentType; id-data by default. */
  readonly contentType?: string;
  /** Carry signer and chain certificates (default true). */
  readonly includeCertificates?: boolean;
  /** Makes a signatureTimeStampToken for a signature value (e.g. TimeStampAuthority). */
  readonly timestamp?: (signature: Uint8Array) => Uint8Array;
}

interface BuiltSigner {
  readonly signerInfo: Uint8Array;
  readonly digestAlgorithm: Uint8Array;
  readonly certificates: Uint8Array[];
}

/** What a signer's certificate contributes to every signature, encoded once per certificate. */
interface SignerParts {
  /** Raw serial INTEGER, taken from the DER so leading zeros stay as issued. */
  serial: Uint8Array;
  signingCertificateV2: Uint8Array;
}

const signerParts = new WeakMap<Certificate, SignerParts>();

function partsOf(certificate: Certificate): SignerParts {
  const known = signerParts.get(certificate);
  if (known !== undefined) return known;
  const tbs = decodeBer(certificate.tbs, 'cert.malformed');
  const offset = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
  const serial = tbs.children[offset];
  if (serial?.tag !== TAG.integer) throw new PkiError('cert.malformed', 'certificate serial');
  const hash = createHash('sha256').update(certificate.der).digest();
  const issuerSerial = der.sequence(
    der.sequence(der.explicit(4, certificate.issuerDer)),
    serial.bytes,
  );
  const parts = {
    serial: serial.bytes,
    signingCertificateV2: der.sequence(
      der.sequence(der.sequence(der.octetString(hash), issuerSerial)),
    ),
  };
  signerParts.set(certificate, parts);
  return parts;
}

function attribute(oid: string, value: Uint8Array): Uint8Array {
  return der.sequence(der.oid(oid), der.set(value));
}

/** Certificates each key was found to belong to: the platform signs every receipt with one. */
const belongs = new WeakMap<PrivateKey, WeakSet<Certificate>>();

function keyBelongs(privateKey: PrivateKey, certificate: Certificate): boolean {
  if (belongs.get(privateKey)?.has(certificate) === true) return true;
  if (!privateKeyMatches(privateKey, certificate.der)) return false;
  const known = belongs.get(privateKey) ?? new WeakSet<Certificate>();
  known.add(certificate);
  belongs.set(privateKey, known);
  return true;
}

function buildSigner(
  signer: CmsSigner,
  content: Uint8Array,
  contentType: string,
  signingTime: Date,
  timestamp: SignCmsOptions['timestamp'],
): BuiltSigner {
  const { privateKey, certificate } = signer;
  if (!keyBelongs(privateKey, certificate)) {
    throw new PkiError('sign.key_mismatch', 'the private key does not belong to the certificate');
  }
  const parts = signatureParts(privateKey.algorithm);
  const attributes = [
    attribute(CMS_OIDS.contentType, der.oid(contentType)),
    attribute(CMS_OIDS.signingTime, der.time(signingTime)),
    attribute(CMS_OIDS.messageDigest, der.octetString(keyDigest(privateKey.algorithm, content))),
    attribute(CMS_OIDS.signingCertificateV2, partsOf(certificate).signingCertificateV2),
  ];
  const signedSet = der.setOf(attributes);
  const signature = signData(privateKey, signedSet);
  const unsigned =
    timestamp === undefined
      ? []
      : [
          der.implicitConstructed(
            1,
            attribute(CMS_OIDS.signatureTimeStampToken, timestamp(signature)),
          ),
        ];
  const signerInfo = der.sequence(
    der.integer(1),
    der.sequence(certificate.issuerDer, partsOf(certificate).serial),
    parts.digestAlgorithm,
    der.implicitConstructed(0, tlvContent(signedSet)),
    parts.signatureAlgorithm,
    der.octetString(signature),
    ...unsigned,
  );
  return {
    signerInfo,
    digestAlgorithm: parts.digestAlgorithm,
    certificates: [certificate.der, ...(signer.chain ?? []).map((c) => c.der)],
  };
}

function unique(items: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const item of items) if (!out.some((o) => bytesEqual(o, item))) out.push(item);
  return out;
}

function signedData(parts: {
  contentType: string;
  encapsulated: Uint8Array;
  digestAlgorithms: readonly Uint8Array[];
  certificates: readonly Uint8Array[];
  crls?: readonly Uint8Array[];
  signerInfos: readonly Uint8Array[];
}): Uint8Array {
  const certificates = unique(parts.certificates);
  const crls = parts.crls ?? [];
  const content = der.sequence(
    der.integer(parts.contentType === CMS_OIDS.data ? 1 : 3),
    der.setOf(unique(parts.digestAlgorithms)),
    parts.encapsulated,
    ...(certificates.length > 0
      ? [der.implicitConstructed(0, tlvContent(der.setOf(certificates)))]
      : []),
    ...(crls.length > 0 ? [der.implicitConstructed(1, tlvContent(der.setOf(crls)))] : []),
    der.setOf(parts.signerInfos),
  );
  return der.sequence(der.oid(CMS_OIDS.signedData), der.explicit(0, content));
}

/** Signs `content` with every signer; returns DER ContentInfo(SignedData). */
export function signCms(options: SignCmsOptions): Uint8Array {
  if (options.signers.length === 0) throw new PkiError('sign.no_signer', 'no signer given');
  const contentType = options.contentType ?? CMS_OIDS.data;
  const built = options.signers.map((s) =>
    buildSigner(s, options.content, contentType, options.signingTime, options.timestamp),
  );
  const encapsulated = der.sequence(
    der.oid(contentType),
    ...(options.detached ? [] : [der.explicit(0, der.octetString(options.content))]),
  );
  return signedData({
    contentType,
    encapsulated,
    digestAlgorithms: built.map((b) => b.digestAlgorithm),
    certificates: options.includeCertificates === false ? [] : built.flatMap((b) => b.certificates),
    signerInfos: built.map((b) => b.signerInfo),
  });
}

export interface AddCosignerOptions {
  readonly signer: CmsSigner;
  readonly signingTime: Date;
  /** The content of a detached message. */
  readonly content?: Uint8Array;
  readonly timestamp?: (signature: Uint8Array) => Uint8Array;
}

/**
 * Adds a signer to existing SignedData, keeping the present signers byte for byte. The
 * existing signatures are not checked here: verify before or after as the case needs.
 */
export function addCmsSigner(input: Uint8Array | string, options: AddCosignerOptions): Uint8Array {
  const cms = parseCms(input);
  const content = options.content ?? cms.content;
  if (content === undefined) {
    throw new PkiError('cms.content_missing', 'detached message: the content is needed');
  }
  if (options.content !== undefined && cms.content !== undefined) {
    if (!bytesEqual(options.content, cms.content)) {
      throw new PkiError('content.mismatch', 'the given content differs from the attached one');
    }
  }
  const built = buildSigner(
    options.signer,
    content,
    cms.contentType,
    options.signingTime,
    options.timestamp,
  );
  return signedData({
    contentType: cms.contentType,
    encapsulated: cms.encapsulatedContentInfo,
    digestAlgorithms: [...cms.digestAlgorithms.map((d) => d.bytes), built.digestAlgorithm],
    certificates: [...cms.certificates.map((c) => c.der), ...built.certificates],
    crls: cms.crls,
    signerInfos: [...cms.signers.map((s) => s.bytes), built.signerInfo],
  });
}
