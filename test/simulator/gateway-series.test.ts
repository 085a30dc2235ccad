// The gateway's /metrics samples laid on the report's series: memory and outbox depth at their
// highest within each point, CPU as the rate of process_cpu_seconds_total over the point.
import t from 'tap'
import { withGatewaySamples } from '../../simulator/load/gateway-series.js'
import type { SecondStats } from '../../simulator/load/recorder.js'

const MB = 2 ** 20
const point = (t: number, spanS?: number): SecondStats => ({ t, rate: 10, p50: 1, p95: 2, p99: 3, errors: 0, ...(spanS === undefined ? {} : { spanS }) })

t.test('per-second points: the samples within each second, CPU since the previous one', async (t) => {
  const samples = [
    { t: 500, rss: 100 * MB, cpu: 1.0, depth: 0 },
    { t: 1500, rss: 110 * MB, cpu: 1.5, depth: 20 },
    { t: 2500, rss: 120 * MB, cpu: 2.5, depth: 5 },
    { t: 2900, rss: 130 * MB, cpu: 2.6, depth: 40 }
  ]
  const s = withGatewaySamples([point(0), point(1), point(2), point(3)], samples)
  t.same(s[0], { ...point(0), rssMb: 100, outboxDepth: 0 }, 'no CPU rate without an earlier sample')
  t.same(s[1], { ...point(1), rssMb: 110, outboxDepth: 20, cpuPercent: 50 })
  // 1.1 CPU seconds over the 1.4 s from the previous point's last sample: 79% of a core
  t.same(s[2], { ...point(2), rssMb: 130, outboxDepth: 40, cpuPercent: 79 }, 'the highest memory and depth of the second')
  t.same(s[3], point(3), 'a second without a sample has nothing to draw')
})

t.test('merged points (a long run): every sample of the span counts', async (t) => {
  const samples = Array.from({ length: 8 }, (_, i) => ({ t: i * 1000 + 100, rss: (100 + i) * MB, cpu: i * 0.5, depth: i === 2 ? 99 : 0 }))
  const s = withGatewaySamples([point(0, 4), point(4, 4)], samples)
  t.same(s.map((p) => [p.rssMb, p.outboxDepth, p.cpuPercent]), [[103, 99, 50], [107, 0, 50]])
})

t.test('no samples (a bare broker): the series as it was', async (t) => {
  t.same(withGatewaySamples([point(0), point(1)], []), [point(0), point(1)])
})
