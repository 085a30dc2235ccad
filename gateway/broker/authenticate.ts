// MQTT CONNECT: a device connects with its identity as username and its credential as password.
// Its session belongs to that identity: the client id is taken within the identity's own namespace,
// so another device (with a valid credential of its own) that borrows the id neither takes over
// the connection nor inherits the session and its queued messages. Wills are dropped: a device
// topic must never replay data the gateway did not take through its own path.
import type { AuthenticateError, Client, ConnectPacket } from 'aedes'
import { isValidIdentity } from '../../contracts/topics.js'
import { type DeviceIdentity, verifyCredential } from '../credentials.js'
import type { GatewayMetrics } from '../metrics.js'

/** The device behind each authenticated connection (absent for anonymous development clients). */
export const devices = new WeakMap<Client, DeviceIdentity>()

const BAD_USERNAME_OR_PASSWORD = 4

/** The broker's session key for a client id given by an identity (unambiguous: the identity is URI-encoded). */
export const sessionId = (device: DeviceIdentity, clientId: string): string => `${device.kind}:${encodeURIComponent(device.identity)}:${clientId}`

export function createAuthenticate (secrets: readonly string[], allowAnonymous: boolean) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void => {
    const device = password === undefined ? undefined : verifyCredential(secrets, password.toString())
    if (device !== undefined && device.identity === username && isValidIdentity(device.identity)) {
      devices.set(client, device)
      // aedes registers the session (and takes over an older connection) under client.id after this
      client.id = sessionId(device, client.id)
      done(null, true)
      return
    }
    if (allowAnonymous) { done(null, true); return }
    // [MQTT-3.2.2-5]: refuse with return code 4, then close
    const err = Object.assign(new Error('bad username or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError
    done(err, false)
  }
}

/** Before CONNECT is processed: a will is removed (counted), so it can never be published. */
export function createPreConnect (metrics: GatewayMetrics) {
  return (_client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void => {
    if (packet.will != null) {
      metrics.willsDropped.inc()
      packet.will = undefined
    }
    callback(null, true)
  }
}
