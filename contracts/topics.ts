// MQTT topics and device kinds: what devices, the gateway and the simulator agree on.
//   stedi/v1/step-trainer/{serialNumber, encoded}/readings
//   stedi/v1/accelerometer/{email, encoded}/readings
import type { DatasetName } from './datasets.js'

export const DEVICE_KINDS = ['step-trainer', 'accelerometer'] as const
export type DeviceKind = (typeof DEVICE_KINDS)[number]

export const DATASET_OF_KIND: Readonly<Record<DeviceKind, Exclude<DatasetName, 'customer'>>> = Object.freeze({
  'step-trainer': 'step_trainer',
  accelerometer: 'accelerometer'
})

/** The landing field that carries the device's identity, filled from the topic, never from the payload. */
export const IDENTITY_FIELD: Readonly<Record<DeviceKind, string>> = Object.freeze({
  'step-trainer': 'serialNumber',
  accelerometer: 'user'
})

export const TOPIC_PREFIX = 'stedi/v1'

// An identity is any text MQTT can carry as a string (it is also the username), up to an email
// address's length. Refused: ill-formed UTF-8 (a lone surrogate) and U+0000 [MQTT-1.5.3-1,
// MQTT-1.5.3-2], and the control characters and non-characters that MQTT 1.5.3 says strings
// should not hold, since a client or a broker may close the connection on them.
const MAX_IDENTITY_LENGTH = 254
const UNSAFE_CHARACTER = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u

/** Why the gateway would never accept this identity, or undefined when it would. */
export function identityProblem (identity: string): string | undefined {
  if (identity.length === 0) return 'an identity cannot be empty'
  if (identity.length > MAX_IDENTITY_LENGTH) return `an identity has at most ${MAX_IDENTITY_LENGTH} characters (this one has ${identity.length})`
  const unsafe = UNSAFE_CHARACTER.exec(identity)
  if (unsafe !== null) return `an identity cannot hold U+${unsafe[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (a control character, a non-character or half a surrogate pair)`
  return undefined
}

export function isValidIdentity (identity: string): boolean {
  return identityProblem(identity) === undefined
}

export class IdentityError extends Error {
  readonly code = 'CONTRACT_ERR_INVALID_IDENTITY'
  constructor (message: string) {
    super(message)
    this.name = 'IdentityError'
  }
}

export function assertValidIdentity (identity: string): void {
  const problem = identityProblem(identity)
  if (problem !== undefined) throw new IdentityError(problem)
}

// Email addresses may hold '/' (MQTT's level separator), '+' and '#' (its wildcards): they are
// percent-encoded in a topic level, and so is '%' itself so that decoding is unambiguous. Only
// these four escapes, in upper case, are read back: any other spelling of a level is refused, so
// that one identity has exactly one topic (an ACL comparing topics cannot be talked round).
const ESCAPE: Readonly<Record<string, string>> = Object.freeze({ '%': '%25', '+': '%2B', '#': '%23', '/': '%2F' })
const UNESCAPE: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(Object.entries(ESCAPE).map(([c, e]) => [e, c])))

/** The identity as one topic level; throws IdentityError for an identity that has no topic. */
export function encodeIdentity (identity: string): string {
  assertValidIdentity(identity)
  return identity.replace(/[%+#/]/g, (c) => ESCAPE[c])
}

/** The identity a topic level stands for, or undefined if the level is not an encoding of a valid identity. */
export function decodeIdentity (level: string): string | undefined {
  if (/[+#/]/.test(level)) return undefined
  let canonical = true
  const identity = level.replace(/%(..)?/gs, (escape: string) => {
    const c = UNESCAPE[escape]
    if (c === undefined) canonical = false
    return c ?? ''
  })
  return canonical && isValidIdentity(identity) ? identity : undefined
}

export function readingsTopic (kind: DeviceKind, identity: string): string {
  return `${TOPIC_PREFIX}/${kind}/${encodeIdentity(identity)}/readings`
}

/** A device's own subtree, the only place it may subscribe. */
export function deviceTopicFilter (kind: DeviceKind, identity: string): string {
  return `${TOPIC_PREFIX}/${kind}/${encodeIdentity(identity)}/#`
}

export function parseReadingsTopic (topic: string): { kind: DeviceKind, identity: string } | undefined {
  const parts = topic.split('/')
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_PREFIX || parts[4] !== 'readings') return undefined
  const kind = parts[2] as DeviceKind
  if (!DEVICE_KINDS.includes(kind)) return undefined
  const identity = decodeIdentity(parts[3])
  return identity === undefined ? undefined : { kind, identity }
}
