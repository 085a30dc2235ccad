// Bounds MQTT packets before anything is buffered. aedes' parser keeps a packet's bytes until it is
// whole, and an MQTT packet may declare up to 256 MB, so a client could make the gateway hold
// gigabytes, even before it authenticates. The guard sits between the connection and the broker and
// reads each fixed header as it streams past (the remaining length is at most four bytes):
// - the first packet (the CONNECT) may be at most the pre-authentication limit;
// - nothing after it is read until the client is authenticated (a client may send before its
//   CONNACK, as MQTT allows: those bytes wait in the socket, not in the gateway), so that what an
//   authenticated client sends next is judged by the packet limit, never by the CONNECT's;
// - a packet over its limit closes the connection at its header. The guard buffers nothing.
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
  /** the client is authenticated (seen at its next bytes, or while they wait) */
  onAuthenticated?: () => void
}

const enum Phase { Type, Length, Body }

/** How often a client's waiting bytes look for its authentication (ms). */
const AUTH_POLL_MS = 2

/** Wraps a connection; `authenticated()` is asked as packets arrive. */
export function guardPackets (conn: Duplex, limits: PacketLimits, authenticated: () => boolean, events: PacketGuardEvents): Duplex {
  let phase = Phase.Type
  let length = 0
  let multiplier = 1
  let lengthBytes = 0
  let remaining = 0
  let packets = 0
  let authSeen = false
  let held: Buffer | undefined

  const isAuthenticated = (): boolean => {
    if (!authSeen && authenticated()) { authSeen = true; events.onAuthenticated?.() }
    return authSeen
  }

  /**
   * Walks the chunk's headers. Returns where to cut it: the chunk's length when it may all go on,
   * less when the rest must wait for the authentication, -1 when a packet is over its limit.
   */
  const inspect = (chunk: Buffer): number => {
    let i = 0
    while (i < chunk.length) {
      if (phase === Phase.Body) {
        const take = Math.min(remaining, chunk.length - i)
        remaining -= take
        i += take
        if (remaining === 0) { phase = Phase.Type; packets++ }
        continue
      }
      if (phase === Phase.Type) {
        // after the CONNECT, nothing more is read before the client is known
        if (packets >= 1 && !isAuthenticated()) return i
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
        if (lengthBytes === 4) { events.onViolation(Infinity, 0, isAuthenticated()); return -1 }
        continue
      }
      const auth = packets >= 1 && isAuthenticated()
      const limit = auth ? limits.packetBytes : limits.preAuthBytes
      const declared = 1 + lengthBytes + length
      if (declared > limit) { events.onViolation(declared, limit, auth); return -1 }
      remaining = length
      if (remaining === 0) { phase = Phase.Type; packets++ } else phase = Phase.Body
    }
    return chunk.length
  }

  const guard = new Duplex({
    read () { if (held === undefined) conn.resume() },
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

  const take = (chunk: Buffer): void => {
    const cut = inspect(chunk)
    if (cut < 0) { guard.destroy(); return }
    if (cut > 0 && !guard.push(cut === chunk.length ? chunk : chunk.subarray(0, cut))) conn.pause()
    if (cut < chunk.length) {
      // bytes sent before the CONNACK: they wait (the socket is paused) until the client is known
      held = chunk.subarray(cut)
      conn.pause()
      const wait = (): void => {
        if (guard.destroyed || held === undefined) return
        if (!isAuthenticated()) { setTimeout(wait, AUTH_POLL_MS); return }
        const rest = held
        held = undefined
        take(rest)
        if (held === undefined) conn.resume()
      }
      setTimeout(wait, AUTH_POLL_MS)
    }
  }
  conn.on('data', take)
  conn.on('end', () => guard.push(null))
  conn.on('error', (err) => guard.destroy(err))
  conn.on('close', () => { if (!guard.destroyed) guard.destroy() })
  return guard
}
