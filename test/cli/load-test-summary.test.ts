// stedi load-test's terminal summary: figures with thousands separators, and the ramp's line says
// "knee" only when a threshold was crossed; otherwise that none was, and the highest rate held.
import t from 'tap'
import { summaryLines } from '../../cli/load-test-summary.js'
import { findKnee } from '../../simulator/load/knee.js'
import { loadResult, loadSeries, rampSteps } from '../helpers/load-result.js'

const thresholds = { p99Ms: 1000, errorRate: 0.01 }

t.test('a steady run: every figure with its separators', async (t) => {
  const lines = summaryLines(loadResult())
  t.same(lines.slice(0, 5), [
    'scenario steady: 1,000 devices, 20 s, 10 readings per message, 40 readings/s per device',
    'readings    generated 800,000, acknowledged 799,990, landed 799,990, deduplicated 0, rejected 0, lost 0; device buffers dropped 0, failed 10',
    'rate        39,690 acknowledged readings/s',
    'latency     p50 12.35 ms, p95 150 ms, p99 1,263.5 ms, max 2,001 ms',
    'gateway     peak 1,234 MB, 30.5 CPU s'
  ])
  t.notOk(lines.some((l) => l.startsWith('ramp')), 'no ramp line')
  t.equal(summaryLines(loadResult(), 'out.html').at(-1), 'report      out.html')
})

t.test('a ramp that never crossed a threshold: no knee claimed', async (t) => {
  const lines = summaryLines(loadResult({ scenario: 'ramp', knee: findKnee(rampSteps([10, 20, 40]), thresholds) }))
  t.ok(lines.includes('ramp        thresholds (p99 1,000 ms, errors 1%) never crossed; the highest rate held was 4,000 readings/s of 4,000 offered (p99 40 ms)'), lines.join('\n'))
  t.notOk(lines.some((l) => /knee/.test(l)))
})

t.test('a ramp that crossed one: the knee, and the step that crossed', async (t) => {
  const lines = summaryLines(loadResult({ scenario: 'ramp', knee: findKnee(rampSteps([10, 20, 1500]), thresholds) }))
  t.ok(lines.includes('ramp        knee at 2,000 readings/s of 2,000 offered (p99 20 ms): the next step, 4,000 readings/s offered, passed p99 1,000 ms (p99 1,500 ms)'), lines.join('\n'))
})

t.test('--baseline: the bare broker\'s figures, its ramp said the same way', async (t) => {
  const baseline = { scenario: 'ramp' as const, rate: 41_000, latency_ms: { p50: 3, p95: 9, p99: 20, max: 40 }, series: loadSeries(3, () => 1, false), knee: findKnee(rampSteps([1, 2]), thresholds) }
  const lines = summaryLines(loadResult({ scenario: 'ramp', knee: findKnee(rampSteps([1, 2]), thresholds), baseline, ratio: 0.97 }))
  t.equal(lines.find((l) => l.startsWith('baseline')), 'baseline    bare aedes 41,000 readings/s, p99 20 ms; gateway / bare = 0.97; bare aedes ramp: thresholds (p99 1,000 ms, errors 1%) never crossed; the highest rate held was 2,000 readings/s of 2,000 offered (p99 2 ms)')
})
