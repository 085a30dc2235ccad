// Acknowledgements over time: readings per second and latency percentiles, per second, for the
// windows a scenario names up front (the ramp's steps), and overall. Latencies go into HDR
// histograms, never into arrays: an hour at 100,000 readings/s is 360 million samples, which a
// list (sorted, spread into Math.max) cannot hold, while a histogram of 3 significant digits is a
// fixed ~200 KB whatever the count. The per-second series is bounded too (see maxPoints).
import { type Histogram, build } from 'hdr-histogram-js'

/** How the report's percentiles are computed: said in the JSON result and the HTML report. */
export const LATENCY_METHOD = Object.freeze({
  method: 'HDR histogram (hdr-histogram-js, pure JS)',
  significantDigits: 3,
  /** latencies are recorded in whole microseconds, from 1 µs to 1 h (a longer one widens the histogram) */
  resolution: '1 µs',
  description: 'percentiles from an HDR histogram with 3 significant digits: each is within 0.1% of the exact value (and 1 µs)'
})

export interface SecondStats { t: number, rate: number, p50: number, p95: number, p99: number, errors: number, spanS?: number }
export interface WindowStats { readings: number, p50: number, p99: number, errors: number, messages: number }

export interface RecorderOptions {
  /** the clock, in ms (default performance.now); tests inject one */
  now?: () => number
  /** edges (ms from the start) of windows kept apart for windows(): [0, a, b] gives [0, a) and [a, b) */
  windowEdgesMs?: readonly number[]
  /** points kept in series() (default 3,600): past that, neighbouring points merge and each covers twice the time */
  maxPoints?: number
}

const MAX_US = 3_600_000_000

/** An HDR histogram of whole units from 1 to 3,600,000,000 (µs: an hour), widening beyond. */
export function histogram (): Histogram {
  return build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_US,
    numberOfSignificantValueDigits: LATENCY_METHOD.significantDigits,
    autoResize: true,
    useWebAssembly: false
  })
}

const toUs = (ms: number): number => Math.max(1, Math.round(ms * 1000))
const toMs = (us: number): number => us / 1000

export class Recorder {
  private readonly now: () => number
  private readonly started: number
  private readonly maxPoints: number
  private readonly all = histogram()
  private maxMs = 0
  // the open point of the series and its own histogram, reset when it closes
  private readonly point = histogram()
  private pointIndex = 0
  private pointReadings = 0
  private pointErrors = 0
  private stepS = 1
  // percentiles of closed points folded back into the open one by coarsen()
  private carried: { p50: number, p95: number, p99: number } | undefined
  private readonly closed: SecondStats[] = []
  private readonly edges: readonly number[]
  private readonly windowStats: Array<{ h: Histogram, readings: number, errors: number }>

  constructor (options: RecorderOptions = {}) {
    this.now = options.now ?? (() => performance.now())
    this.started = this.now()
    this.maxPoints = Math.max(2, options.maxPoints ?? 3600)
    this.edges = options.windowEdgesMs ?? []
    this.windowStats = this.edges.slice(1).map(() => ({ h: histogram(), readings: 0, errors: 0 }))
  }

  ack (readings: number, latencyMs: number): void {
    const t = this.advance()
    const us = toUs(latencyMs)
    this.all.recordValue(us)
    this.point.recordValue(us)
    this.pointReadings += readings
    if (latencyMs > this.maxMs) this.maxMs = latencyMs
    const w = this.windowAt(t)
    if (w !== undefined) { w.h.recordValue(us); w.readings += readings }
  }

  error (): void {
    const t = this.advance()
    this.pointErrors++
    const w = this.windowAt(t)
    if (w !== undefined) w.errors++
  }

  /** ms since the recorder started: the series' clock, for samples taken beside it */
  elapsedMs (): number {
    return this.now() - this.started
  }

  /** the windows of windowEdgesMs, in order */
  windows (): WindowStats[] {
    return this.windowStats.map((w) => ({
      readings: w.readings, errors: w.errors, messages: w.h.totalCount,
      p50: toMs(w.h.getValueAtPercentile(50)), p99: toMs(w.h.getValueAtPercentile(99))
    }))
  }

  overall (): { p50: number, p95: number, p99: number, max: number, messages: number } {
    const h = this.all
    return { p50: toMs(h.getValueAtPercentile(50)), p95: toMs(h.getValueAtPercentile(95)), p99: toMs(h.getValueAtPercentile(99)), max: this.maxMs, messages: h.totalCount }
  }

  /** one point per second (per 2^k seconds once the run outlasts maxPoints), up to the last event */
  series (): SecondStats[] {
    const open = this.pointReadings > 0 || this.pointErrors > 0 || this.point.totalCount > 0 || this.carried !== undefined ? [this.summary()] : []
    return [...this.closed, ...open]
  }

  /** bytes the histograms hold (they are all the recorder keeps apart from the bounded series) */
  footprintBytes (): number {
    return [this.all, this.point, ...this.windowStats.map((w) => w.h)].reduce((a, h) => a + h.estimatedFootprintInBytes, 0)
  }

  private windowAt (t: number): { h: Histogram, readings: number, errors: number } | undefined {
    for (let i = 0; i < this.windowStats.length; i++) if (t >= this.edges[i] && t < this.edges[i + 1]) return this.windowStats[i]
    return undefined
  }

  // moves the open point to the one holding now, closing those before it; returns now (ms from the start)
  private advance (): number {
    const t = this.now() - this.started
    const index = Math.floor(t / 1000 / this.stepS)
    if (index <= this.pointIndex) return t
    this.closed.push(this.summary())
    this.point.reset()
    this.pointReadings = 0
    this.pointErrors = 0
    this.carried = undefined
    // seconds without events are points of zero, as a chart of rate over time needs them
    for (let i = this.pointIndex + 1; i < index && this.closed.length <= this.maxPoints; i++) this.closed.push(this.empty(i))
    this.pointIndex = index
    while (this.closed.length >= this.maxPoints) this.coarsen()
    return t
  }

  private summary (): SecondStats {
    const h = this.point
    const c = this.carried
    const p = (q: 50 | 95 | 99): number => Math.max(h.totalCount === 0 ? 0 : toMs(h.getValueAtPercentile(q)), c === undefined ? 0 : c[`p${q}`])
    return { t: this.pointIndex * this.stepS, rate: this.pointReadings / this.stepS, p50: p(50), p95: p(95), p99: p(99), errors: this.pointErrors, ...(this.stepS > 1 ? { spanS: this.stepS } : {}) }
  }

  private empty (index: number): SecondStats {
    return { t: index * this.stepS, rate: 0, p50: 0, p95: 0, p99: 0, errors: 0, ...(this.stepS > 1 ? { spanS: this.stepS } : {}) }
  }

  // Halves the series: each pair of points becomes one covering both. The rate and the errors add
  // up exactly; a merged point's percentiles are the larger of the pair's (the histograms of
  // closed points are not kept): an upper bound, which is what a latency chart must not hide.
  private coarsen (): void {
    const span = this.stepS * 2
    const merged: SecondStats[] = []
    for (const p of this.closed) {
      const start = Math.floor(p.t / span) * span
      const last = merged.at(-1)
      if (last !== undefined && last.t === start) {
        merged[merged.length - 1] = {
          t: start, rate: last.rate + p.rate / 2, errors: last.errors + p.errors, spanS: span,
          p50: Math.max(last.p50, p.p50), p95: Math.max(last.p95, p.p95), p99: Math.max(last.p99, p.p99)
        }
      } else {
        merged.push({ ...p, t: start, rate: p.rate / 2, spanS: span })
      }
    }
    this.stepS = span
    this.pointIndex = Math.floor(this.pointIndex / 2)
    // the open point may now share its span with the last closed one: that one folds back into it
    const shared = merged.at(-1)
    if (shared !== undefined && shared.t === this.pointIndex * span) {
      merged.pop()
      this.pointReadings += shared.rate * span
      this.pointErrors += shared.errors
      this.carried = { p50: shared.p50, p95: shared.p95, p99: shared.p99 }
    }
    this.closed.length = 0
    this.closed.push(...merged)
  }
}
