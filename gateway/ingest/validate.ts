// Validates what a device or the website sends and turns each good record into its landing line
// (NDJSON with exactly the seed's fields, in the seed's order). A bad message or reading is an
// expected outcome, returned with its reason, never thrown.
import { DATASETS, type FieldSpec, type IntegerRange } from '../../contracts/datasets.js'
import {
  AXIS_LIMIT, DISTANCE_RANGE, MAX_FUTURE_SKEW_MS, MIN_READING_TIME_MS, type RejectReason
} from '../../contracts/readings.js'
import { DATASET_OF_KIND, type DeviceKind, IDENTITY_FIELD } from '../../contracts/topics.js'

export interface LandingRecord {
  /** the NDJSON line, without its newline */
  line: string
  /** the record's time (epoch ms), for ledger look-ups */
  ts: number | null
}

export interface Rejection {
  /** position in a batch; null when the whole message was refused */
  index: number | null
  reason: RejectReason
  detail: string
  ts: number | null
}

export interface ValidatedMessage {
  seq: number | null
  /** landing lines of the valid readings, in the order sent */
  lines: string[]
  minTs: number | null
  maxTs: number | null
  rejections: Rejection[]
  /** readings the message carried (valid or not) */
  readings: number
}

export interface Limits {
  maxPayloadBytes: number
  maxBatchReadings: number
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
// In /u mode a surrogate pair is one code point, so only a lone surrogate matches. JSON.stringify
// writes it as a \uD8xx escape, which no UTF-8 line can carry: the pipeline quarantines the line.
const LONE_SURROGATE = /\p{Cs}/u
const isText = (v: string): boolean => !LONE_SURROGATE.test(v)

function checkTime (v: unknown, field: string, nowMs: number): [RejectReason, string] | undefined {
  if (v === undefined || v === null) return ['missing_field', field]
  if (!isInt(v)) return ['wrong_type', `${field} must be an integer (epoch ms)`]
  if (v < MIN_READING_TIME_MS || v > nowMs + MAX_FUTURE_SKEW_MS) return ['out_of_range', `${field} ${v} is not a plausible epoch-ms time`]
  return undefined
}

function checkAxis (v: unknown, axis: 'x' | 'y' | 'z', ts: number | null): [RejectReason, string, number | null] | undefined {
  if (v === undefined || v === null) return ['missing_field', axis, ts]
  if (!isNum(v)) return ['wrong_type', `${axis} must be a number`, ts]
  if (Math.abs(v) > AXIS_LIMIT) return ['out_of_range', `${axis} ${v} is beyond ±${AXIS_LIMIT}`, ts]
  return undefined
}

/**
 * What every message of a device needs of its identity: whether it is text a line may carry, and its
 * JSON spelling. Made once per identity (a device sends thousands of messages), not per message.
 */
interface IdentityForm { text: boolean, json: string }
const identityForms = new Map<string, IdentityForm>()
const MAX_IDENTITY_FORMS = 100_000
function identityForm (identity: string): IdentityForm {
  let f = identityForms.get(identity)
  if (f === undefined) {
    f = { text: isText(identity), json: JSON.stringify(identity) }
    if (identityForms.size >= MAX_IDENTITY_FORMS) identityForms.clear()
    identityForms.set(identity, f)
  }
  return f
}

// Lines are built by hand rather than by JSON.stringify: the field order is fixed, numbers print as
// JSON prints them (String(n) for a finite number) and the identity is escaped once per message.
function validateReading (kind: DeviceKind, identity: string, idJson: string, r: unknown, nowMs: number): LandingRecord | [RejectReason, string, number | null] {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return ['not_a_reading', 'a reading must be a JSON object', null]
  const o = r as Record<string, unknown>
  const idField = IDENTITY_FIELD[kind]
  if (o[idField] !== undefined && o[idField] !== identity) return ['identity_mismatch', `${idField} ${String(o[idField])} is not the sending device`, null]
  if (kind === 'step-trainer') {
    const bad = checkTime(o.sensorReadingTime, 'sensorReadingTime', nowMs)
    const ts = isInt(o.sensorReadingTime) ? o.sensorReadingTime : null
    if (bad !== undefined) return [...bad, ts]
    if (o.distanceFromObject === undefined || o.distanceFromObject === null) return ['missing_field', 'distanceFromObject', ts]
    if (!isNum(o.distanceFromObject)) return ['wrong_type', 'distanceFromObject must be a number', ts]
    if (o.distanceFromObject < DISTANCE_RANGE.min || o.distanceFromObject > DISTANCE_RANGE.max) {
      return ['out_of_range', `distanceFromObject ${o.distanceFromObject} is outside ${DISTANCE_RANGE.min}..${DISTANCE_RANGE.max}`, ts]
    }
    return { line: `{"sensorReadingTime":${o.sensorReadingTime as number},"serialNumber":${idJson},"distanceFromObject":${o.distanceFromObject}}`, ts }
  }
  const bad = checkTime(o.timestamp, 'timestamp', nowMs)
  const ts = isInt(o.timestamp) ? o.timestamp : null
  if (bad !== undefined) return [...bad, ts]
  const bad3 = checkAxis(o.x, 'x', ts) ?? checkAxis(o.y, 'y', ts) ?? checkAxis(o.z, 'z', ts)
  if (bad3 !== undefined) return bad3
  return { line: `{"user":${idJson},"timestamp":${o.timestamp as number},"x":${o.x as number},"y":${o.y as number},"z":${o.z as number}}`, ts }
}

/** A device message: one reading, or {"seq": n, "readings": [...]}. */
export function validateDeviceMessage (kind: DeviceKind, identity: string, payload: Buffer | string | unknown, limits: Limits, nowMs = Date.now()): ValidatedMessage {
  const refuse = (reason: RejectReason, detail: string): ValidatedMessage =>
    ({ seq: null, lines: [], minTs: null, maxTs: null, rejections: [{ index: null, reason, detail, ts: null }], readings: 1 })
  let body: unknown = payload
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
    if (size > limits.maxPayloadBytes) return refuse('oversized', `${size} bytes > ${limits.maxPayloadBytes}`)
    try {
      body = JSON.parse(payload.toString())
    } catch {
      return refuse('invalid_json', 'the payload is not JSON')
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('not_a_reading', 'expected a reading object or {seq, readings}')
  const o = body as Record<string, unknown>
  let seq: number | null = null
  let items: unknown[]
  if ('readings' in o) {
    if (!Array.isArray(o.readings)) return refuse('not_a_reading', 'readings must be an array')
    if (o.seq !== undefined) {
      if (!isInt(o.seq) || o.seq < 0) return refuse('bad_seq', 'seq must be a non-negative integer')
      seq = o.seq
    }
    if (o.readings.length > limits.maxBatchReadings) {
      return { ...refuse('batch_too_large', `${o.readings.length} readings > ${limits.maxBatchReadings}`), seq, readings: o.readings.length }
    }
    items = o.readings
  } else {
    items = [o]
  }
  const form = identityForm(identity)
  if (!form.text) return { ...refuse('invalid_text', 'the device identity holds a lone UTF-16 surrogate'), seq, readings: items.length }
  const lines: string[] = []
  const rejections: Rejection[] = []
  const idJson = form.json
  let minTs: number | null = null
  let maxTs: number | null = null
  for (let index = 0; index < items.length; index++) {
    const outcome = validateReading(kind, identity, idJson, items[index], nowMs)
    if (Array.isArray(outcome)) {
      rejections.push({ index, reason: outcome[0], detail: outcome[1], ts: outcome[2] })
    } else {
      lines.push(outcome.line)
      const ts = outcome.ts as number
      if (minTs === null || ts < minTs) minTs = ts
      if (maxTs === null || ts > maxTs) maxTs = ts
    }
  }
  return { seq, lines, minTs, maxTs, rejections, readings: items.length }
}

export interface Problem { index: number, field: string | null, reason: RejectReason, detail: string }

// The contract's range holds on both sides; the gateway also knows the time, as it does for readings.
function checkRange (spec: FieldSpec, range: IntegerRange, value: number, nowMs: number): [RejectReason, string] | undefined {
  const maxMs = Math.min(range.max - 1, nowMs + MAX_FUTURE_SKEW_MS)
  if (value >= range.min && value <= maxMs) return undefined
  return ['out_of_range', `${spec.name} ${value} is not an epoch-ms time from ${new Date(range.min).toISOString()} to ${new Date(maxMs).toISOString()}`]
}

function checkField (spec: FieldSpec, value: unknown, nowMs: number): [RejectReason, string] | undefined {
  if (value === undefined || value === null) return spec.required ? ['missing_field', `${spec.name} is required`] : undefined
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') return ['wrong_type', `${spec.name} must be a string`]
      if (spec.nonEmpty === true && value.trim() === '') return ['wrong_type', `${spec.name} must not be empty`]
      if (!isText(value)) return ['invalid_text', `${spec.name} holds a lone UTF-16 surrogate (half of a character)`]
      return undefined
    case 'integer':
      if (!isInt(value)) return ['wrong_type', `${spec.name} must be an integer (epoch ms)`]
      return spec.range === undefined ? undefined : checkRange(spec, spec.range, value, nowMs)
    case 'number':
      return isNum(value) ? undefined : ['wrong_type', `${spec.name} must be a number`]
  }
}

/**
 * A customer record from the website or fulfilment: the seed's fields, typed, dates in range;
 * absent consent stays absent. What it accepts, the pipeline keeps (test/contracts/validation.test.ts).
 */
export function validateCustomer (record: unknown, index: number, nowMs = Date.now()): (LandingRecord & { email: string }) | Problem[] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return [{ index, field: null, reason: 'not_a_reading', detail: 'a customer record must be a JSON object' }]
  }
  const o = record as Record<string, unknown>
  const problems: Problem[] = []
  const out: Record<string, unknown> = {}
  for (const spec of DATASETS.customer.fields) {
    const bad = checkField(spec, o[spec.name], nowMs)
    if (bad !== undefined) problems.push({ index, field: spec.name, reason: bad[0], detail: bad[1] })
    else if (o[spec.name] !== undefined && o[spec.name] !== null) out[spec.name] = o[spec.name]
  }
  if (problems.length > 0) return problems
  return { line: JSON.stringify(out), ts: typeof out.lastUpdateDate === 'number' ? out.lastUpdateDate : null, email: out.email as string }
}

export const datasetOfKind = (kind: DeviceKind): 'step_trainer' | 'accelerometer' => DATASET_OF_KIND[kind]
