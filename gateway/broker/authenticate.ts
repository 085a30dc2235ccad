// MQTT CONNECT: a device connects with its identity as username and its credential as password.
// Its session belongs to that identity: the client id is taken within the identity's own namespace,
// so another device (with a valid credential of its own) that borrows the id neither takes over
// the connection nor inherits the session. A device holds at most a few connections at once (one
// credential, found on a phone, must not be able to take every connection). Wills are dropped: a
// device topic must never replay data the gateway did not take through its own path.
import type { AuthenticateError, Client, ConnectPacket } from 'aedes'
import { isValidIdentity } from '../../contracts/topics.js'
import { type DeviceIdentity, verifyCredential } from '../credentials.js'
import type { GatewayMetrics } from '../metrics.js'

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

export function createAuthenticate (secrets: readonly string[], allowAnonymous: boolean, perIdentity: ConnectionsPerIdentity, onTooMany: () => void) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void => {
    const device = password === undefined ? undefined : verifyCredential(secrets, password.toString())
    if (device !== undefined && device.identity === username && isValidIdentity(device.identity)) {
      if (!perIdentity.admit(device)) {
        onTooMany()
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
    if (allowAnonymous) { authenticatedClients.add(client); done(null, true); return }
    // [MQTT-3.2.2-5]: refuse with return code 4, then close
    const err = Object.assign(new Error('bad username or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError
    done(err, false)
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
