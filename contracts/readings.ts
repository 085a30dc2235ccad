// What a device may send, and the ranges a reading must fall in to be believable.
// Payload: one reading, or a batch {"seq": n, "readings": [ ... ]}. The identity comes from the
// topic (MQTT) or the credential (HTTP) and is written into each landing record.

/** Readings of a product that did not exist before 2015 are clock errors (or seconds, not ms). */
export const MIN_READING_TIME_MS = Date.UTC(2015, 0, 1)
/** a device clock may run ahead, but not by more than this (ms) */
export const MAX_FUTURE_SKEW_MS = 24 * 3_600_000
export const DISTANCE_RANGE = Object.freeze({ min: 0, max: 10_000 })
/** accelerometer axes, in the units the phone app sends (the published data: -1, 0, 1) */
export const AXIS_LIMIT = 1_000
export const MAX_BATCH_READINGS = 1000

export interface StepTrainerReading { sensorReadingTime: number, distanceFromObject: number }
export interface AccelerometerReading { timestamp: number, x: number, y: number, z: number }

/** Why the gateway refused a message or a reading (recorded in the ledger, counted in /metrics). */
export const REJECT_REASONS = Object.freeze({
  invalid_json: 'the payload is not JSON',
  oversized: 'the payload is larger than the limit',
  not_a_reading: 'the payload is neither a reading object nor a {seq, readings} batch',
  bad_seq: 'seq is not a non-negative integer',
  batch_too_large: `a batch holds more than ${MAX_BATCH_READINGS} readings`,
  missing_field: 'a required field is absent',
  wrong_type: 'a field has the wrong JSON type',
  out_of_range: 'a value is outside its believable range',
  invalid_text: 'a text field holds a lone UTF-16 surrogate (half of an emoji cut by truncation): no landing line can carry it',
  identity_mismatch: 'the reading names another device than the one sending it',
  rate_limited: 'the device sent faster than its rate limit allows: not acknowledged (MQTT: the connection is closed; HTTP: 429), the device sends it again',
  overloaded: 'the outbox (or the state disk) was full: not acknowledged (MQTT: the connection is closed; HTTP: 503), the device sends it again',
  connection_closed: 'the connection closed while the message waited to be taken: not acknowledged, the device sends it again',
  request_refused: 'a customer record sent in a request that was refused for another record\'s problems'
} as const)
export type RejectReason = keyof typeof REJECT_REASONS
