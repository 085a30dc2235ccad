// Device credentials: an HMAC of the device's kind and identity under the gateway secret, so that
// the gateway stores no per-device secret and a leaked credential is good for one device only.
// Format: stedi1.<kind>.<identity, base64url>.<HMAC-SHA256, base64url>. During a rotation the
// gateway accepts credentials made with any of its secrets; it issues with the first.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { DEVICE_KINDS, type DeviceKind, assertValidIdentity, isValidIdentity } from '../contracts/topics.js'

const VERSION = 'stedi1'

/** Devices, plus services such as the website and the fulfilment system that post customer records. */
export const CREDENTIAL_KINDS = [...DEVICE_KINDS, 'service'] as const
export type CredentialKind = DeviceKind | 'service'

export interface DeviceIdentity { kind: CredentialKind, identity: string }

function mac (secret: string, kind: CredentialKind, identity: string): Buffer {
  return createHmac('sha256', secret).update(`${VERSION}|${kind}|${identity}`).digest()
}

/** Throws IdentityError for an identity the gateway would refuse: a credential it never accepts is worse than none. */
export function issueCredential (secret: string, kind: CredentialKind, identity: string): string {
  assertValidIdentity(identity)
  return [VERSION, kind, Buffer.from(identity, 'utf8').toString('base64url'), mac(secret, kind, identity).toString('base64url')].join('.')
}

/** The device a credential belongs to, if one of the secrets made it; undefined otherwise. */
export function verifyCredential (secrets: readonly string[], credential: string): DeviceIdentity | undefined {
  const parts = credential.split('.')
  if (parts.length !== 4 || parts[0] !== VERSION) return undefined
  const kind = parts[1] as CredentialKind
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(kind)) return undefined
  const identity = Buffer.from(parts[2], 'base64url').toString('utf8')
  if (!isValidIdentity(identity)) return undefined
  const given = Buffer.from(parts[3], 'base64url')
  for (const secret of secrets) {
    const expected = mac(secret, kind, identity)
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { kind, identity }
  }
  return undefined
}
