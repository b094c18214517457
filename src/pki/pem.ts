// Accepts certificates, CRLs and other DER objects as raw DER, PEM or bare base64 and turns
// them into DER bytes; writes DER back as PEM for files and logs.

import { PkiError } from './errors.js';

/** Biggest object the module accepts (a large CRL fits comfortably). */
export const MAX_DER_BYTES = 16 * 1024 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64_TEXT = /^[A-Za-z0-9+/=\s]+$/;

function decodeBase64(text: string, code: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64_TEXT.test(compact) || /=[^=]/.test(compact)) {
    throw new PkiError(code, 'not valid base64');
  }
  return Uint8Array.from(Buffer.from(compact, 'base64'));
}

/**
 * DER bytes of `input`. Binary input starting with a SEQUENCE tag is taken as DER; text is read as
 * PEM (the first block, or the block with `label` when given) or as bare base64.
 */
export function toDer(
  input: Uint8Array | string,
  label?: string,
  code = 'der.malformed',
): Uint8Array {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new PkiError(code, 'input must be bytes or text');
  }
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size === 0) throw new PkiError(code, 'empty input');
  if (size > MAX_DER_BYTES * 2) throw new PkiError(code, 'input too large');
  if (typeof input !== 'string') {
    if (input[0] === 0x30) return checkSize(input, code);
    input = Buffer.from(input).toString('latin1');
  }
  const text = input.trim();
  if (text.includes('-----BEGIN')) {
    for (const match of text.matchAll(PEM_BLOCK)) {
      const [, blockLabel = '', body = ''] = match;
      if (label === undefined || blockLabel === label) {
        return checkSize(decodeBase64(stripPemHeaders(body), code), code);
      }
    }
    throw new PkiError(code, label ? `no PEM block labelled ${label}` : 'unterminated PEM block');
  }
  return checkSize(decodeBase64(text, code), code);
}

function stripPemHeaders(body: string): string {
  // RFC 1421 style headers ("Proc-Type: ...") precede a blank line; they carry no DER.
  return body.includes(':') ? body.replace(/^[\s\S]*?\r?\n\r?\n/, '') : body;
}

function checkSize(der: Uint8Array, code: string): Uint8Array {
  if (der.length === 0) throw new PkiError(code, 'empty DER');
  if (der.length > MAX_DER_BYTES) throw new PkiError(code, 'DER input too large');
  return der;
}

/** PEM text with 64-character lines, as RFC 7468 prescribes. */
export function toPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
