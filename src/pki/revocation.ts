// Revocation checking: OCSP and CRL sources in a chosen order, offline inputs first, then the
// configured and certificate URLs over HTTP with timeouts and size limits, cached until nextUpdate.

import type { Certificate } from './certificate.js';
import { checkCrl, crlStatus, parseCrl, type Crl, type RevocationReason } from './crl.js';
import { PkiError } from './errors.js';
import {
  checkOcspResponse,
  createOcspRequest,
  DEFAULT_OCSP_MAX_AGE_MS,
  MAX_OCSP_BYTES,
  ocspStatusAt,
  parseOcspResponse,
  verifyOcspAnswer,
  type OcspResponse,
  type OcspResult,
  type VerifiedOcspAnswer,
} from './ocsp.js';
import { MAX_DER_BYTES } from './pem.js';

export type RevocationSource = 'ocsp' | 'crl';

export interface RevocationResult {
  status: 'good' | 'revoked' | 'unknown';
  source: RevocationSource | 'none';
  revokedAt?: Date;
  reason?: RevocationReason;
  /** Where the answer came from: 'offline', 'cache' or the URL. */
  origin?: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  body?: Uint8Array;
  contentType?: string;
  timeoutMs: number;
  maxBytes: number;
}

/** Fetches a URL's body; throws PkiError on timeout, HTTP error or oversize. */
export type HttpFetcher = (url: string, request: HttpRequest) => Promise<Uint8Array>;

export interface RevocationCheckerOptions {
  fetcher?: HttpFetcher;
  /** Per request; NCA services answer within a second or two. */
  timeoutMs?: number;
  maxCrlBytes?: number;
  maxOcspBytes?: number;
  /** CRLs (full or delta) given as files; tried before any network source. */
  offlineCrls?: (Uint8Array | Crl)[];
  /** OCSP responses given as files; tried before any network source. */
  offlineOcspResponses?: (Uint8Array | OcspResponse)[];
  /** Configured OCSP responders (e.g. http://ocsp.pki.gov.kz/), asked before the cert's own. */
  ocspUrls?: string[];
  /** Configured CRL locations, fetched before the cert's own distribution points. */
  crlUrls?: string[];
  /** Configured delta CRL locations. */
  deltaCrlUrls?: string[];
  /** Use the URLs inside certificates (AIA OCSP, CRL distribution points); default true. */
  useCertificateUrls?: boolean;
  /** Send a nonce in OCSP requests; default true. */
  nonce?: boolean;
  /** Accept an OCSP answer without the nonce sent; default false. */
  allowMissingNonce?: boolean;
  /** Usable age of OCSP responses without nextUpdate. */
  ocspMaxAgeMs?: number;
  /** How long a CRL without nextUpdate stays cached. */
  crlCacheMs?: number;
  /** The clock for cache expiry. */
  now?: () => Date;
  /** Guards fetches (e.g. to NCA hosts only): URLs come from certificates. */
  allowUrl?: (url: string) => boolean;
  /**
   * The state of the CA's records when its answers can change before their nextUpdate (an
   * in-process CA that revokes at once): a cached answer serves only while this is the same.
   */
  recordsVersion?: () => string;
}

export interface CheckOptions {
  /** Sources in the order to try them, or 'none' to skip the check. */
  sources?: RevocationSource[] | 'none';
}

export interface Attempt {
  source: RevocationSource;
  origin: string;
  code: string;
  message: string;
}

/** 'revocation.unavailable', with what was tried and why each source failed. */
export class RevocationUnavailableError extends PkiError {
  constructor(
    message: string,
    readonly attempts: Attempt[],
  ) {
    super('revocation.unavailable', message);
  }
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_CRL_CACHE_MS = 60 * 60 * 1000;
/** Statistics of the OCSP answers kept, for tests and metrics. */
export const revocationCacheStats = { ocspFetches: 0, ocspHits: 0 };

const CRL_CACHE_LIMIT = 500;
/** Verified OCSP answers are small: one per certificate of every recent signer. */
const OCSP_CACHE_LIMIT = 20_000;

function pkiCode(error: unknown): { code: string; message: string } {
  if (error instanceof PkiError) return { code: error.code, message: error.message };
  return { code: 'revocation.error', message: error instanceof Error ? error.message : 'failed' };
}

/** The default fetcher: global fetch with AbortSignal.timeout and a streamed size limit. */
export function createHttpFetcher(): HttpFetcher {
  return async (url, request) => {
    if (!/^https?:\/\//i.test(url)) {
      throw new PkiError('revocation.bad_url', `only http(s) URLs are fetched: ${url}`);
    }
    const headers: Record<string, string> = {};
    if (request.contentType) headers['content-type'] = request.contentType;
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body ? { body: request.body } : {}),
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new PkiError('revocation.http_error', `HTTP ${response.status} from ${url}`);
      }
      const declared = Number(response.headers.get('content-length') ?? '0');
      if (declared > request.maxBytes) {
        await response.body?.cancel();
        throw new PkiError('revocation.too_large', `${url} announces ${declared} bytes`);
      }
      return await readLimited(response, request.maxBytes, url);
    } catch (error) {
      if (error instanceof PkiError) throw error;
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new PkiError(
          'revocation.timeout',
          `${url} did not answer in ${request.timeoutMs} ms`,
        );
      }
      throw new PkiError('revocation.http_error', `cannot fetch ${url}`, { cause: error });
    }
  };
}

async function readLimited(response: Response, maxBytes: number, url: string) {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new PkiError('revocation.too_large', `${url} sent more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

interface CacheEntry<V> {
  value: Promise<V>;
  expires: number;
}

/** Remembers fetched CRLs and OCSP responses until they expire; concurrent callers share one. */
class ExpiringCache<V> {
  private readonly entries = new Map<string, CacheEntry<V>>();

  constructor(
    private readonly now: () => Date,
    private readonly limit: number,
  ) {}

  get(key: string): Promise<V> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores a pending value; `expiry` gives the expiry once it settles (failures are dropped). */
  put(key: string, value: Promise<V>, expiry: (settled: V) => number): Promise<V> {
    const entry: CacheEntry<V> = { value, expires: Number.POSITIVE_INFINITY };
    this.entries.set(key, entry);
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    value.then(
      (settled) => {
        entry.expires = expiry(settled);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * Checks whether a certificate is revoked. One checker is meant to live for the process (or a
 * batch), so many files signed by the same people share fetched CRLs and OCSP answers.
 */
export class RevocationChecker {
  private readonly fetcher: HttpFetcher;
  private readonly now: () => Date;
  private readonly crlCache: ExpiringCache<Crl>;
  /** Answers whose signature and CertID were verified, by issuer and certificate bytes. */
  private readonly ocspCache: ExpiringCache<VerifiedOcspAnswer>;
  private readonly offlineCrls: Crl[];
  private readonly offlineOcsp: OcspResponse[];

  constructor(private readonly options: RevocationCheckerOptions = {}) {
    const fetcher = options.fetcher ?? createHttpFetcher();
    const allowUrl = options.allowUrl;
    this.fetcher = allowUrl
      ? (url, request) =>
          allowUrl(url)
            ? fetcher(url, request)
            : Promise.reject(new PkiError('revocation.bad_url', `${url} is not allowed`))
      : fetcher;
    this.now = options.now ?? (() => new Date());
    this.crlCache = new ExpiringCache(this.now, CRL_CACHE_LIMIT);
    this.ocspCache = new ExpiringCache(this.now, OCSP_CACHE_LIMIT);
    this.offlineCrls = (options.offlineCrls ?? []).map((item) =>
      item instanceof Uint8Array ? parseCrl(item) : item,
    );
    this.offlineOcsp = (options.offlineOcspResponses ?? []).map((item) =>
      item instanceof Uint8Array ? parseOcspResponse(item) : item,
    );
  }

  /**
   * Status of `cert` (issued by `issuer`) at `at`. The first source that gives a verified answer
   * wins; PkiError('revocation.unavailable') when none could.
   */
  async check(
    cert: Certificate,
    issuer: Certificate,
    at: Date,
    options: CheckOptions = {},
  ): Promise<RevocationResult> {
    const sources = options.sources ?? ['ocsp', 'crl'];
    if (sources === 'none') return { status: 'unknown', source: 'none' };
    const attempts: Attempt[] = [];
    for (const source of sources) {
      const result =
        source === 'ocsp'
          ? await this.viaOcsp(cert, issuer, at, attempts)
          : await this.viaCrl(cert, issuer, at, attempts);
      if (result) return result;
    }
    const detail = attempts.map((item) => `${item.origin}: ${item.code}`).join('; ');
    throw new RevocationUnavailableError(
      `no revocation information for ${cert.subject.commonName ?? cert.serialHex}` +
        (detail ? ` (${detail})` : ''),
      attempts,
    );
  }

  private certificateUrls(urls: string[]): string[] {
    return this.options.useCertificateUrls === false ? [] : urls;
  }

  private async viaOcsp(
    cert: Certificate,
    issuer: Certificate,
    at: Date,
    attempts: Attempt[],
  ): Promise<RevocationResult | undefined> {
    const maxAgeMs = this.options.ocspMaxAgeMs ?? DEFAULT_OCSP_MAX_AGE_MS;
    const fromAnswer = (checks: () => OcspResult, origin: string): RevocationResult | undefined => {
      try {
        const checked = checks();
        const result: RevocationResult = { status: checked.status, source: 'ocsp', origin };
        if (checked.revokedAt) result.revokedAt = checked.revokedAt;
        if (checked.reason) result.reason = checked.reason;
        return result;
      } catch (error) {
        const problem = pkiCode(error);
        // A response about other certificates is simply not an answer for this one.
        if (problem.code !== 'ocsp.cert_mismatch' || origin !== 'offline') {
          attempts.push({ source: 'ocsp', origin, ...problem });
        }
        return undefined;
      }
    };
    const fromResponse = (response: OcspResponse, origin: string) =>
      fromAnswer(
        () =>
          checkOcspResponse(response, cert, issuer, {
            at,
            maxAgeMs,
            allowMissingNonce: this.options.allowMissingNonce ?? false,
          }),
        origin,
      );
    for (const response of this.offlineOcsp) {
      const result = fromResponse(response, 'offline');
      if (result) return result;
    }
    const version = this.options.recordsVersion?.() ?? '';
    const cacheKey = `${version}|${issuer.fingerprintSha256}:${cert.fingerprintSha256}`;
    const cached = this.ocspCache.get(cacheKey);
    if (cached) {
      const result = await cached.then(
        (answer) => fromAnswer(() => ocspStatusAt(answer, at, maxAgeMs), 'cache'),
        () => undefined,
      );
      if (result) {
        revocationCacheStats.ocspHits++;
        return result;
      }
      this.ocspCache.delete(cacheKey);
    }
    const urls = unique([...(this.options.ocspUrls ?? []), ...this.certificateUrls(cert.ocspUrls)]);
    for (const url of urls) {
      const request = createOcspRequest({ cert, issuer, nonce: this.options.nonce ?? true });
      let response: OcspResponse;
      revocationCacheStats.ocspFetches++;
      try {
        const body = await this.fetcher(url, {
          method: 'POST',
          body: request.der,
          contentType: 'application/ocsp-request',
          timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          maxBytes: this.options.maxOcspBytes ?? MAX_OCSP_BYTES,
        });
        response = parseOcspResponse(body);
      } catch (error) {
        attempts.push({ source: 'ocsp', origin: url, ...pkiCode(error) });
        continue;
      }
      let answer: VerifiedOcspAnswer | undefined;
      const result = fromAnswer(() => {
        answer = verifyOcspAnswer(response, cert, issuer, {
          nonce: request.nonce,
          allowMissingNonce: this.options.allowMissingNonce ?? false,
        });
        return ocspStatusAt(answer, at, maxAgeMs);
      }, url);
      if (!result || answer === undefined) continue;
      const single = answer.single;
      const expires = single.nextUpdate
        ? single.nextUpdate.getTime()
        : single.thisUpdate.getTime() + maxAgeMs;
      this.ocspCache.put(cacheKey, Promise.resolve(answer), () => expires);
      return result;
    }
    return undefined;
  }

  private fetchCrl(url: string): Promise<Crl> {
    const cacheKey = `${this.options.recordsVersion?.() ?? ''}|${url}`;
    const cached = this.crlCache.get(cacheKey);
    if (cached) return cached;
    const pending = this.fetcher(url, {
      method: 'GET',
      timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxBytes: this.options.maxCrlBytes ?? MAX_DER_BYTES,
    }).then((body) => parseCrl(body));
    const fallback = this.options.crlCacheMs ?? DEFAULT_CRL_CACHE_MS;
    return this.crlCache.put(
      cacheKey,
      pending,
      (crl) => crl.nextUpdate?.getTime() ?? this.now().getTime() + fallback,
    );
  }

  private async viaCrl(
    cert: Certificate,
    issuer: Certificate,
    at: Date,
    attempts: Attempt[],
  ): Promise<RevocationResult | undefined> {
    const usable = (crl: Crl, origin: string): boolean => {
      const problems = checkCrl(crl, issuer, at);
      const first = problems[0];
      if (first && (first.code !== 'crl.wrong_issuer' || origin !== 'offline')) {
        attempts.push({ source: 'crl', origin, ...first });
      }
      return problems.length === 0;
    };
    const answer = (full: Crl, origin: string, deltas: Crl[]): RevocationResult => {
      const delta = deltas
        .filter((item) => item.baseCrlNumber !== undefined && full.crlNumber !== undefined)
        .filter((item) => BigInt(item.baseCrlNumber as string) <= BigInt(full.crlNumber as string))
        .sort((a, b) => Number(BigInt(b.crlNumber ?? '0') - BigInt(a.crlNumber ?? '0')))[0];
      const status = crlStatus(full, cert.serialHex, at, delta);
      const result: RevocationResult = { status: status.status, source: 'crl', origin };
      if (status.revokedAt) result.revokedAt = status.revokedAt;
      if (status.reason) result.reason = status.reason;
      return result;
    };
    const offline = this.offlineCrls.filter((crl) => usable(crl, 'offline'));
    const offlineDeltas = offline.filter((crl) => crl.isDelta);
    const offlineFull = offline.find((crl) => !crl.isDelta);
    if (offlineFull) return answer(offlineFull, 'offline', offlineDeltas);
    const deltaUrls = unique([
      ...(this.options.deltaCrlUrls ?? []),
      ...this.certificateUrls(cert.deltaCrlUrls),
    ]);
    const urls = unique([...(this.options.crlUrls ?? []), ...this.certificateUrls(cert.crlUrls)]);
    for (const url of urls) {
      let crl: Crl;
      try {
        crl = await this.fetchCrl(url);
      } catch (error) {
        attempts.push({ source: 'crl', origin: url, ...pkiCode(error) });
        continue;
      }
      if (crl.isDelta || !usable(crl, url)) continue;
      const deltas = [...offlineDeltas];
      for (const deltaUrl of deltaUrls) {
        try {
          const delta = await this.fetchCrl(deltaUrl);
          if (delta.isDelta && usable(delta, deltaUrl)) deltas.push(delta);
        } catch (error) {
          attempts.push({ source: 'crl', origin: deltaUrl, ...pkiCode(error) });
        }
      }
      return answer(crl, url, deltas);
    }
    return undefined;
  }
}

export interface PathRevocationEntry {
  cert: Certificate;
  result?: RevocationResult;
  /** Set when the certificate is revoked or its status could not be learned. */
  error?: { code: string; message: string };
}

/**
 * Checks every certificate of a validated chain (end certificate first, anchor last) except the
 * anchor, each against the next one. Revoked gives `cert.revoked`, a CA's "not issued by me"
 * gives `cert.untrusted`, nothing obtainable gives `revocation.unavailable`.
 */
export async function checkPathRevocation(
  checker: RevocationChecker,
  chain: Certificate[],
  at: Date,
  options: CheckOptions = {},
): Promise<PathRevocationEntry[]> {
  const entries: PathRevocationEntry[] = [];
  for (let index = 0; index + 1 < chain.length; index++) {
    const cert = chain[index] as Certificate;
    const issuer = chain[index + 1] as Certificate;
    const label = cert.subject.commonName ?? cert.serialHex;
    try {
      const result = await checker.check(cert, issuer, at, options);
      const entry: PathRevocationEntry = { cert, result };
      if (result.status === 'revoked') {
        const when = result.revokedAt ? ` on ${result.revokedAt.toISOString()}` : '';
        entry.error = { code: 'cert.revoked', message: `${label} was revoked${when}` };
      } else if (result.status === 'unknown' && result.source !== 'none') {
        entry.error = {
          code: 'cert.untrusted',
          message: `${result.source} says ${label} was not issued by ${issuer.subject.text}`,
        };
      }
      entries.push(entry);
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      entries.push({ cert, error: { code: error.code, message: error.message } });
    }
  }
  return entries;
}
