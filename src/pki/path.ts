// Certification path validation (RFC 5280 essentials): builds a chain from a certificate to a
// configured trust anchor and checks names, validity, CA constraints, key usage and signatures.

import { verifySignature } from './algorithms.js';
import type { Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import type { KeyPurpose } from './profile.js';
import {
  issuerCandidates,
  type TrustedThirdParty,
  type TrustStore,
  type TtpAnswer,
} from './trust.js';

export interface PathError {
  code: string;
  message: string;
}

export interface PathOptions {
  trust: TrustStore;
  /** Extra CA certificates that may complete the chain (e.g. those carried in a CMS). */
  intermediates?: Certificate[];
  /** The moment the path must be valid at. */
  at: Date;
  /** Consulted for chains that end outside the trust store (foreign CAs). */
  ttp?: TrustedThirdParty;
  /** When given, the end certificate must be for this purpose (`cert.wrong_purpose`). */
  purpose?: Exclude<KeyPurpose, 'unknown'>;
}

export interface PathResult {
  trusted: boolean;
  /** End certificate first, anchor (or last certificate found) last. */
  chain: Certificate[];
  /** Common name (or full subject) of the anchor when the chain reached one. */
  anchor?: string;
  errors: PathError[];
  /** Set when the chain ends at a foreign CA and the TTP was asked. */
  ttp?: TtpAnswer;
}

/** Longest chain tried; NCA chains have three certificates. */
const MAX_CHAIN_LENGTH = 8;
/** Alternative anchored chains kept per end certificate (renewed CAs give several). */
const MAX_ALTERNATIVES = 4;
const CACHE_LIMIT = 2000;
/** Signature checks one path search may spend (many same-named CAs cannot stall it). */
const MAX_LINKS_TRIED = 64;

interface LinkCheck {
  ok: boolean;
  code?: string;
  message?: string;
}

interface BuiltChains {
  anchored: Certificate[][];
  /** Best partial chain when no anchor was reached, with why it stopped. */
  partial?: { chain: Certificate[]; error: PathError };
}

class BoundedCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

const linkCache = new BoundedCache<LinkCheck>(CACHE_LIMIT * 4);
const chainCache = new BoundedCache<BuiltChains>(CACHE_LIMIT);

/** Statistics of the caches, for tests and metrics. */
export const pathCacheStats = { linkChecks: 0, linkHits: 0, chainBuilds: 0, chainHits: 0 };

export function clearPathCache(): void {
  linkCache.clear();
  chainCache.clear();
}

function label(cert: Certificate): string {
  return cert.subject.commonName ?? cert.subject.text;
}

/** Whether `issuer`'s key made the signature on `cert` (cached per pair of certificates). */
export function checkLink(cert: Certificate, issuer: Certificate): LinkCheck {
  const key = `${cert.fingerprintSha256}:${issuer.fingerprintSha256}`;
  const cached = linkCache.get(key);
  if (cached) {
    pathCacheStats.linkHits++;
    return cached;
  }
  pathCacheStats.linkChecks++;
  let result: LinkCheck;
  const outer = cert.asn.signatureAlgorithm;
  const inner = cert.asn.tbsCertificate.signature;
  if (outer.algorithm !== inner.algorithm) {
    result = {
      ok: false,
      code: 'chain.signature_invalid',
      message: `${label(cert)}: signature algorithm differs inside and outside the certificate`,
    };
  } else {
    try {
      const signature = new Uint8Array(cert.asn.signatureValue);
      result = verifySignature(outer, issuer.spki, cert.tbs, signature)
        ? { ok: true }
        : {
            ok: false,
            code: 'chain.signature_invalid',
            message: `${label(cert)}: signature does not verify with the key of ${label(issuer)}`,
          };
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      result = { ok: false, code: error.code, message: `${label(cert)}: ${error.message}` };
    }
  }
  linkCache.set(key, result);
  return result;
}

function buildChains(leaf: Certificate, trust: TrustStore, extra: Certificate[]): BuiltChains {
  const pool = [...trust.roots, ...trust.intermediates, ...extra];
  const anchored: Certificate[][] = [];
  let partial: BuiltChains['partial'];
  const offerPartial = (chain: Certificate[], error: PathError): void => {
    if (!partial || chain.length > partial.chain.length) partial = { chain: [...chain], error };
  };
  let budget = MAX_LINKS_TRIED;
  const walk = (chain: Certificate[]): void => {
    if (anchored.length >= MAX_ALTERNATIVES || budget <= 0) return;
    const current = chain[chain.length - 1] as Certificate;
    if (trust.isAnchor(current)) {
      anchored.push([...chain]);
      return;
    }
    if (chain.length >= MAX_CHAIN_LENGTH) {
      offerPartial(chain, { code: 'cert.untrusted', message: 'certification path is too long' });
      return;
    }
    const used = new Set(chain.map((cert) => cert.fingerprintSha256));
    const candidates = issuerCandidates(current, pool).filter(
      (cert) => !used.has(cert.fingerprintSha256),
    );
    // Anchors first, so the shortest trusted path is found before detours.
    candidates.sort((a, b) => Number(trust.isAnchor(b)) - Number(trust.isAnchor(a)));
    if (candidates.length === 0) {
      const message = current.selfIssued
        ? `${label(current)} is not a trusted root`
        : `the issuer of ${label(current)} (${current.issuer.text}) is not known`;
      offerPartial(chain, { code: 'cert.untrusted', message });
      return;
    }
    for (const issuer of candidates) {
      if (--budget < 0) {
        offerPartial(chain, { code: 'cert.untrusted', message: 'too many candidate issuers' });
        return;
      }
      const link = checkLink(current, issuer);
      if (!link.ok) {
        offerPartial(chain, {
          code: link.code ?? 'chain.signature_invalid',
          message: link.message ?? 'signature does not verify',
        });
        continue;
      }
      walk([...chain, issuer]);
    }
  };
  walk([leaf]);
  return partial === undefined || anchored.length > 0 ? { anchored } : { anchored, partial };
}

function cachedChains(leaf: Certificate, trust: TrustStore, extra: Certificate[]): BuiltChains {
  const extraKey = extra
    .map((cert) => cert.fingerprintSha256)
    .sort()
    .join(',');
  const key = `${trust.id}|${leaf.fingerprintSha256}|${extraKey}`;
  const cached = chainCache.get(key);
  if (cached) {
    pathCacheStats.chainHits++;
    return cached;
  }
  pathCacheStats.chainBuilds++;
  const built = buildChains(leaf, trust, extra);
  chainCache.set(key, built);
  return built;
}

/** Checks of a built chain that depend on the moment and on the certificates' own fields. */
function chainErrors(
  chain: Certificate[],
  at: Date,
  purpose: PathOptions['purpose'],
  anchored: boolean,
): PathError[] {
  const errors: PathError[] = [];
  chain.forEach((cert, index) => {
    if (at < cert.notBefore) {
      errors.push({
        code: 'cert.not_yet_valid',
        message: `${label(cert)} is valid from ${cert.notBefore.toISOString()}`,
      });
    } else if (at > cert.notAfter) {
      errors.push({
        code: 'cert.expired',
        message: `${label(cert)} expired on ${cert.notAfter.toISOString()}`,
      });
    }
    const unhandled = cert.unhandledCriticalExtensions;
    if (unhandled.length > 0) {
      errors.push({
        code: 'cert.unsupported_critical_extension',
        message: `${label(cert)} has unsupported critical extensions: ${unhandled.join(', ')}`,
      });
    }
    if (index === 0) return;
    // A v1 trust anchor has no extensions to check; the configuration vouches for it.
    const version = cert.asn.tbsCertificate.version;
    if (anchored && index === chain.length - 1 && version === 0) return;
    if (!cert.isCa) {
      errors.push({ code: 'chain.not_ca', message: `${label(cert)} is not a CA certificate` });
    }
    if (cert.keyUsage.length > 0 && !cert.keyUsage.includes('keyCertSign')) {
      errors.push({
        code: 'chain.key_usage',
        message: `${label(cert)} may not sign certificates (keyUsage)`,
      });
    }
    if (cert.pathLen !== undefined) {
      const below = chain.slice(1, index).filter((item) => !item.selfIssued).length;
      if (below > cert.pathLen) {
        errors.push({
          code: 'chain.path_length',
          message: `${label(cert)} allows ${cert.pathLen} CAs below it, the path has ${below}`,
        });
      }
    }
  });
  const leaf = chain[0];
  if (purpose && leaf && leaf.profile.keyPurpose !== purpose) {
    errors.push({
      code: 'cert.wrong_purpose',
      message: `${label(leaf)} is a ${leaf.profile.keyPurpose} key, not a ${purpose} key`,
    });
  }
  return errors;
}

/** Path validation against the trust store only (no TTP); synchronous. */
export function validatePathOffline(
  leaf: Certificate,
  options: Omit<PathOptions, 'ttp'>,
): PathResult {
  const built = cachedChains(leaf, options.trust, options.intermediates ?? []);
  let best: PathResult | undefined;
  for (const chain of built.anchored) {
    const errors = chainErrors(chain, options.at, options.purpose, true);
    const anchor = chain[chain.length - 1] as Certificate;
    const result: PathResult = {
      trusted: errors.length === 0,
      chain,
      anchor: label(anchor),
      errors,
    };
    if (result.trusted) return result;
    if (!best || errors.length < best.errors.length) best = result;
  }
  if (best) return best;
  const partial = built.partial ?? {
    chain: [leaf],
    error: { code: 'cert.untrusted', message: 'no certification path found' },
  };
  const errors = [partial.error, ...chainErrors(partial.chain, options.at, options.purpose, false)];
  return { trusted: false, chain: partial.chain, errors };
}

/**
 * Path validation: a trusted chain to an anchor of the trust store or, for chains that end at a
 * foreign CA with every link verified, the TTP's confirmation.
 */
export async function validatePath(leaf: Certificate, options: PathOptions): Promise<PathResult> {
  const result = validatePathOffline(leaf, options);
  if (result.trusted || !options.ttp) return result;
  const top = result.chain[result.chain.length - 1] as Certificate;
  const onlyUntrusted =
    result.errors.filter((error) => error.code !== 'cert.untrusted').length === 0 &&
    result.errors.length === 1;
  // The TTP judges foreign CAs: it is asked only when every link verified and the sole fault is
  // that the chain ends outside the trust store.
  if (!onlyUntrusted || result.chain.length < 2) return result;
  const answer = await options.ttp.confirm(result.chain, options.at);
  if (answer !== 'confirmed') {
    return {
      ...result,
      ttp: answer,
      errors: [{ code: 'cert.untrusted', message: `TTP did not confirm ${label(top)}` }],
    };
  }
  return { trusted: true, chain: result.chain, anchor: label(top), errors: [], ttp: answer };
}
