// The one error type that crosses layers: a stable machine code, an HTTP status and a message.
// Every refusal the platform makes is one of these; the HTTP layer turns it into problem+json.

export class UppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'UppError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export function isUppError(error: unknown): error is UppError {
  return error instanceof UppError;
}
