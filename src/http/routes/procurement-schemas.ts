// JSON schemas of plans, announcements and outages shared by their routes.
import { METHOD_CODES, REGIMES } from '../../domain/procurement-methods.js';
import { FUNDING_SOURCES } from '../../services/plans.js';
import { nonceProperty, uuidProperty } from '../schemas.js';

export const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
export const instantProperty = { type: 'string', format: 'date-time', maxLength: 40 } as const;
export const tengeProperty = {
  type: 'string',
  pattern: '^\\d{1,15}(\\.\\d{1,2})?$',
  description: 'tenge, up to two decimals',
} as const;
export const titlesProperty = {
  type: 'object',
  required: ['kk', 'ru', 'en'],
  additionalProperties: false,
  properties: { kk: text(1000), ru: text(1000), en: text(1000) },
} as const;

const itemProperties = {
  ensTru: { type: 'string', pattern: '^\\d{6}\\.\\d{3}\\.\\d{6}$' },
  names: titlesProperty,
  unit: { type: 'string', pattern: '^\\d{3,4}$', description: 'unit code of the classifier' },
  quantity: { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,3})?$' },
  unitPrice: tengeProperty,
  month: { type: 'integer', minimum: 1, maximum: 12 },
  kato: { type: 'string', pattern: '^\\d{9}$' },
  deliveryPlace: text(500),
  fundingSource: { type: 'string', enum: [...FUNDING_SOURCES] },
  regime: { type: 'string', enum: [...REGIMES] },
  method: { type: 'string', enum: [...METHOD_CODES] },
} as const;

export const planItemSchema = {
  type: 'object',
  required: Object.keys(itemProperties),
  additionalProperties: false,
  properties: itemProperties,
} as const;

export const planItemChangeSchema = {
  type: 'object',
  required: ['itemId'],
  additionalProperties: false,
  properties: { itemId: uuidProperty, ...itemProperties },
} as const;

/** The frame of every signed payload: the action, a fresh nonce and who acts. */
export function signedPayload(
  action: string,
  properties: Record<string, object>,
  required: string[],
) {
  return {
    type: 'object',
    required: ['action', 'nonce', 'participantId', ...required],
    additionalProperties: false,
    properties: {
      action: { type: 'string', const: action },
      nonce: nonceProperty,
      participantId: uuidProperty,
      ...properties,
    },
  } as const;
}

export const documentIdsProperty = {
  type: 'array',
  maxItems: 100,
  uniqueItems: true,
  items: uuidProperty,
} as const;

export const scheduleSchema = {
  type: 'object',
  properties: {
    publishedAt: { type: 'string' },
    discussionEndsAt: { type: ['string', 'null'] },
    offersEndAt: { type: 'string' },
    reviewEndsAt: { type: 'string' },
  },
} as const;
