// JSON schemas of the HTTP API: they document every route in the OpenAPI description (/docs/json).
// Bodies are checked by the ingest validators (the same rules as MQTT, and every refusal recorded),
// not by the schema engine, which would coerce "15" into 15.
const reading = {
  step: {
    type: 'object',
    required: ['sensorReadingTime', 'distanceFromObject'],
    properties: { sensorReadingTime: { type: 'integer', description: 'epoch ms' }, distanceFromObject: { type: 'number', minimum: 0 } }
  },
  accel: {
    type: 'object',
    required: ['timestamp', 'x', 'y', 'z'],
    properties: { timestamp: { type: 'integer', description: 'epoch ms' }, x: { type: 'number' }, y: { type: 'number' }, z: { type: 'number' } }
  }
} as const

const batchOf = (item: object): object => ({
  oneOf: [item, { type: 'object', required: ['readings'], properties: { seq: { type: 'integer', minimum: 0 }, readings: { type: 'array', items: item, maxItems: 1000 } } }]
})

export const customerSchema = {
  type: 'object',
  required: ['email', 'serialNumber'],
  properties: {
    customerName: { type: 'string' },
    email: { type: 'string', minLength: 1 },
    phone: { type: 'string' },
    birthDay: { type: 'string', description: 'YYYY-MM-DD' },
    serialNumber: { type: 'string' },
    registrationDate: { type: 'integer' },
    lastUpdateDate: { type: 'integer' },
    shareWithResearchAsOfDate: { type: 'integer', description: 'absent when the customer did not consent' },
    shareWithPublicAsOfDate: { type: 'integer' },
    shareWithFriendsAsOfDate: { type: 'integer' }
  }
} as const

const rejection = {
  type: 'object',
  properties: { index: { type: ['integer', 'null'] }, reason: { type: 'string' }, detail: { type: 'string' } }
} as const

export const readingsResponse = {
  202: {
    description: 'durable: every accepted reading will land',
    type: 'object',
    properties: { seq: { type: ['integer', 'null'] }, accepted: { type: 'integer' }, duplicates: { type: 'integer' }, erased: { type: 'integer', description: 'readings of an erased customer: acknowledged, never kept' }, rejected: { type: 'array', items: rejection } }
  },
  400: { description: 'nothing acceptable; every refusal is in the ledger', type: 'object', properties: { error: { type: 'string' }, rejected: { type: 'array', items: rejection } } },
  401: { type: 'object', properties: { error: { type: 'string' } } },
  403: { type: 'object', properties: { error: { type: 'string' } } },
  429: { type: 'object', properties: { error: { type: 'string' }, retryAfterMs: { type: 'integer' } } },
  503: { type: 'object', properties: { error: { type: 'string' }, retryAfterMs: { type: 'integer' } } }
} as const

export const readingBody = { step: batchOf(reading.step), accel: batchOf(reading.accel) }

export const customersBody = { oneOf: [customerSchema, { type: 'array', items: customerSchema, maxItems: 1000 }] }

const tombstone = {
  type: 'object',
  required: ['kind', 'hash', 'erasedAt'],
  properties: {
    kind: { type: 'string', enum: ['email', 'serial'] },
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'identityHash(key, kind, value): HMAC-SHA256 of `<kind>:<value>`' },
    erasedAt: { type: 'integer', description: 'epoch ms: covers the identity\'s records dated at or before it' }
  }
} as const

export const erasureBody = {
  type: 'object',
  required: ['keyFingerprint', 'tombstones'],
  properties: { keyFingerprint: { type: 'string', description: 'keyFingerprint(key) of the key the hashes were made with' }, tombstones: { type: 'array', items: tombstone, minItems: 1 } }
} as const

const count = { type: 'object', additionalProperties: { type: 'integer' } } as const

export const erasureResponse = {
  200: {
    description: 'the receipt: per place of the state, what was rewritten and how many records went (never an identity)',
    type: 'object',
    properties: {
      keyFingerprint: { type: 'string' },
      tombstones: count,
      places: { type: 'object', additionalProperties: count },
      files: { type: 'array', items: { type: 'object', properties: { file: { type: 'string' }, bytesBefore: { type: 'integer' }, bytesAfter: { type: 'integer' } } } },
      durationMs: { type: 'integer' },
      lockedMs: { type: 'integer', description: 'of which commits and acknowledgements waited' }
    }
  },
  400: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } },
  401: { type: 'object', properties: { error: { type: 'string' } } },
  403: { type: 'object', properties: { error: { type: 'string' } } },
  409: { description: 'the gateway has no privacy key, or another one than the hashes were made with', type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } }
} as const
