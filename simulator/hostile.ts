// Hostile clients, for soak tests and benchmarks: what a broken or malicious client does to a
// gateway's connections. Each kind keeps its connection open as long as the gateway lets it and
// reports how long that was; a load keeps a number of them open, opening a new one as the gateway
// closes each, so the pressure lasts.
//   giant-connect  a CONNECT that declares 268 MB, then streams zeros
//   slow-body      an HTTP POST that declares a body and sends a byte now and then (no credential,
//                  or a device's own, as a device with a broken radio would)
//   idle           a TCP connection that never says anything
//   bad-login      CONNECTs with a wrong password, again and again
import net from 'node:net'

export type HostileKind = 'giant-connect' | 'slow-body' | 'idle' | 'bad-login'
export const HOSTILE_KINDS: readonly HostileKind[] = ['giant-connect', 'slow-body', 'idle', 'bad-login']

export interface HostileTarget {
  host: string
  mqttPort: number
  httpPort: number
  /** a valid device credential for slow bodies that authenticate (optional) */
  deviceCredential?: string
}

export interface HostileStats {
  opened: number
  /** connections the gateway closed (the rest were closed by the load at its end) */
  closedByGateway: number
  /** bytes the hostile clients managed to write */
  bytesSent: number
  /** connections that could not even be opened (refused: the gateway at its connection limit, or down) */
  refused: number
}

// the largest remaining length MQTT allows: 268,435,455 bytes
const GIANT_CONNECT_HEADER = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])

/** An MQTT CONNECT packet with a username and a (wrong) password. */
function connectPacket (username: string, password: string): Buffer {
  const str = (s: string): Buffer => { const b = Buffer.from(s); const l = Buffer.alloc(2); l.writeUInt16BE(b.length); return Buffer.concat([l, b]) }
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(`hostile-${Math.random().toString(36).slice(2)}`), str(username), str(password)])
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

interface Opened { socket: net.Socket, closedByUs: boolean }

/** Keeps `connections` hostile connections of the given kinds open until stop() is called. */
export function startHostileLoad (target: HostileTarget, connections: number, kinds: readonly HostileKind[] = HOSTILE_KINDS) {
  const stats: HostileStats = { opened: 0, closedByGateway: 0, bytesSent: 0, refused: 0 }
  const open = new Set<Opened>()
  let stopping = false
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, fn: () => void): void => { const t = setTimeout(() => { timers.delete(t); fn() }, ms); timers.add(t) }

  const write = (o: Opened, chunk: Buffer | string): void => {
    if (o.socket.destroyed) return
    stats.bytesSent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
    o.socket.write(chunk)
  }

  const openOne = (kind: HostileKind): void => {
    if (stopping) return
    const port = kind === 'slow-body' ? target.httpPort : target.mqttPort
    const socket = net.connect(port, target.host)
    const o: Opened = { socket, closedByUs: false }
    open.add(o)
    let connected = false
    socket.on('error', () => {})
    socket.on('data', () => {})
    socket.on('close', () => {
      open.delete(o)
      if (!connected) stats.refused++
      else if (!o.closedByUs) stats.closedByGateway++
      // keep the pressure: a new one of the same kind, a moment later
      if (!stopping) later(connected ? 100 : 200, () => openOne(kind))
    })
    socket.on('connect', () => {
      connected = true
      stats.opened++
      switch (kind) {
        case 'giant-connect': {
          write(o, GIANT_CONNECT_HEADER)
          const zeros = Buffer.alloc(16 * 1024)
          const pump = (): void => { if (socket.destroyed || stopping) return; write(o, zeros); later(20, pump) }
          pump()
          break
        }
        case 'slow-body': {
          const auth = target.deviceCredential !== undefined && Math.random() < 0.5 ? `Authorization: Bearer ${target.deviceCredential}\r\n` : ''
          write(o, `POST /v1/readings/step-trainer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n${auth}\r\n{"readings": [`)
          const trickle = (): void => { if (socket.destroyed || stopping) return; write(o, ' '); later(1000, trickle) }
          later(1000, trickle)
          break
        }
        case 'idle':
          break
        case 'bad-login': {
          const again = (): void => { if (socket.destroyed || stopping) return; write(o, connectPacket('sn-1', 'not-a-credential')) }
          again()
          break
        }
      }
    })
  }

  for (let i = 0; i < connections; i++) openOne(kinds[i % kinds.length])

  return {
    stats: (): HostileStats & { open: number } => ({ ...stats, open: open.size }),
    stop: async (): Promise<HostileStats> => {
      stopping = true
      for (const t of timers) clearTimeout(t)
      for (const o of open) { o.closedByUs = true; o.socket.destroy() }
      await new Promise((resolve) => setImmediate(resolve))
      return { ...stats }
    }
  }
}
