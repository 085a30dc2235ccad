// MQTT CONNECT: a device connects with its identity as username and its credential as password.
// Its session belongs to that identity: the client id is taken within the identity's own namespace,
// so another device (with a valid credential of its own) that borrows the id neither takes over
// the connection nor inherits the session. A device holds at most a few connections at once (one
// credential, found on a phone, must not be able to take every connection). Over TLS with a client
// CA, a device may instead present a client certificate (identity from its CN, kind from its OU). Wills are dropped: a
// device topic must never replay data the gateway did not take through its own path.
import type { AuthenticateError, Client, ConnectPacket } from 'aedes'
import type { AuthFailureReason, AuthFailures } from '../auth-failures.js'
import { type DeviceIdentity, verifyCredential } from '../credentials.js'
import type { GatewayMetrics } from '../metrics.js'
import type { RevocationList } from '../revocations.js'

/** The device behind each authenticated connection (absent for anonymous development clients). */
export const devices = new WeakMap<Client, DeviceIdentity>()

/** Every client whose CONNECT was accepted, device or anonymous: from then on it may send more than a CONNECT. */
export const authenticatedClients = new WeakSet<Client>()

const SERVER_UNAVAILABLE = 3

/** How many connections each identity holds, so that one credential cannot take every connection. */
export interface ConnectionsPerIdentity {
  /** counts a connection of the device; false when it already holds as many as it may */
  admit: (device: DeviceIdentity) => boolean
  release: (device: DeviceIdentity) => void
}

export function createConnectionsPerIdentity (max: number): ConnectionsPerIdentity {
  const held = new Map<string, number>()
  const key = (d: DeviceIdentity): string => `${d.kind}\u0000${d.identity}`
  return {
    admit: (d) => {
      const n = held.get(key(d)) ?? 0
      if (n >= max) return false
      held.set(key(d), n + 1)
      return true
    },
    release: (d) => {
      const n = (held.get(key(d)) ?? 1) - 1
      if (n <= 0) held.delete(key(d))
      else held.set(key(d), n)
    }
  }
}

const BAD_USERNAME_OR_PASSWORD = 4

/** The broker's session key for a client id given by an identity (unambiguous: the identity is URI-encoded). */
export const sessionId = (device: DeviceIdentity, clientId: string): string => `${device.kind}:${encodeURIComponent(device.identity)}:${clientId}`

/** MQTT 3.1.1 CONNACK return code 5: no credential at all (a wrong one is 4, "bad user name or password"). */
const NOT_AUTHORIZED = 5

/** The verified client certificate's device behind each connection (the stream the broker handles). */
export const certificates = new WeakMap<object, DeviceIdentity | null>()

export interface AuthenticateOptions {
  secrets: readonly string[]
  allowAnonymous: boolean
  perIdentity: ConnectionsPerIdentity
  onTooMany: () => void
  revocations: Pick<RevocationList, 'valid'>
  failures: AuthFailures
}

/**
 * Who a device is, from its CONNECT and its client certificate: a password (its credential) and
 * username (its identity), or a client certificate, which needs no password (a username, if given,
 * must be the certificate's CN; a password, if given, must be the same device's). Returns the
 * device or why it is refused.
 */
export function identify (secrets: readonly string[], username: string | undefined, password: string | undefined, certificate: DeviceIdentity | undefined):
{ device: DeviceIdentity } | { reason: AuthFailureReason, claimed?: string } {
  const claimed = username ?? certificate?.identity
  if (password === undefined || password === '') {
    if (certificate === undefined) return { reason: 'credential_required', claimed }
    if (username !== undefined && username !== '' && username !== certificate.identity) return { reason: 'identity_mismatch', claimed }
    return { device: certificate }
  }
  const device = verifyCredential(secrets, password)
  if (device === undefined) return { reason: 'credential_not_valid', claimed }
  if (device.identity !== (username ?? certificate?.identity)) return { reason: 'identity_mismatch', claimed }
  if (certificate !== undefined && (certificate.kind !== device.kind || certificate.identity !== device.identity)) return { reason: 'identity_mismatch', claimed }
  return { device }
}

export function createAuthenticate (o: AuthenticateOptions) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void => {
    const certificate = certificates.get(client.conn) ?? undefined
    let found = identify(o.secrets, username, password?.toString(), certificate)
    if ('device' in found && !o.revocations.valid(found.device)) found = { reason: 'revoked', claimed: found.device.identity }
    if ('device' in found) {
      const device = found.device
      if (!o.perIdentity.admit(device)) {
        o.onTooMany()
        done(Object.assign(new Error('this device holds as many connections as it may'), { returnCode: SERVER_UNAVAILABLE }) as AuthenticateError, false)
        return
      }
      devices.set(client, device)
      authenticatedClients.add(client)
      // aedes registers the session (and takes over an older connection) under client.id after this
      client.id = sessionId(device, client.id)
      done(null, true)
      return
    }
    if (o.allowAnonymous) { authenticatedClients.add(client); done(null, true); return }
    o.failures.record(found.reason, client.req === undefined ? 'mqtt' : 'ws', found.claimed)
    // [MQTT-3.2.2-5]: refuse with a non-zero return code, then close
    const err = found.reason === 'credential_required'
      ? Object.assign(new Error('credential required'), { returnCode: NOT_AUTHORIZED })
      : Object.assign(new Error('credential not valid'), { returnCode: BAD_USERNAME_OR_PASSWORD })
    done(err as AuthenticateError, false)
  }
}

/**
 * Before CONNECT is processed: a will is removed (counted), so it can never be published; and every
 * session is clean. A session would hold nothing a device needs (readings are ingested, never
 * relayed, and nothing else is published to devices), while a persistent one would keep its
 * subscriptions and unreleased QoS 2 messages in memory after the connection, for ever: a device
 * could grow the gateway without bound by opening sessions under new client ids. CONNACK says so
 * (session present: 0).
 */
export function createPreConnect (metrics: GatewayMetrics) {
  return (_client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void => {
    if (packet.will != null) {
      metrics.willsDropped.inc()
      packet.will = undefined
    }
    packet.clean = true
    callback(null, true)
  }
}
