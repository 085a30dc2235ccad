// MQTT publishers for the gateway benchmarks: P clients, each M QoS 1 messages of one reading or a
// batch, K in flight each; the publish-to-PUBACK latencies and every acknowledged reading's landing line.
import mqtt from 'mqtt'
import { issueCredential } from '../../gateway/credentials.js'

export interface LoadResult { messages: number, readings: number, wallMs: number, latencies: number[], acked: Set<string> }

export interface DriveOptions {
  url: string
  batch: number
  /** authenticate as devices under this secret (none: a bare broker) */
  secret?: string
  publishers: number
  messages: number
  inflight: number
  /** the first publisher's index (to keep several drives' devices apart) */
  firstPublisher?: number
}

export async function driveMqtt (o: DriveOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const acked = new Set<string>()
  const clients = await Promise.all(Array.from({ length: o.publishers }, async (_, i) => {
    const p = (o.firstPublisher ?? 0) + i
    const id = `bench-${p}@test.com`
    const client = mqtt.connect(o.url, o.secret !== undefined ? { username: id, password: issueCredential(o.secret, 'accelerometer', id), reconnectPeriod: 0 } : { reconnectPeriod: 0 })
    await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
    return { client, id, p }
  }))
  const started = performance.now()
  await Promise.all(clients.map(async ({ client, id, p }) => {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < o.messages) {
        const m = next++
        const readings = Array.from({ length: o.batch }, (_, k) => ({ timestamp: 1655564444103 + p * 1e8 + m * o.batch + k, x: 1, y: 0, z: -1 }))
        const payload = o.batch === 1 ? JSON.stringify(readings[0]) : JSON.stringify({ seq: m, readings })
        const t0 = performance.now()
        await client.publishAsync(`stedi/v1/accelerometer/${id}/readings`, payload, { qos: 1 })
        latencies.push(performance.now() - t0)
        if (o.secret !== undefined) for (const r of readings) acked.add(JSON.stringify({ user: id, ...r }))
      }
    }
    await Promise.all(Array.from({ length: o.inflight }, worker))
  }))
  const wallMs = performance.now() - started
  await Promise.all(clients.map(async ({ client }) => await client.endAsync()))
  return { messages: o.publishers * o.messages, readings: o.publishers * o.messages * o.batch, wallMs, latencies, acked }
}

export const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(2)) }
