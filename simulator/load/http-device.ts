// A device that cannot hold an MQTT connection: it posts its batches to the HTTP API, one request
// at a time, retrying after 429/503 as told, and counts what was acknowledged (202).
import type { DeviceKind } from '../../contracts/topics.js'

export interface HttpDevice {
  record: (reading: Record<string, unknown>) => void
  stop: (graceMs?: number) => Promise<void>
  stats: () => { generated: number, acknowledged: number, pending: number, dropped: number }
}

export function createHttpDevice (o: {
  kind: DeviceKind, credential: string, httpUrl: string, batchSize: number
  onAck?: (readings: number, latencyMs: number) => void, onError?: () => void
}): HttpDevice {
  const queue: Array<Array<Record<string, unknown>>> = []
  let open: Array<Record<string, unknown>> = []
  let seq = 0
  let sending = false
  const stats = { generated: 0, acknowledged: 0 }
  const pump = async (): Promise<void> => {
    if (sending) return
    sending = true
    try {
      while (queue.length > 0) {
        const readings = queue[0]
        const started = performance.now()
        const res = await fetch(`${o.httpUrl}/v1/readings/${o.kind}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${o.credential}` },
          body: JSON.stringify({ seq: seq, readings })
        }).catch(() => undefined)
        if (res === undefined || res.status === 429 || res.status === 503 || res.status >= 500) {
          o.onError?.()
          const retry = Number(res?.headers.get('retry-after') ?? 1)
          await res?.arrayBuffer()
          await new Promise((resolve) => setTimeout(resolve, Math.min(5, retry) * 1000))
          continue
        }
        await res.arrayBuffer()
        o.onAck?.(readings.length, performance.now() - started)
        stats.acknowledged += readings.length
        queue.shift()
        seq++
      }
    } finally {
      sending = false
    }
  }
  return {
    record: (reading) => {
      stats.generated++
      open.push(reading)
      if (open.length >= o.batchSize) { queue.push(open); open = []; void pump() }
    },
    stop: async (graceMs = 10_000) => {
      if (open.length > 0) { queue.push(open); open = [] }
      const deadline = Date.now() + graceMs
      void pump()
      while ((queue.length > 0 || sending) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    },
    stats: () => ({ ...stats, pending: queue.reduce((a, q) => a + q.length, 0) + open.length, dropped: 0 })
  }
}
