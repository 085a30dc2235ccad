// The load test's recorder: latencies in HDR histograms, so that millions of acknowledgements fit
// in a bounded memory, with percentiles within the histogram's precision, and a bounded series.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { LATENCY_METHOD, Recorder } from '../../simulator/load/recorder.js'
import { createRandom } from '../../simulator/generate.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

// the histograms are typed arrays: their bytes count in arrayBuffers, not in the heap
const heapMb = (): number => { gc(); gc(); const m = process.memoryUsage(); return (m.heapUsed + m.arrayBuffers) / 2 ** 20 }

t.test('5 million samples: bounded memory, percentiles within the precision, a bounded series', async (t) => {
  const N = 5_000_000
  const random = createRandom(7)
  // every sample is also kept here, in a typed array (40 MB, allocated before the baseline), to
  // compute the exact percentiles the histogram must agree with
  const exact = new Float64Array(N)
  let clock = 0
  const before = heapMb()
  const recorder = new Recorder({ now: () => clock, maxPoints: 600, windowEdgesMs: [0, 1_000_000, 2_500_000] })
  for (let i = 0; i < N; i++) {
    // a long-tailed latency: mostly a few ms, now and then seconds
    const ms = 0.2 + -Math.log(1 - random()) * (random() < 0.01 ? 2000 : 5)
    exact[i] = ms
    clock = i / 2 // 2,000 acknowledgements per second for 2,500 s: longer than the series' 600 points
    recorder.ack(1, ms)
    if (i % 100_000 === 0) recorder.error()
  }
  const grownMb = heapMb() - before
  t.ok(grownMb < 16, `the recorder grew the heap and buffers by ${grownMb.toFixed(1)} MB for ${N} samples (histograms ${(recorder.footprintBytes() / 1024).toFixed(0)} KB)`)

  const o = recorder.overall()
  t.equal(o.messages, N)
  exact.sort()
  const precision = 10 ** -LATENCY_METHOD.significantDigits
  for (const [name, q] of [['p50', 50], ['p95', 95], ['p99', 99]] as const) {
    const want = exact[Math.ceil((q / 100) * N) - 1]
    // within the histogram's relative precision, plus its 1 µs resolution
    t.ok(Math.abs(o[name] - want) <= want * precision + 0.001, `${name}: ${o[name]} ms, exact ${want.toFixed(4)} ms`)
  }
  t.equal(o.max, exact[N - 1], 'the maximum is exact')

  const series = recorder.series()
  t.ok(series.length <= 600, `${series.length} points`)
  const readings = series.reduce((a, s) => a + s.rate * (s.spanS ?? 1), 0)
  t.equal(Math.round(readings), N, 'the series accounts for every reading')
  t.equal(series.reduce((a, s) => a + s.errors, 0), N / 100_000, 'and every error')
  t.ok(series.every((s, i) => i === 0 || s.t > series[i - 1].t), 'in time order')
  t.ok(series.every((s) => s.p99 >= s.p50), 'p99 >= p50 in every point')

  const [w1, w2] = recorder.windows()
  t.equal(w1.messages + w2.messages, N, 'the windows split the run')
  t.equal(w1.readings, 2_000_000)
})

t.test('per-second points: rate, percentiles and errors of each second; empty seconds are zero', async (t) => {
  let clock = 10_000
  const r = new Recorder({ now: () => clock })
  clock += 100; r.ack(5, 10); r.ack(5, 20)
  clock += 2000; r.ack(3, 30); r.error()
  const s = r.series()
  t.same(s.map((p) => [p.t, p.rate, p.errors]), [[0, 10, 0], [1, 0, 0], [2, 3, 1]])
  const near = (got: number, want: number): boolean => Math.abs(got - want) <= want * 10 ** -LATENCY_METHOD.significantDigits
  t.ok(near(s[0].p99, 20), `p99 of the first second ${s[0].p99}`)
  t.ok(near(s[2].p50, 30), `p50 of the third second ${s[2].p50}`)
  t.same(new Recorder().series(), [], 'nothing recorded, no points')
})
