// The three landing datasets, as the published STEDI data and the gateway write them.
// Everything that names a dataset, a field or a landing folder reads it from here.
import { MIN_READING_TIME_MS } from './readings.js'

export type FieldKind = 'string' | 'integer' | 'number'

export interface FieldSpec {
  readonly name: string
  readonly kind: FieldKind
  readonly required: boolean
  /** a required string must also be non-empty */
  readonly nonEmpty?: boolean
  /** an integer must also lie in [min, max) */
  readonly range?: IntegerRange
}

export interface IntegerRange { readonly min: number, readonly max: number }

/**
 * Customer dates (epoch ms) outside this range are clock errors or other units (seconds,
 * microseconds): left in, a microsecond lastUpdateDate would outrank every later update, consent
 * withdrawals included. It starts where reading times do (2015-01-01) and is fixed, not relative to
 * now, so that a run's result never depends on when it runs (the gateway, which knows the time,
 * also refuses dates more than a day ahead). The published data's dates are all in June 2022.
 */
export const CUSTOMER_DATE_RANGE_MS: IntegerRange = Object.freeze({ min: MIN_READING_TIME_MS, max: Date.UTC(2100, 0, 1) })

export const DATASET_NAMES = ['customer', 'accelerometer', 'step_trainer'] as const
export type DatasetName = (typeof DATASET_NAMES)[number]

export interface DatasetSpec {
  readonly name: DatasetName
  /** folder under the landing root, and the prefix of landing file names */
  readonly landingDir: string
  readonly fields: readonly FieldSpec[]
}

const f = (name: string, kind: FieldKind, required = false, nonEmpty = false, range?: IntegerRange): FieldSpec =>
  Object.freeze({ name, kind, required, nonEmpty, ...(range === undefined ? {} : { range }) })
const date = (name: string): FieldSpec => f(name, 'integer', false, false, CUSTOMER_DATE_RANGE_MS)

export const DATASETS: Readonly<Record<DatasetName, DatasetSpec>> = Object.freeze({
  customer: Object.freeze({
    name: 'customer',
    landingDir: 'customer/landing',
    fields: Object.freeze([
      f('customerName', 'string'),
      f('email', 'string', true, true),
      f('phone', 'string'),
      f('birthDay', 'string'),
      f('serialNumber', 'string', true),
      date('registrationDate'),
      date('lastUpdateDate'),
      date('shareWithResearchAsOfDate'),
      date('shareWithPublicAsOfDate'),
      date('shareWithFriendsAsOfDate')
    ])
  }),
  accelerometer: Object.freeze({
    name: 'accelerometer',
    landingDir: 'accelerometer/landing',
    fields: Object.freeze([
      f('user', 'string', true),
      f('timestamp', 'integer', true),
      f('x', 'number', true),
      f('y', 'number', true),
      f('z', 'number', true)
    ])
  }),
  step_trainer: Object.freeze({
    name: 'step_trainer',
    landingDir: 'step_trainer/landing',
    fields: Object.freeze([
      f('sensorReadingTime', 'integer', true),
      f('serialNumber', 'string', true),
      f('distanceFromObject', 'number', true)
    ])
  })
})

/** Landing files are NDJSON named `<dataset>-<...>.json`; anything else (a temporary file being written) is not read. */
export const LANDING_FILE_SUFFIX = '.json'

export function isLandingFileName (name: string): boolean {
  return name.endsWith(LANDING_FILE_SUFFIX) && !name.startsWith('.') && !name.startsWith('_')
}

/**
 * Why a landing line was quarantined. Field reasons carry the field: `missing_field:email`.
 * The order is the order of the checks: a line gets the first reason that applies.
 */
export const QUARANTINE_REASONS = Object.freeze({
  invalid_utf8: 'the line is not valid UTF-8',
  invalid_json: 'the line is not valid JSON',
  not_an_object: 'the line is JSON but not an object',
  duplicate_key: 'the object has the same key twice',
  missing_field: 'a required field is absent or null',
  wrong_type: 'a field has the wrong JSON type (or an integer out of the 64-bit range)',
  out_of_range: 'a customer date (epoch ms) is before 2015-01-01 or from 2100-01-01 on'
} as const)
export type QuarantineReasonCode = keyof typeof QUARANTINE_REASONS
