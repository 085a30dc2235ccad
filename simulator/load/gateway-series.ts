// The gateway's /metrics samples (taken about once a second) laid on the recorder's series, so
// that the report charts memory, CPU and outbox depth on the same time axis as rate and latency.
import type { SecondStats } from './recorder.js'

/** One scrape: t in ms on the recorder's clock, resident bytes, CPU seconds, outbox readings. */
export interface GatewaySample { t: number, rss: number, cpu: number, depth: number }

export type GatewayPoint = SecondStats & { rssMb?: number, cpuPercent?: number, outboxDepth?: number }

/**
 * Memory and outbox depth at their highest within each point (a merged point of a long run must
 * not hide a peak); CPU as the rate of process_cpu_seconds_total from the last sample before the
 * point (or its first, when none is earlier) to its last one, in % of one core.
 */
export function withGatewaySamples (series: readonly SecondStats[], samples: readonly GatewaySample[]): GatewayPoint[] {
  // scrapes are concurrent: one slower than a second resolves after the next
  const sorted = [...samples].sort((a, b) => a.t - b.t)
  let i = 0
  let previous: GatewaySample | undefined
  return series.map((p) => {
    const endMs = (p.t + (p.spanS ?? 1)) * 1000
    const within: GatewaySample[] = []
    for (; i < sorted.length && sorted[i].t < endMs; i++) if (sorted[i].t >= p.t * 1000) within.push(sorted[i])
    if (within.length === 0) return p
    const from = previous ?? within[0]
    const last = within.at(-1)!
    previous = last
    const seconds = (last.t - from.t) / 1000
    return {
      ...p,
      rssMb: Math.round(Math.max(...within.map((s) => s.rss)) / 2 ** 20),
      outboxDepth: Math.max(...within.map((s) => s.depth)),
      ...(seconds > 0 ? { cpuPercent: Math.round(((last.cpu - from.cpu) / seconds) * 100) } : {})
    }
  })
}
