// Device credentials: an HMAC of the device's kind, identity and generation under the gateway
// secret, so that the gateway stores no per-device secret and a leaked credential is good for one
// device only, until its generation is revoked (gateway/revocations.ts).
// Formats (both verified; a device never needs a new credential for the format's sake):
// - stedi1.<kind>.<identity, base64url>.<HMAC-SHA256 of "stedi1|kind|identity", base64url>: generation 0
// - stedi2.<kind>.<identity, base64url>.<generation, decimal>.<HMAC-SHA256 of "stedi2|kind|identity|generation">
// Generation 0 is still issued as stedi1, so that existing provisioning sees no change. During a
// rotation the gateway accepts credentials made with any of its secrets; it issues with the first.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { DEVICE_KINDS, type DeviceKind, assertValidIdentity, isValidIdentity } from '../contracts/topics.js'

const V1 = 'stedi1'
const V2 = 'stedi2'

/** Devices, plus services such as the website and the fulfilment system that post customer records. */
export const CREDENTIAL_KINDS = [...DEVICE_KINDS, 'service'] as const
export type CredentialKind = DeviceKind | 'service'

export interface DeviceIdentity {
  kind: CredentialKind
  identity: string
  /** the credential's generation: 0 for stedi1 credentials and client certificates */
  generation: number
}

/** A generation is a whole number below 2^31 (a revocation list entry is one too). */
export const isGeneration = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n < 2 ** 31

/** The shortest secret the gateway takes: the one rule `stedi gateway` and `stedi devices token` share. */
export const MIN_SECRET_CHARS = 16

/** Why the gateway would refuse this secret, or undefined when it is good. */
export function secretProblem (secret: string): string | undefined {
  return secret.length < MIN_SECRET_CHARS ? `a gateway secret must be at least ${MIN_SECRET_CHARS} characters (got ${secret.length})` : undefined
}

function mac (secret: string, kind: CredentialKind, identity: string, generation: number): Buffer {
  const text = generation === 0 ? `${V1}|${kind}|${identity}` : `${V2}|${kind}|${identity}|${generation}`
  return createHmac('sha256', secret).update(text).digest()
}

/** Throws IdentityError for an identity the gateway would refuse: a credential it never accepts is worse than none. */
export function issueCredential (secret: string, kind: CredentialKind, identity: string, generation = 0): string {
  assertValidIdentity(identity)
  if (!isGeneration(generation)) throw new RangeError(`a generation is a whole number from 0 to ${2 ** 31 - 1} (got ${generation})`)
  const id = Buffer.from(identity, 'utf8').toString('base64url')
  const m = mac(secret, kind, identity, generation).toString('base64url')
  return generation === 0 ? [V1, kind, id, m].join('.') : [V2, kind, id, String(generation), m].join('.')
}

/** The device a credential belongs to, if one of the secrets made it; undefined otherwise. */
export function verifyCredential (secrets: readonly string[], credential: string): DeviceIdentity | undefined {
  const parts = credential.split('.')
  let generation: number
  if (parts.length === 4 && parts[0] === V1) generation = 0
  else if (parts.length === 5 && parts[0] === V2 && /^[1-9][0-9]{0,9}$/.test(parts[3])) generation = Number(parts[3])
  else return undefined
  if (!isGeneration(generation)) return undefined
  const kind = parts[1] as CredentialKind
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(kind)) return undefined
  const identity = Buffer.from(parts[2], 'base64url').toString('utf8')
  if (!isValidIdentity(identity)) return undefined
  const given = Buffer.from(parts[parts.length - 1], 'base64url')
  for (const secret of secrets) {
    const expected = mac(secret, kind, identity, generation)
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { kind, identity, generation }
  }
  return undefined
}

/** The device a verified client certificate names: identity from its CN, kind from its OU. */
export function certificateIdentity (subject: { CN?: string | string[], OU?: string | string[] } | undefined): DeviceIdentity | undefined {
  const one = (v: string | string[] | undefined): string | undefined => typeof v === 'string' ? v : undefined
  const identity = one(subject?.CN)
  const kind = one(subject?.OU)
  if (identity === undefined || kind === undefined || !isValidIdentity(identity)) return undefined
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(kind)) return undefined
  return { kind: kind as CredentialKind, identity, generation: 0 }
}
