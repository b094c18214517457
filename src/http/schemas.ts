// JSON schemas shared by routes: signed requests, identifiers, and answers.

export const signedRequestSchema = (payload: object) =>
  ({
    type: 'object',
    required: ['payload', 'signature'],
    additionalProperties: false,
    properties: {
      payload,
      signature: {
        type: 'string',
        minLength: 16,
        maxLength: 262_144,
        description: 'CMS over the RFC 8785 form of payload: base64 or PEM, attached or detached',
      },
    },
  }) as const;

export const nonceProperty = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;
export const uuidProperty = { type: 'string', format: 'uuid' } as const;
export const iinProperty = { type: 'string', pattern: '^\\d{12}$' } as const;

export const rightsProperty = {
  type: 'array',
  maxItems: 4,
  uniqueItems: true,
  items: {
    type: 'string',
    enum: ['sign_applications', 'sign_contracts', 'sign_payments', 'manage_users'],
  },
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: uuidProperty },
} as const;

export const problemResponses = {
  400: { $ref: 'problem#' },
  401: { $ref: 'problem#' },
  403: { $ref: 'problem#' },
  404: { $ref: 'problem#' },
  409: { $ref: 'problem#' },
  422: { $ref: 'problem#' },
  503: { $ref: 'problem#' },
} as const;

/** A change that answers nothing but its status. */
export const doneResponses = {
  204: { type: 'null', description: 'done' },
  ...problemResponses,
} as const;
