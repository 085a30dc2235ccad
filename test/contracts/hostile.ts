// A seeded generator of hostile input for the gateway's validators: customer records and device
// messages as raw JSON text, with lone and paired surrogates, odd escapes, control characters,
// duplicate and escaped keys, numbers at and beyond the edges of a double, dates in seconds,
// microseconds and nanoseconds, strings where numbers belong, nested values and very long text.
// The same seed gives the same records.
import { createRandom } from '../../simulator/generate.js'

/** The gateway's clock while the records are generated and validated (a day in June 2022). */
export const HOSTILE_NOW_MS = Date.UTC(2022, 5, 20)

type Random = () => number
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]

/** How often a value is hostile (beyond what a valid record holds) rather than odd but valid. */
const HOSTILE_SHARE = 0.12

// JSON string bodies (between the quotes), written as raw JSON text so that escapes stay as sent
const TEXT_PIECES: readonly string[] = [
  'Anna', 'Zoë', 'O\'Brien', ' ', '', '@test.com', '.', '-',
  '😀', '\\ud83d\\ude00', // a pair, raw and escaped
  '\\u0000', '\\u0001', '\\u001f', '\\b\\f\\n\\r\\t', '\\"', '\\\\', '\\/', '\\u0041',
  '\u2028', '\\u2028', '\u2029', '\u007f', '\\ufeff', '\ufffe', '\\uffff', '\u0301', '𝒜',
  '{', '}', '[', ',', ':', 'null', 'true', '1e3'
]
// lone surrogates: high, low, reversed, upper-case, before a letter
const LONE_SURROGATES: readonly string[] = ['\\ud83d', '\\ude00', '\\udc00\\ud83d', '\\uD800', '\\uDBFF\\u0041']

function jsonText (r: Random): string {
  if (r() < 0.03) return pick(r, ['a', 'é', '\\u0000', '😀']).repeat(1 + Math.floor(r() * 50_000)) // very long text
  const n = Math.floor(r() * 6)
  let out = ''
  for (let i = 0; i < n; i++) out += pick(r, TEXT_PIECES)
  if (r() < HOSTILE_SHARE) out += pick(r, LONE_SURROGATES) + (r() < 0.5 ? pick(r, TEXT_PIECES) : '')
  return out
}

const str = (r: Random): string => `"${jsonText(r)}"`

// numbers as JSON text, at the edges of what a double and a 64-bit integer hold
const NUMBERS: readonly string[] = [
  '0', '-0', '-0.0', '0.0', '1', '-1', '1.5', '1E2', '1e-7', '1.25e-7', '5e-324', '4.9e-324', '1e-400', '2.2250738585072014e-308',
  '1.7976931348623157e308', '1e308', '1e400', '-1e400', '1e21', '1e20', '123456789012345678901234567890', '9007199254740993',
  '9223372036854775807', '9223372036854775808', '-9223372036854775809', '0.1', '0.30000000000000004', '999.9999999999999',
  '1000', '-1000', '1000.0000000000001', '10000', '10000.5', '218', '250.0'
]

function number (r: Random): string {
  if (r() < 0.5) return pick(r, NUMBERS)
  const v = (r() - 0.5) * 2 * pick(r, [1, 10, 1000, 1e6])
  return String(r() < 0.5 ? Math.round(v) : v)
}

// epoch instants as a valid record may write them, and in every unit a broken client sends
function epoch (r: Random): string {
  const ms = Date.UTC(2022, 5, 18) + Math.floor(r() * 86_400_000)
  if (r() >= HOSTILE_SHARE) {
    // a few shared instants, so that trainer and phone readings pair up in the machine-learning table
    const shared = Date.UTC(2022, 5, 18) + 1000 * Math.floor(r() * 20)
    return pick(r, [String(ms), String(shared), String(shared), `${shared}.0`, `${ms / 1e12}e12`, `${ms}E0`, String(Date.UTC(2015, 0, 1)), String(HOSTILE_NOW_MS + 86_400_000)])
  }
  return pick(r, [
    String(Math.floor(ms / 1000)), String(ms * 1000), `${ms}000000`, String(-ms), '0', '-0', String(ms + 0.5),
    String(Date.UTC(2015, 0, 1) - 1), String(Date.UTC(2100, 0, 1)), String(Date.UTC(2100, 0, 1) - 1),
    String(HOSTILE_NOW_MS + 86_400_001), String(HOSTILE_NOW_MS + 3 * 86_400_000),
    `"${ms}"`, '1.5e12', '9007199254740993', '9223372036854775807', '1e400'
  ])
}

function oddValue (r: Random): string {
  return pick(r, ['null', 'true', 'false', '[]', '[1,2]', '{}', '{"a":{"b":[1,{"c":"\\ud83d"}]}}', str(r), number(r)])
}

/** A value for a field: mostly the right kind, sometimes anything. */
function valueOf (r: Random, kind: 'text' | 'number' | 'epoch'): string {
  if (r() < HOSTILE_SHARE / 3) return oddValue(r)
  return kind === 'text' ? str(r) : kind === 'number' ? number(r) : epoch(r)
}

function object (r: Random, members: Array<[string, string | undefined]>): string {
  const parts: string[] = []
  for (const [key, value] of members) {
    if (value === undefined) continue
    // a key escaped, or sent twice (JSON.parse keeps the last)
    const k = r() < 0.05 ? key.replace(/^./, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : key
    if (r() < 0.03) parts.push(`"${k}":${valueOf(r, 'text')}`)
    parts.push(`"${k}":${value}`)
  }
  if (r() < 0.2) parts.push(`"${pick(r, ['extra', 'nested', '_line', 'EMAIL', ''])}":${oddValue(r)}`)
  // members in any order: the gateway writes its own order
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [parts[i], parts[j]] = [parts[j], parts[i]]
  }
  return `{${parts.join(',')}}`
}

const maybe = (r: Random, p: number, v: () => string): string | undefined => r() < p ? v() : undefined

/** A customer record as the website might send it: raw JSON text. */
export function hostileCustomer (r: Random, i: number): string {
  if (r() < 0.02) return pick(r, ['[]', '42', '"customer"', 'null'])
  // mostly the identities the devices use (hostileIdentity), so that readings reach trusted and curated
  const email = r() < 0.7 ? `"customer${i}@test.com"` : r() < 0.85 ? `"${jsonText(r)}c${i}@test.com"` : valueOf(r, 'text')
  const serialNumber = r() < 0.7 ? `"sn-${i}"` : valueOf(r, 'text')
  return object(r, [
    ['customerName', maybe(r, 0.9, () => valueOf(r, 'text'))],
    ['email', maybe(r, 0.97, () => email)],
    ['phone', maybe(r, 0.7, () => valueOf(r, 'text'))],
    ['birthDay', maybe(r, 0.7, () => valueOf(r, 'text'))],
    ['serialNumber', maybe(r, 0.97, () => serialNumber)],
    ['registrationDate', maybe(r, 0.8, () => valueOf(r, 'epoch'))],
    ['lastUpdateDate', maybe(r, 0.9, () => valueOf(r, 'epoch'))],
    ['shareWithResearchAsOfDate', maybe(r, 0.5, () => valueOf(r, 'epoch'))],
    ['shareWithPublicAsOfDate', maybe(r, 0.3, () => valueOf(r, 'epoch'))],
    ['shareWithFriendsAsOfDate', maybe(r, 0.3, () => valueOf(r, 'epoch'))]
  ])
}

function reading (r: Random, kind: 'step-trainer' | 'accelerometer'): string {
  if (kind === 'step-trainer') {
    return object(r, [
      ['sensorReadingTime', maybe(r, 0.97, () => valueOf(r, 'epoch'))],
      ['distanceFromObject', maybe(r, 0.97, () => valueOf(r, 'number'))]
    ])
  }
  return object(r, [
    ['timestamp', maybe(r, 0.97, () => valueOf(r, 'epoch'))],
    ...(['x', 'y', 'z'] as const).map((axis): [string, string | undefined] => [axis, maybe(r, 0.97, () => valueOf(r, 'number'))])
  ])
}

/** A device message as raw JSON text: one reading, or a batch {"seq": n, "readings": [...]}. */
export function hostileDeviceMessage (r: Random, kind: 'step-trainer' | 'accelerometer', seq: number): string {
  if (r() < 0.5) return reading(r, kind)
  const readings = Array.from({ length: 1 + Math.floor(r() * 8) }, () => r() < 0.05 ? oddValue(r) : reading(r, kind))
  return `{"seq":${seq},"readings":[${readings.join(',')}]}`
}

/** Device identities as MQTT topics and credentials carry them (and one that no topic could). */
export function hostileIdentity (r: Random, kind: 'step-trainer' | 'accelerometer', i: number): string {
  const base = kind === 'step-trainer' ? `sn-${i}` : `customer${i}@test.com`
  return r() < 0.05 ? JSON.parse(`"${pick(r, ['\\ud83d', '\\u0000', '\\u2028', '😀', '\\"'])}"`) as string + base : base
}

export { createRandom }

export interface GatewayOutcome {
  /** the landing lines the gateway accepted, per dataset */
  lines: { customer: string[], accelerometer: string[], step_trainer: string[] }
  /** refusals by reason, over every dataset */
  refused: Record<string, number>
}

/** Hostile customers and device messages through the gateway's validators, as the HTTP and MQTT paths call them. */
export async function throughGateway (seed: number, count: number): Promise<GatewayOutcome> {
  // imported here so that this module stays a generator for whoever needs only that
  const { validateCustomer, validateDeviceMessage } = await import('../../gateway/ingest/validate.js')
  const r = createRandom(seed)
  const out: GatewayOutcome = { lines: { customer: [], accelerometer: [], step_trainer: [] }, refused: {} }
  const refuse = (reason: string): void => { out.refused[reason] = (out.refused[reason] ?? 0) + 1 }
  const limits = { maxPayloadBytes: 512 * 1024, maxBatchReadings: 1000 }
  for (let i = 0; i < count; i++) {
    const text = hostileCustomer(r, i)
    const outcome = validateCustomer(JSON.parse(text), 0, HOSTILE_NOW_MS)
    if (Array.isArray(outcome)) refuse(outcome[0].reason)
    else out.lines.customer.push(outcome.line)
    for (const kind of ['step-trainer', 'accelerometer'] as const) {
      const message = validateDeviceMessage(kind, hostileIdentity(r, kind, i), hostileDeviceMessage(r, kind, i), limits, HOSTILE_NOW_MS)
      out.lines[kind === 'step-trainer' ? 'step_trainer' : 'accelerometer'].push(...message.lines)
      for (const rejection of message.rejections) refuse(rejection.reason)
    }
  }
  return out
}
