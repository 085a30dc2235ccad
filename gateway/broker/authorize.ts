// MQTT PUBLISH, SUBSCRIBE and forwarding rules. A device publishes readings only under its own
// identity and subscribes only inside its own subtree; its readings go through the same ingest
// path as HTTP, and the PUBACK (sent by aedes once this callback returns) follows the outbox
// commit. A message the gateway cannot take within maxAckDelayMs is refused with an error, which
// makes aedes close the connection without a PUBACK: the device's QoS 1 resend brings it back.
import type { AuthorizeForwardHandler, Client, PublishPacket, Subscription } from 'aedes'
import { type DeviceKind, deviceTopicFilter, parseReadingsTopic, readingsTopic } from '../../contracts/topics.js'
import type { Logger } from '../../common/logger.js'
import { type Ingest, estimateReadings } from '../ingest/service.js'
import type { GatewayMetrics } from '../metrics.js'
import type { LogIds } from '../privacy/log-id.js'
import type { DeviceIdentity } from '../credentials.js'
import { devices } from './authenticate.js'

/** A device's own readings topic, made once per identity: a device publishes there message after message. */
const ownTopics = new WeakMap<DeviceIdentity, { topic: string, target: { kind: DeviceKind, identity: string } }>()
function ownTopic (device: DeviceIdentity): { topic: string, target: { kind: DeviceKind, identity: string } } | undefined {
  let own = ownTopics.get(device)
  if (own === undefined) {
    if (device.kind === 'service') return undefined
    let topic: string
    // an identity with no topic (none is issued a credential) publishes nowhere: the full check refuses it
    try { topic = readingsTopic(device.kind, device.identity) } catch { return undefined }
    own = { topic, target: { kind: device.kind, identity: device.identity } }
    ownTopics.set(device, own)
  }
  return own
}

export function createAuthorizePublish (deps: { ingest: Ingest, metrics: GatewayMetrics, logger: Logger, logIds: LogIds, allowAnonymous: boolean, maxAckDelayMs: number }) {
  const { ingest, metrics, logger, logIds, allowAnonymous, maxAckDelayMs } = deps
  return (client: Client | null, packet: PublishPacket, callback: (err?: Error | null) => void): void => {
    if (client === null) { callback(null); return }
    const started = performance.now()
    const device = devices.get(client)
    const own = device === undefined ? undefined : ownTopic(device)
    const target = own !== undefined && own.topic === packet.topic ? own.target : parseReadingsTopic(packet.topic)
    const allowed = target !== undefined && (device === undefined
      ? allowAnonymous
      : device.kind === target.kind && device.identity === target.identity)
    if (!allowed) {
      metrics.aclDenied.inc({ action: 'publish' })
      logger.warn({ device: logIds.ofClient(device), topic: logIds.ofTopic(packet.topic) }, 'publish refused: not this device\'s readings topic; disconnecting')
      callback(new Error('not authorized to publish to this topic'))
      return
    }
    // the broker keeps and replays nothing of a readings topic: it is ingested, not relayed
    packet.retain = false
    const { kind, identity } = target
    const payload = packet.payload as Buffer
    const estimate = estimateReadings(payload)
    const acknowledge = (): void => {
      metrics.ackLatency.observe((performance.now() - started) / 1000)
      callback(null)
    }
    const withhold = (err: unknown): void => {
      // not taken: no PUBACK; aedes closes the connection and the device sends the message again
      if (err instanceof PublishRefused) logger.debug({ device: logIds.ofClient(device), reason: err.message }, 'publish refused')
      else logger.error({ err: (err as Error).message, device: logIds.ofClient(device) }, 'could not commit a publish; closing the connection')
      callback(err as Error)
    }
    // the common case, admitted at once, goes straight to the outbox without waiting on anything
    if (ingest.admit(kind, identity, estimate).ok) {
      ingest.device(kind, identity, payload, 'mqtt', { reserved: estimate }).then(acknowledge, withhold)
      return
    }
    ingest.waitForAdmission(kind, identity, estimate, maxAckDelayMs, () => client.closed)
      .then(async (admission) => {
        if (!admission.ok && admission.reason !== 'never_fits') {
          await ingest.refuse(kind, identity, payload, 'mqtt', admission.reason)
          // QoS 0 has no acknowledgement to withhold: the refusal is recorded, the session stays
          if (packet.qos === 0 && admission.reason !== 'connection_closed') return
          if (admission.reason !== 'connection_closed') metrics.connectionsClosed.inc({ transport: 'mqtt', reason: admission.reason })
          throw new PublishRefused(`${admission.reason}: not acknowledged, closing the connection so that the device sends it again`)
        }
        await ingest.device(kind, identity, payload, 'mqtt', { neverFits: !admission.ok, reserved: admission.ok ? estimate : 0 })
      })
      .then(acknowledge, withhold)
  }
}

/** A publish the gateway did not take (an expected outcome, counted, not an error to log). */
class PublishRefused extends Error {}

/**
 * What the broker may deliver to a subscriber: only messages inside the subscriber's own subtree,
 * and never a readings topic (readings are ingested, not relayed). Queued messages of a persistent
 * session pass here too before they are sent.
 */
export function createAuthorizeForward (allowAnonymous: boolean): AuthorizeForwardHandler {
  return (client, packet) => {
    const device = devices.get(client)
    if (device === undefined) return allowAnonymous && parseReadingsTopic(packet.topic) === undefined ? packet : null
    if (device.kind === 'service' || parseReadingsTopic(packet.topic) !== undefined) return null
    return isWithin(packet.topic, deviceTopicFilter(device.kind, device.identity)) ? packet : null
  }
}

/** A subscription's filter, and a client's subscriptions, are bounded: each is kept in memory. */
export const SUBSCRIPTION_LIMITS = Object.freeze({ filterBytes: 512, perClient: 16 })

export function createAuthorizeSubscribe (deps: { metrics: GatewayMetrics, allowAnonymous: boolean }) {
  return (client: Client, sub: Subscription, callback: (err: Error | null, sub?: Subscription | null) => void): void => {
    const device = devices.get(client)
    // aedes keeps a client's subscriptions on it (not in its typings)
    const held = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions
    const bounded = Buffer.byteLength(sub.topic) <= SUBSCRIPTION_LIMITS.filterBytes &&
      (sub.topic in held || Object.keys(held).length < SUBSCRIPTION_LIMITS.perClient)
    if (bounded && (device === undefined ? deps.allowAnonymous : device.kind !== 'service' && isWithin(sub.topic, deviceTopicFilter(device.kind, device.identity)))) {
      callback(null, sub)
      return
    }
    deps.metrics.aclDenied.inc({ action: 'subscribe' })
    // a null subscription makes aedes answer SUBACK 0x80 (failure) and keep the session
    callback(null, null)
  }
}

/** Whether every topic the filter can match lies inside the device's own subtree. */
function isWithin (filter: string, own: string): boolean {
  const base = own.slice(0, -2) // without '/#'
  // the base is literal (the identity is encoded: no '+', '#' or '/' of its own), so a filter that
  // starts with it cannot widen it with a wildcard nor reach another identity's subtree
  return filter === base || filter.startsWith(`${base}/`)
}
