// How the logs name a device: `<kind>/<12 hex of a keyed hash>`, never its identity (a phone's is
// its owner's email). Keyed with the privacy key when there is one (the operator can then match a
// log line to a customer through identityHash), else with the gateway secret, else a key of this
// process: an unkeyed hash of an email could be reversed from a list of emails.
import { createHmac, randomBytes } from 'node:crypto'
import { identityHash } from '../../contracts/privacy.js'
import type { DeviceIdentity } from '../credentials.js'
import { identityOfDevice } from './identity.js'

export interface LogIds {
  /** a device's name for the logs; 'anonymous' for a client without a device */
  ofClient: (device: DeviceIdentity | undefined) => string
  /** a topic with its identity level replaced by the device's log name */
  ofTopic: (topic: string) => string
}

export function createLogIds (key: Uint8Array | string | undefined): LogIds {
  const k = key ?? randomBytes(32)
  const cache = new Map<string, string>()
  const name = (kind: string, identity: string): string => {
    const c = `${kind}/${identity}`
    let n = cache.get(c)
    if (n === undefined) {
      const id = identityOfDevice(c)
      const hash = id !== undefined && typeof k !== 'string'
        ? identityHash(k, id.kind, identity)
        : createHmac('sha256', k).update(`log:${c}`).digest('hex')
      n = `${kind}/${hash.slice(0, 12)}`
      if (cache.size > 100_000) cache.clear()
      cache.set(c, n)
    }
    return n
  }
  return {
    ofClient: (device) => device === undefined ? 'anonymous' : name(device.kind, device.identity),
    // stedi/v1/<kind>/<identity>/readings: the identity level goes
    ofTopic: (topic) => topic.split('/').map((level, i) => i === 3 ? '<device>' : level).join('/')
  }
}
