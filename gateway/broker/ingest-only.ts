// A device's readings are ingested, never relayed: authorizeForward refuses a readings topic to every
// subscriber and authorizePublish clears the retain flag. aedes would still match each reading against
// every subscription and hand it to its persistence, to no end, on the path of every message: a few
// microseconds each, a fifth of the broker's own cost. So a reading a client published stops here,
// once authorizePublish has taken it (and its PUBACK is on its way); everything else goes on as aedes
// publishes it.
import type { Aedes, Client, PublishPacket } from 'aedes'
import { parseReadingsTopic } from '../../contracts/topics.js'

export function keepReadingsOffTheBus (broker: Aedes): void {
  // aedes' handlers call publish(packet, client, done); its typings give only publish(packet, done)
  type Publish = (packet: PublishPacket, client: Client | null | ((err?: Error) => void), done?: (err?: Error) => void) => void
  const publish = broker.publish.bind(broker) as unknown as Publish
  const readings = new Map<string, boolean>()
  const isReadings = (topic: string): boolean => {
    let known = readings.get(topic)
    if (known === undefined) {
      known = parseReadingsTopic(topic) !== undefined
      if (readings.size >= 100_000) readings.clear()
      readings.set(topic, known)
    }
    return known
  }
  ;(broker as unknown as { publish: Publish }).publish = (packet, client, done) => {
    if (typeof client === 'object' && client !== null && isReadings(packet.topic)) {
      done?.()
      return
    }
    publish(packet, client, done)
  }
}
