// A load test's result as `stedi load-test --json` prints it, made up for the tests of what shows
// it (the report's model, the terminal summary): a steady run of 1,000 devices by default.
import { LATENCY_METHOD } from '../../simulator/load/recorder.js'
import type { LoadTestReport } from '../../simulator/load/report.js'
import type { LoadTestResult } from '../../simulator/load/run.js'

/** n points a second apart; with gateway samples (memory, CPU, outbox depth) from the second one on */
export const loadSeries = (n: number, rate: (i: number) => number, gateway = true): LoadTestResult['series'] => Array.from({ length: n }, (_, i) => ({
  t: i, rate: rate(i), p50: 2 + i / 10, p95: 5, p99: 8 + i, errors: 0,
  ...(gateway && i > 0 ? { rssMb: 140 + i, cpuPercent: 30 + i, outboxDepth: i * 300 } : {})
}))

export const loadResult = (over: Partial<LoadTestReport> = {}): LoadTestReport => ({
  startedAt: '2026-05-04T10:20:30.400Z',
  target: { mqtt: 'mqtt://127.0.0.1:1883', http: 'http://127.0.0.1:8080', metrics: ['http://127.0.0.1:8080'] },
  scenario: 'steady',
  devices: 1000,
  durationMs: 20_000,
  batch: 10,
  ratePerDevice: 40,
  readings: { generated: 800_000, acknowledged: 799_990, landed: 799_990, deduplicated: 0, rejected: 0, lost: 0, dropped: 0, failed: 10 },
  rate: 39_690,
  latency_ms: { p50: 12.35, p95: 150, p99: 1263.5, max: 2001 },
  latency_method: LATENCY_METHOD,
  series: loadSeries(21, (i) => 39_000 + i * 50),
  gateway: { peakRssMb: 1234, cpuSeconds: 30.5 },
  version: '0.1.0',
  ...over
})

/** ramp steps of 1 s offering 1,000, 2,000, 4,000 … readings/s, all held, at these p99s */
export const rampSteps = (p99s: number[]): Array<{ offered: number, seconds: number, window: { readings: number, p50: number, p99: number, errors: number, messages: number } }> =>
  p99s.map((p99, s) => ({ offered: 1000 * 2 ** s, seconds: 1, window: { readings: 1000 * 2 ** s, p50: 1, p99, errors: 0, messages: 100 } }))
