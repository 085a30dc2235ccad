// What the load-test report shows, as data: the run's header, the figures (each a raw value and
// its text with thousands separators), and the charts with their ticks. html.ts only marks it up,
// so that what a reader sees is tested here without a browser, and the browser test reads the
// same ids back.
import { niceTicks, timeAxis, type TimeUnit } from './axis.js'
import { formatNumber, formatTick } from './format.js'
import { describeKnee } from './knee.js'
import type { LoadTestResult } from './run.js'

/** the bare aedes run of --baseline: the same scenario against a broker without the gateway's work */
export type BaselineResult = Pick<LoadTestResult, 'scenario' | 'rate' | 'latency_ms' | 'series' | 'recoveryMs' | 'knee'>

/** what `stedi load-test --json` prints, and the report shows */
export type LoadTestReport = LoadTestResult & { version?: string, baseline?: BaselineResult, ratio?: number }

/** One line of the report: `text` is what is shown, `value` the raw value (the JSON's) behind it. */
export interface Figure { id: string, label: string, value: number | string | null, text: string, unit?: string }

export interface ChartLine { id: string, name: string, color: string, dashed: boolean, points: Array<[number, number]> }
export interface Tick { value: number, label: string }
export interface Chart { id: string, title: string, unit: string, lines: ChartLine[], x: { unit: TimeUnit, ticks: Tick[] }, y: { ticks: Tick[] } }

export interface ReportModel { title: string, header: Figure[], figures: Figure[], charts: Chart[] }

const num = (id: string, label: string, value: number | null | undefined, unit?: string, decimals = 0): Figure =>
  ({ id, label, value: value ?? null, text: formatNumber(value, decimals), ...(unit === undefined ? {} : { unit }) })
const str = (id: string, label: string, text: string): Figure => ({ id, label, value: text, text })
const ms = (id: string, label: string, value: number | null | undefined): Figure => num(id, label, value, 'ms', 2)

function header (r: LoadTestReport): Figure[] {
  return [
    str('run-date', 'run started', r.startedAt),
    ...(r.version === undefined ? [] : [str('version', 'stedi version', r.version)]),
    str('scenario', 'scenario', r.scenario),
    str('target-mqtt', 'MQTT target', r.target.mqtt),
    ...(r.target.http === null ? [] : [str('target-http', 'HTTP target', r.target.http)]),
    ...(r.target.metrics.length === 0 ? [] : [str('target-metrics', 'metrics from', r.target.metrics.join(', '))]),
    num('opt-devices', 'devices', r.devices),
    num('opt-duration', 'duration', r.durationMs / 1000, 's', 1),
    num('opt-batch', 'readings per message', r.batch),
    num('opt-rate', 'rate per device', r.ratePerDevice, 'readings/s', 2),
    ...(r.knee === undefined ? [] : [ms('opt-p99', 'ramp threshold, p99', r.knee.thresholds.p99Ms)]),
    str('opt-baseline', 'baseline (bare aedes)', r.baseline === undefined ? 'no' : 'yes')
  ]
}

function figures (r: LoadTestReport): Figure[] {
  const n = r.readings
  const out = [
    num('generated', 'generated', n.generated, 'readings'), num('acknowledged', 'acknowledged', n.acknowledged, 'readings'),
    num('landed', 'landed', n.landed, 'readings'), num('deduplicated', 'deduplicated', n.deduplicated, 'readings'),
    num('rejected', 'rejected', n.rejected, 'readings'), num('lost', 'lost (acknowledged, not landed)', n.lost, 'readings'),
    num('dropped', 'dropped by device buffers', n.dropped, 'readings'), num('failed', 'failed (never acknowledged)', n.failed, 'readings'),
    num('rate', 'rate, acknowledged', r.rate, 'readings/s'),
    ms('p50', 'latency p50', r.latency_ms.p50), ms('p95', 'latency p95', r.latency_ms.p95), ms('p99', 'latency p99', r.latency_ms.p99), ms('max', 'latency max', r.latency_ms.max),
    str('latency-method', 'how the percentiles were computed', `${r.latency_method.method}, ${r.latency_method.significantDigits} significant digits, ${r.latency_method.resolution} resolution: ${r.latency_method.description}`)
  ]
  if (r.gateway !== null) out.push(num('gateway-peak-rss', 'gateway peak memory (resident)', r.gateway.peakRssMb, 'MB'), num('gateway-cpu', 'gateway CPU', r.gateway.cpuSeconds, 'CPU s', 2))
  if (r.knee !== undefined) out.push(str('knee', 'ramp', describeKnee(r.knee)))
  if (r.recoveryMs !== undefined) out.push(r.recoveryMs === null ? str('storm-recovery', 'reconnect storm recovery', 'not recovered') : num('storm-recovery', 'reconnect storm recovery', r.recoveryMs, 'ms'))
  if (r.soak !== undefined) {
    out.push(num('soak-rss-start', 'soak memory at the start', r.soak.rssStartMb, 'MB'), num('soak-rss-end', 'soak memory at the end', r.soak.rssEndMb, 'MB'),
      num('soak-rss-slope', 'soak memory growth', r.soak.rssSlopeMbPerMin, 'MB/min', 2), num('soak-outbox-max', 'soak outbox depth, highest', r.soak.outboxDepthMax, 'readings'))
  }
  const b = r.baseline
  if (b !== undefined) {
    out.push(num('baseline-rate', 'bare aedes rate', b.rate, 'readings/s'), ms('baseline-p99', 'bare aedes latency p99', b.latency_ms.p99), num('ratio', 'gateway / bare broker', r.ratio, undefined, 2))
    if (b.recoveryMs !== undefined) out.push(b.recoveryMs === null ? str('baseline-recovery', 'bare aedes storm recovery', 'not recovered') : num('baseline-recovery', 'bare aedes storm recovery', b.recoveryMs, 'ms'))
    if (b.knee !== undefined) out.push(str('baseline-knee', 'bare aedes ramp', describeKnee(b.knee)))
  }
  return out
}

type Point = LoadTestResult['series'][number]
const line = (id: string, name: string, color: string, dashed: boolean, series: readonly Point[], y: (p: Point) => number | undefined): ChartLine =>
  ({ id, name, color, dashed, points: series.flatMap((p) => { const v = y(p); return v === undefined ? [] : [[p.t, v] as [number, number]] }) })

// a point without acknowledgements has no latency: drawn as 0 it would read as a fast second
const acked = (y: (p: Point) => number) => (p: Point): number | undefined => p.rate > 0 ? y(p) : undefined

function chart (id: string, title: string, unit: string, lines: ChartLine[]): Chart {
  const time = timeAxis(Math.max(1, ...lines.flatMap((l) => l.points.map((p) => p[0]))))
  const ys = niceTicks(Math.max(0, ...lines.flatMap((l) => l.points.map((p) => p[1]))))
  const step = ys[1] - ys[0]
  return { id, title, unit, lines, x: { unit: time.unit, ticks: time.ticks.map((x) => ({ value: x.s, label: x.label })) }, y: { ticks: ys.map((v) => ({ value: v, label: formatTick(v, step) })) } }
}

function charts (r: LoadTestReport): Chart[] {
  const b = r.baseline
  const bare = b === undefined ? '' : b.scenario === r.scenario ? 'bare aedes' : `bare aedes (${b.scenario}: it has no HTTP API)`
  const out = [
    chart('chart-rate', 'Acknowledged readings per second', 'readings/s', [
      line('rate', 'gateway', '#1f77b4', false, r.series, (p) => p.rate),
      ...(b === undefined ? [] : [line('baseline-rate', bare, '#ff7f0e', true, b.series, (p) => p.rate)])
    ]),
    chart('chart-latency', 'Acknowledgement latency', 'ms', [
      line('p50', 'gateway p50', '#2ca02c', false, r.series, acked((p) => p.p50)),
      line('p99', 'gateway p99', '#d62728', false, r.series, acked((p) => p.p99)),
      ...(b === undefined ? [] : [line('baseline-p50', `${bare} p50`, '#17becf', true, b.series, acked((p) => p.p50)), line('baseline-p99', `${bare} p99`, '#ff7f0e', true, b.series, acked((p) => p.p99))])
    ])
  ]
  // the gateway's own figures, from its /metrics: a bare broker has none to compare
  const gateway: Array<[string, string, string, string, (p: Point) => number | undefined]> = [
    ['cpu', 'Gateway CPU (rate of process_cpu_seconds_total)', '% of one core', '#8c564b', (p) => p.cpuPercent],
    ['memory', 'Gateway memory (resident)', 'MB', '#9467bd', (p) => p.rssMb],
    ['outbox', 'Gateway outbox depth', 'readings', '#7f7f7f', (p) => p.outboxDepth]
  ]
  for (const [id, title, unit, color, y] of gateway) {
    const l = line(id, 'gateway', color, false, r.series, y)
    if (l.points.length > 0) out.push(chart(`chart-${id}`, title, unit, [l]))
  }
  return out
}

export function buildReport (r: LoadTestReport): ReportModel {
  return { title: `stedi load test: ${r.scenario}, ${formatNumber(r.devices)} devices`, header: header(r), figures: figures(r), charts: charts(r) }
}
