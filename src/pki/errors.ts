// Failures of the signature module, each with a stable code (for example `cms.malformed`,
// `signature.invalid`, `cert.expired`). The module knows nothing of HTTP or procurement.

export class PkiError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkiError';
    this.code = code;
  }
}
