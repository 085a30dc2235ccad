// Bounds MQTT packets before anything is buffered. aedes' parser keeps a packet's bytes until it is
// whole, and an MQTT packet may declare up to 256 MB, so a client could make the gateway hold
// gigabytes, even before it authenticates. The guard sits between the socket and the broker, reads
// each fixed header as it streams past (the remaining length is at most four bytes) and closes the
// connection as soon as a packet declares more than the limit of its phase: small until the
// client is authenticated (a CONNECT), the payload limit plus a topic after. It buffers nothing.
import { Duplex } from 'node:stream'

export interface PacketLimits {
  /** largest packet before authentication (the CONNECT, with its credential), bytes */
  readonly preAuthBytes: number
  /** largest packet once authenticated (a PUBLISH: payload, topic, header), bytes */
  readonly packetBytes: number
}

export interface PacketGuardEvents {
  /** the connection is being closed: a packet declared `declared` bytes, over `limit` */
  onViolation: (declared: number, limit: number, authenticated: boolean) => void
}

const enum Phase { Type, Length, Body }

/** Wraps a connection; `authenticated()` is asked at each packet header. */
export function guardPackets (conn: Duplex, limits: PacketLimits, authenticated: () => boolean, events: PacketGuardEvents): Duplex {
  let phase = Phase.Type
  let length = 0
  let multiplier = 1
  let lengthBytes = 0
  let remaining = 0

  /** Walks the chunk's headers; false when a packet is over its limit (or its length is malformed). */
  const inspect = (chunk: Buffer): boolean => {
    let i = 0
    while (i < chunk.length) {
      if (phase === Phase.Body) {
        const take = Math.min(remaining, chunk.length - i)
        remaining -= take
        i += take
        if (remaining === 0) phase = Phase.Type
        continue
      }
      if (phase === Phase.Type) {
        phase = Phase.Length
        length = 0
        multiplier = 1
        lengthBytes = 0
        i++
        continue
      }
      const byte = chunk[i++]
      length += (byte & 0x7f) * multiplier
      multiplier *= 128
      lengthBytes++
      if ((byte & 0x80) !== 0) {
        // [MQTT-2.2.3]: the remaining length takes at most four bytes
        if (lengthBytes === 4) { events.onViolation(Infinity, 0, authenticated()); return false }
        continue
      }
      const auth = authenticated()
      const limit = auth ? limits.packetBytes : limits.preAuthBytes
      const declared = 1 + lengthBytes + length
      if (declared > limit) { events.onViolation(declared, limit, auth); return false }
      remaining = length
      phase = remaining === 0 ? Phase.Type : Phase.Body
    }
    return true
  }

  const guard = new Duplex({
    read () { conn.resume() },
    write (chunk: Buffer, _encoding, callback) {
      if (conn.write(chunk)) callback()
      else conn.once('drain', () => callback())
    },
    // mqtt-packet corks the stream around a packet's pieces: pass them on as one write, or Nagle's
    // algorithm holds the second piece for the peer's delayed ACK (40 ms a PUBACK)
    writev (chunks: Array<{ chunk: Buffer }>, callback) {
      if (conn.write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)))) callback()
      else conn.once('drain', () => callback())
    },
    final (callback) { conn.end(); callback() },
    destroy (err, callback) { conn.destroy(); callback(err) }
  })
  conn.on('data', (chunk: Buffer) => {
    if (!inspect(chunk)) { guard.destroy(); return }
    if (!guard.push(chunk)) conn.pause()
  })
  conn.on('end', () => guard.push(null))
  conn.on('error', (err) => guard.destroy(err))
  conn.on('close', () => { if (!guard.destroyed) guard.destroy() })
  return guard
}
