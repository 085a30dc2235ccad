// MQTT CONNECT: a device connects with its identity as username and its credential as password.
import type { AuthenticateError, Client } from 'aedes'
import { isValidIdentity } from '../../contracts/topics.js'
import { type DeviceIdentity, verifyCredential } from '../credentials.js'

/** The device behind each authenticated connection (absent for anonymous development clients). */
export const devices = new WeakMap<Client, DeviceIdentity>()

const BAD_USERNAME_OR_PASSWORD = 4

export function createAuthenticate (secrets: readonly string[], allowAnonymous: boolean) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void => {
    const device = password === undefined ? undefined : verifyCredential(secrets, password.toString())
    if (device !== undefined && device.identity === username && isValidIdentity(device.identity)) {
      devices.set(client, device)
      done(null, true)
      return
    }
    if (allowAnonymous) { done(null, true); return }
    // [MQTT-3.2.2-5]: refuse with return code 4, then close
    const err = Object.assign(new Error('bad username or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError
    done(err, false)
  }
}
