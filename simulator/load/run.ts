// stedi load-test: drives a gateway with emulated devices in a named scenario and reconciles every
// reading: generated, acknowledged, landed, deduplicated, rejected and lost (acknowledged but
// accounted for nowhere, which must be 0), with acknowledgement latency and rate over time, and the
// gateway's memory and CPU from its /metrics. Every loop is bounded in count and time.
import { randomBytes } from 'node:crypto'
import type { DeviceKind } from '../../contracts/topics.js'
import { type Device, createDevice } from '../../firmware-mock/device.js'
import { phoneReading, stepTrainerReading } from '../../firmware-mock/sensors.js'
import { createRandom } from '../generate.js'
import { checkMqttCredentials, checkReachable, checkTarget } from '../preflight.js'
import { type HttpDevice, createHttpDevice } from './http-device.js'
import { type GatewayPoint, type GatewaySample, withGatewaySamples } from './gateway-series.js'
import { type Knee, type KneeThresholds, findKnee } from './knee.js'
import { type Samples, scrapeAll, sumOf } from './prometheus.js'
import { LATENCY_METHOD, Recorder } from './recorder.js'

export const SCENARIOS = ['steady', 'ramp', 'spike', 'storm', 'soak', 'mixed'] as const
export type Scenario = (typeof SCENARIOS)[number]

export interface LoadTestOptions {
  mqttUrl: string
  /** the gateway's HTTP API: customers, readings (mixed), and /metrics for the reconciliation; absent for a bare broker */
  httpUrl?: string
  /** the gateways whose /metrics are summed for the reconciliation (default: httpUrl); several behind a balancer */
  metricsUrls?: readonly string[]
  scenario: Scenario
  devices: number
  durationMs: number
  /** readings per message */
  batch: number
  /** readings per second per device (the base rate of the scenario) */
  ratePerDevice: number
  credential: (kind: DeviceKind, identity: string) => string
  /** ramp: the knee is where p99 latency or the error rate crosses these */
  thresholds?: KneeThresholds
  allowRemote?: boolean
  onProgress?: (message: string) => void
}

export interface LoadTestResult {
  /** when the run started: the series' time 0 (ISO 8601, UTC) */
  startedAt: string
  /** what was driven and measured (URLs without credentials) */
  target: { mqtt: string, http: string | null, metrics: string[] }
  scenario: Scenario
  devices: number
  durationMs: number
  batch: number
  /** readings per second per device (the scenario's base rate) */
  ratePerDevice: number
  readings: { generated: number, acknowledged: number, landed: number | null, deduplicated: number | null, rejected: number | null, lost: number | null, dropped: number, failed: number }
  /** acknowledged readings per second over the run */
  rate: number
  latency_ms: { p50: number, p95: number, p99: number, max: number }
  /** how the percentiles were computed (an HDR histogram: within its precision, not exact) */
  latency_method: typeof LATENCY_METHOD
  /** per second (per 2^k s in a long run), with the gateway's memory, CPU and outbox depth where scraped */
  series: GatewayPoint[]
  gateway: { peakRssMb: number, cpuSeconds: number } | null
  knee?: Knee
  recoveryMs?: number | null
  soak?: { rssStartMb: number, rssEndMb: number, rssSlopeMbPerMin: number, outboxDepthMax: number }
}

export { checkTarget }

/** Per-device rate (readings/s) at time t (ms) of the scenario; ramp doubles it each step. */
function rateAt (o: LoadTestOptions, t: number, steps: number): number {
  switch (o.scenario) {
    case 'ramp': return o.ratePerDevice * 2 ** Math.min(steps - 1, Math.floor(t / (o.durationMs / steps)))
    case 'spike': {
      const spike = Math.min(30_000, o.durationMs / 3)
      const from = (o.durationMs - spike) / 2
      return t >= from && t < from + spike ? o.ratePerDevice * 10 : o.ratePerDevice
    }
    default: return o.ratePerDevice
  }
}

export async function runLoadTest (o: LoadTestOptions): Promise<LoadTestResult> {
  const metricsUrls = o.metricsUrls ?? (o.httpUrl === undefined ? [] : [o.httpUrl])
  for (const url of [o.mqttUrl, ...(o.httpUrl === undefined ? [] : [o.httpUrl]), ...metricsUrls]) checkTarget(url, o.allowRemote === true)
  for (const url of new Set([o.mqttUrl, ...(o.httpUrl === undefined ? [] : [o.httpUrl]), ...metricsUrls])) await checkReachable(url)
  const say = o.onProgress ?? (() => {})
  const run = randomBytes(3).toString('hex')
  // one connection with a credential as the devices' before a thousand devices retry a refused one
  await checkMqttCredentials(o.mqttUrl, `the load test's ${o.devices} step-trainer and accelerometer devices`, `lt-${run}-probe`, o.credential('step-trainer', `lt-${run}-probe`))
  const steps = 6
  // the ramp's steps are windows of their own: the recorder keeps no list of samples to cut later
  const recorder = new Recorder({ windowEdgesMs: o.scenario === 'ramp' ? Array.from({ length: steps + 1 }, (_, s) => (s * o.durationMs) / steps) : [] })
  const startedAt = new Date().toISOString()
  const random = createRandom(1)
  const before = o.httpUrl === undefined ? undefined : await scrapeAll(metricsUrls)

  const mqttDevices: Device[] = []
  const httpDevices: HttpDevice[] = []
  const all: Array<{ record: (r: Record<string, unknown>) => void, kind: DeviceKind }> = []
  for (let i = 0; i < o.devices; i++) {
    const kind: DeviceKind = i % 2 === 0 ? 'step-trainer' : 'accelerometer'
    const identity = kind === 'step-trainer' ? `lt-${run}-${i}` : `lt-${run}-${i}@test.com`
    if (o.scenario === 'mixed' && i % 4 >= 2 && o.httpUrl !== undefined) {
      const d = createHttpDevice({ kind, credential: o.credential(kind, identity), httpUrl: o.httpUrl, batchSize: o.batch, onAck: (n, ms) => recorder.ack(n, ms), onError: () => recorder.error() })
      httpDevices.push(d)
      all.push({ record: d.record, kind })
    } else {
      const d = createDevice({ kind, identity, credential: o.credential(kind, identity), mqttUrl: o.mqttUrl, batchSize: o.batch, bufferBatches: 100_000, random, onAck: (n, ms) => recorder.ack(n, ms), backoff: { baseMs: 50, maxMs: 2000 } })
      mqttDevices.push(d)
      all.push({ record: d.record, kind })
    }
  }
  let next = 0
  try {
    await Promise.all(Array.from({ length: 100 }, async () => { while (next < mqttDevices.length) await mqttDevices[next++].start() }))
  } catch (err) {
    // the devices that did connect, and those still retrying, would keep the process alive
    next = mqttDevices.length
    await Promise.all([...mqttDevices.map(async (d) => await d.stop(0)), ...httpDevices.map(async (d) => await d.stop(0))])
    throw err
  }
  say(`${o.devices} devices connected`)

  const samples: GatewaySample[] = []
  const sampler = o.httpUrl === undefined
    ? undefined
    : setInterval(() => {
      // on the recorder's clock, which started before the devices connected, as the series'
      const t = recorder.elapsedMs()
      scrapeAll(metricsUrls).then((s) => samples.push({
        t, rss: sumOf(s, 'process_resident_memory_bytes'), cpu: sumOf(s, 'process_cpu_seconds_total'), depth: sumOf(s, 'stedi_outbox_depth')
      }), () => {})
    }, 1000)

  // the load: every 100 ms each device reads what its rate owes (fractions carry over)
  const owed = new Float64Array(all.length)
  const started = performance.now()
  let stormAt: number | undefined
  let recoveryMs: number | null | undefined
  const TICK_MS = 100
  for (let tick = 0; tick * TICK_MS < o.durationMs; tick++) {
    const t = tick * TICK_MS
    const due = started + t
    if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()))
    const perTick = (rateAt(o, t, steps) * TICK_MS) / 1000
    const now = Date.now()
    for (let i = 0; i < all.length; i++) {
      owed[i] += perTick
      for (; owed[i] >= 1; owed[i]--) all[i].record(all[i].kind === 'step-trainer' ? stepTrainerReading(now, random) : phoneReading(now, random))
    }
    if (o.scenario === 'storm' && stormAt === undefined && t >= o.durationMs / 3) {
      stormAt = performance.now()
      const ackedBefore = mqttDevices.map((d) => d.stats().acknowledged)
      for (const d of mqttDevices) d.drop()
      say('reconnect storm: every device dropped')
      void (async () => {
        // recovered: every device connected again and acknowledged something since the drop
        const deadline = stormAt! + Math.max(30_000, o.durationMs)
        while (performance.now() < deadline) {
          if (mqttDevices.every((d, k) => d.connected() && d.stats().acknowledged > ackedBefore[k])) { recoveryMs = performance.now() - stormAt!; return }
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        recoveryMs = null
      })()
    }
    if (tick % 10 === 0) say(`${Math.round(t / 1000)} s: ${Math.round(rateAt(o, t, steps) * o.devices)} readings/s offered`)
  }
  await Promise.all([...mqttDevices.map(async (d) => await d.stop(30_000)), ...httpDevices.map(async (d) => await d.stop(30_000))])
  if (o.scenario === 'storm') {
    const end = performance.now() + 10_000
    while (recoveryMs === undefined && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const elapsedMs = performance.now() - started
  if (sampler !== undefined) clearInterval(sampler)

  const stats = [...mqttDevices, ...httpDevices].map((d) => d.stats())
  const generated = stats.reduce((a, s) => a + s.generated, 0)
  const acknowledged = stats.reduce((a, s) => a + s.acknowledged, 0)
  const dropped = stats.reduce((a, s) => a + s.dropped, 0)
  const failed = stats.reduce((a, s) => a + s.pending, 0)

  let reconciliation: Pick<LoadTestResult['readings'], 'landed' | 'deduplicated' | 'rejected' | 'lost'> = { landed: null, deduplicated: null, rejected: null, lost: null }
  let after: Samples | undefined
  if (o.httpUrl !== undefined && before !== undefined) {
    // wait (bounded) until the gateway's ledger has ruled on every reading it received (accepted,
    // deduplicated, rejected or refused) and it has landed what it accepted
    const deadline = Date.now() + 120_000
    for (;;) {
      after = await scrapeAll(metricsUrls)
      const d = (name: string): number => delta(before, after!, name, readingsOnly)
      const accepted = d('stedi_readings_accepted_total')
      const ruled = accepted + d('stedi_readings_deduplicated_total') + d('stedi_readings_rejected_total') + d('stedi_readings_refused_total')
      const flushed = d('stedi_records_flushed_total')
      if ((ruled >= d('stedi_readings_received_total') && flushed >= accepted) || Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const landed = delta(before, after, 'stedi_records_flushed_total', readingsOnly)
    const deduplicated = delta(before, after, 'stedi_readings_deduplicated_total', readingsOnly)
    const rejected = delta(before, after, 'stedi_readings_rejected_total', readingsOnly)
    // what the devices count as acknowledged, the gateway must have landed, deduplicated or rejected;
    // a redelivered batch is acknowledged once by the device but seen twice by the gateway
    reconciliation = { landed, deduplicated, rejected, lost: Math.max(0, acknowledged - landed - rejected) }
  }
  const overall = recorder.overall()
  const result: LoadTestResult = {
    startedAt,
    target: { mqtt: withoutCredentials(o.mqttUrl), http: o.httpUrl === undefined ? null : withoutCredentials(o.httpUrl), metrics: metricsUrls.map(withoutCredentials) },
    scenario: o.scenario,
    devices: o.devices,
    durationMs: o.durationMs,
    batch: o.batch,
    ratePerDevice: o.ratePerDevice,
    readings: { generated, acknowledged, ...reconciliation, dropped, failed },
    rate: Math.round(acknowledged / (elapsedMs / 1000)),
    latency_ms: { p50: round(overall.p50), p95: round(overall.p95), p99: round(overall.p99), max: round(overall.max) },
    latency_method: LATENCY_METHOD,
    series: withGatewaySamples(recorder.series(), samples),
    gateway: samples.length === 0 ? null : {
      peakRssMb: Math.round(samples.reduce((m, s) => Math.max(m, s.rss), 0) / 2 ** 20),
      cpuSeconds: round((after === undefined ? samples.at(-1)!.cpu : sumOf(after, 'process_cpu_seconds_total')) - sumOf(before!, 'process_cpu_seconds_total'))
    }
  }
  if (o.scenario === 'ramp') {
    const stepMs = o.durationMs / steps
    result.knee = findKnee(recorder.windows().map((window, s) => ({ window, seconds: stepMs / 1000, offered: rateAt(o, s * stepMs, steps) * o.devices })),
      o.thresholds ?? { p99Ms: 1000, errorRate: 0.01 })
  }
  if (o.scenario === 'storm') result.recoveryMs = recoveryMs === undefined || recoveryMs === null ? null : Math.round(recoveryMs)
  if (o.scenario === 'soak' && samples.length >= 2) {
    const first = samples[0]
    const last = samples.at(-1)!
    result.soak = {
      rssStartMb: Math.round(first.rss / 2 ** 20),
      rssEndMb: Math.round(last.rss / 2 ** 20),
      rssSlopeMbPerMin: round(((last.rss - first.rss) / 2 ** 20) / ((last.t - first.t) / 60_000)),
      outboxDepthMax: samples.reduce((m, s) => Math.max(m, s.depth), 0)
    }
  }
  return result
}

const readingsOnly = (l: Record<string, string>): boolean => l.dataset !== 'customer'
const delta = (a: Samples, b: Samples, name: string, f: (l: Record<string, string>) => boolean): number => sumOf(b, name, f) - sumOf(a, name, f)
const round = (n: number): number => Math.round(n * 100) / 100
// a report is shared: a URL's user and password (mqtt://user:pass@host) stay out of it
export function withoutCredentials (url: string): string {
  try {
    const u = new URL(url)
    if (u.username === '' && u.password === '') return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
}
