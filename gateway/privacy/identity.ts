// Whose a device string is: the outbox keys everything by `<kind>/<identity>` (accelerometer/<email>,
// customer/<email>, step-trainer/<serialNumber>), and erasure has to know which kind of identity
// that is, and which field dates the records it sent.
import type { DatasetName } from '../../contracts/datasets.js'
import { ERASURE_FIELDS, type IdentityKind, type TombstoneMatcher } from '../../contracts/privacy.js'

const KIND_OF_PREFIX: Readonly<Record<string, [IdentityKind, DatasetName]>> = Object.freeze({
  accelerometer: ['email', 'accelerometer'],
  customer: ['email', 'customer'],
  'step-trainer': ['serial', 'step_trainer']
})

export interface DeviceIdentityOf { kind: IdentityKind, value: string, dataset: DatasetName, timeField: string }

export function identityOfDevice (device: string): DeviceIdentityOf | undefined {
  const slash = device.indexOf('/')
  if (slash < 0) return undefined
  const k = KIND_OF_PREFIX[device.slice(0, slash)]
  if (k === undefined) return undefined
  return { kind: k[0], value: device.slice(slash + 1), dataset: k[1], timeField: ERASURE_FIELDS[k[1]].time }
}

/** The erasure time covering a device's identity, or undefined. */
export function deviceErasedAt (matcher: TombstoneMatcher, device: string): number | undefined {
  if (matcher.size === 0) return undefined
  const id = identityOfDevice(device)
  return id === undefined ? undefined : matcher.erasedAt(id.kind, id.value)
}

/**
 * Whether free text (a rejection's detail, a line that is not a record) names an erased identity:
 * its JSON string literals, and its words, each tested as an email and as a serial number. A
 * detail such as `user ann@x.com is not the sending device` quotes without JSON quotes.
 */
export function namesErased (matcher: TombstoneMatcher, text: string): boolean {
  if (matcher.size === 0) return false
  if (matcher.coversRaw(text)) return true
  for (const word of text.split(/[\s"'`,;()[\]{}<>=]+/)) {
    if (word.length < 3) continue
    for (const w of [word, word.replace(/[.:]+$/, '')]) {
      if (matcher.erasedAt('email', w) !== undefined || matcher.erasedAt('serial', w) !== undefined) return true
    }
  }
  return false
}

/** The time of a landing line (its dataset's dating field), null when it has none or is unreadable. */
export function lineTime (line: string, timeField: string): number | null {
  try {
    const v = (JSON.parse(line) as Record<string, unknown>)[timeField]
    return typeof v === 'number' ? v : null
  } catch { return null }
}
