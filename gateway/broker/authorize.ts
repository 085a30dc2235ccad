// MQTT PUBLISH and SUBSCRIBE rules. A device publishes readings only under its own identity and
// subscribes only inside its own subtree; its readings go through the same ingest path as HTTP,
// and the PUBACK (sent by aedes once this callback returns) follows the outbox commit.
import type { Client, PublishPacket, Subscription } from 'aedes'
import { deviceTopicFilter, parseReadingsTopic } from '../../contracts/topics.js'
import type { Logger } from '../../common/logger.js'
import { type Ingest, estimateReadings } from '../ingest/service.js'
import type { GatewayMetrics } from '../metrics.js'
import { devices } from './authenticate.js'

export function createAuthorizePublish (deps: { ingest: Ingest, metrics: GatewayMetrics, logger: Logger, allowAnonymous: boolean }) {
  const { ingest, metrics, logger, allowAnonymous } = deps
  return (client: Client | null, packet: PublishPacket, callback: (err?: Error | null) => void): void => {
    if (client === null) { callback(null); return }
    const started = performance.now()
    const device = devices.get(client)
    const target = parseReadingsTopic(packet.topic)
    const allowed = target !== undefined && (device === undefined
      ? allowAnonymous
      : device.kind === target.kind && device.identity === target.identity)
    if (!allowed) {
      metrics.aclDenied.inc({ action: 'publish' })
      logger.warn({ client: client.id, device, topic: packet.topic }, 'publish refused: not this device\'s readings topic; disconnecting')
      callback(new Error('not authorized to publish to this topic'))
      return
    }
    const { kind, identity } = target
    const payload = packet.payload as Buffer
    const estimate = estimateReadings(payload)
    ingest.waitForAdmission(kind, identity, estimate)
      .then(async (refused) => await ingest.device(kind, identity, payload, 'mqtt', refused === undefined ? undefined : { reason: refused, readings: estimate }))
      .then(() => {
        metrics.ackLatency.observe((performance.now() - started) / 1000)
        callback(null)
      }, (err: unknown) => {
        // not durable: no PUBACK; the device keeps the message and sends it again
        logger.error({ err: (err as Error).message, device }, 'could not commit a publish; closing the connection')
        callback(err as Error)
      })
  }
}

export function createAuthorizeSubscribe (deps: { metrics: GatewayMetrics, allowAnonymous: boolean }) {
  return (client: Client, sub: Subscription, callback: (err: Error | null, sub?: Subscription | null) => void): void => {
    const device = devices.get(client)
    if (device === undefined ? deps.allowAnonymous : device.kind !== 'service' && isWithin(sub.topic, deviceTopicFilter(device.kind, device.identity))) {
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
