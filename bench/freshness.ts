// npm run bench:freshness: freshness end to end, from a reading's PUBACK to its row in
// machine_learning_curated, with the x30 history already in the lakehouse. A cold `stedi pipeline
// run` promotes the x30 copy (a landing folder of hard links to it) into a new lakehouse; then
// `stedi start --every 10s` runs the gateway and the scheduled promotion on that landing and
// lakehouse, and `stedi simulate fleet --watch-lakehouse` drives it: every customer consents, each
// trainer and phone read at the same instants, 10,000 readings/s in all for 5 minutes, one reading
// in 100 followed until its row is visible. Three processes on the machine's cores: the platform,
// the fleet (with the watch), and this one, which only waits.
//
// BENCH_SECONDS (300), BENCH_RATE (readings/s in all, 10,000), BENCH_CUSTOMERS (500), BENCH_EVERY
// (10s), BENCH_SAMPLE_EVERY (100). Results (JSON) go to stdout, progress to stderr. Numbers are
// noisy: the machine's other work shares the cores, so the load average before the run is reported.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaledWorkspace } from './lib/landing.js'
import { type Measurement, measureNode, spawnMeasured } from './lib/measure.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const STEDI = path.join(ROOT, 'bin/stedi.js')
const COPIES = 30
const SECONDS = Number(process.env.BENCH_SECONDS ?? 300)
const RATE = Number(process.env.BENCH_RATE ?? 10_000)
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 500)
const EVERY = process.env.BENCH_EVERY ?? '10s'
const SAMPLE_EVERY = Number(process.env.BENCH_SAMPLE_EVERY ?? 100)
const BATCH = 10
const GOAL_P99_MS = 30_000
const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

const ENV = {
  STEDI_GATEWAY_SECRET: 'bench-freshness-secret-0123456789',
  STEDI_PRIVACY_KEY: 'bench-freshness-privacy-key-0123456789',
  STEDI_LOG_LEVEL: 'info'
}

interface RunLine { time: number, run: number, status: string, durationMs: number }
interface HistoryRun { id: number, status: string, report: { durationMs?: number, timingsMs?: Record<string, number>, newFiles?: Record<string, number> } | null }
interface Counts { landing: Record<string, number>, curated: { machine_learning: number } }

const pct = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((q / 100) * s.length) - 1)]
}
const mb = (m: Measurement): number => Math.round(m.maxRssMb)
const cpuS = (m: Measurement): number => Math.round(m.cpuMs / 100) / 10

async function stedi (args: string[]): Promise<string> {
  const m = await measureNode(STEDI, args, ENV)
  if (m.code !== 0) throw new Error(`stedi ${args.join(' ')} failed (${String(m.code)}): ${m.stderr}`)
  return m.stdout
}

async function counts (lakehouse: string): Promise<Counts> {
  return JSON.parse(await stedi(['counts', '--lakehouse', lakehouse, '--json'])) as Counts
}

const readings = (c: Counts): number => c.landing.accelerometer + c.landing.step_trainer

const loadBefore = os.loadavg()
log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`)
const { work, landing, lakehouse } = await scaledWorkspace(COPIES, 'bench-freshness-', log)
try {

  log('the history: a cold run of the x30 copy')
  const cold = await measureNode(STEDI, ['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--json'], ENV)
  if (cold.code !== 0) throw new Error(`the cold run failed: ${cold.stderr}`)
  const coldReport = JSON.parse(cold.stdout) as { durationMs: number }
  const history = await counts(lakehouse)

  log(`stedi start --every ${EVERY}`)
  const runs: RunLine[] = []
  let pending = ''
  let ready: (urls: { mqtt: string, http: string }) => void
  const readyLine = new Promise<{ mqtt: string, http: string }>((resolve) => { ready = resolve })
  let out = ''
  const platform = spawnMeasured(STEDI, ['start', '--var', path.join(work, 'var'), '--landing', landing, '--lakehouse', lakehouse,
    '--every', EVERY, '--mqtt-port', '0', '--http-port', '0'], ENV, {
    onStdout: (chunk) => {
      out += chunk
      const m = /(mqtt:\/\/\S+) .*(http:\/\/\S+)/.exec(out)
      if (m !== null) ready({ mqtt: m[1], http: m[2] })
    },
    onStderr: (chunk) => {
      // the scheduler's NDJSON: one line per run
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const l of lines) {
        if (!l.includes('"pipeline run finished"')) continue
        const r = JSON.parse(l) as RunLine
        runs.push({ time: r.time, run: r.run, status: r.status, durationMs: r.durationMs })
      }
    }
  })
  const platformExit = platform.done.then((m) => { if (m.code !== 0 && m.code !== null) log(`stedi start exited ${m.code}: ${m.stderr.slice(-2000)}`); return m })
  const urls = await Promise.race([readyLine, platformExit.then(() => { throw new Error('stedi start exited before it was ready') })])
  // its first tick finds nothing new: what a run costs on the x30 history when nothing came
  while (runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 100))
  const nothingNew = runs[0]

  const ratePerDevice = RATE / (2 * CUSTOMERS)
  log(`the fleet: ${CUSTOMERS} customers (all consenting), ${CUSTOMERS * 2} devices at ${ratePerDevice} readings/s each in batches of ${BATCH}, for ${SECONDS} s`)
  const fleetStarted = Date.now()
  const fleet = await spawnMeasured(STEDI, ['simulate', 'fleet', '--mqtt', urls.mqtt, '--http', urls.http,
    '--customers', String(CUSTOMERS), '--rate', String(ratePerDevice), '--batch', String(BATCH), '--duration', `${SECONDS}s`,
    '--consent-ratio', '1', '--seed', '14', '--watch-lakehouse', lakehouse, '--sample-every', String(SAMPLE_EVERY), '--watch-timeout', '3m', '--json'], ENV).done
  const fleetEnded = Date.now()
  if (fleet.stdout.trim() === '') throw new Error(`the fleet failed (${String(fleet.code)}): ${fleet.stderr}`)
  const summary = JSON.parse(fleet.stdout) as {
    acknowledged: number, failed: number, runMs: number, ackLatencyMs: Record<string, number>
    expected: { curated: { machine_learning: number } }
    freshness: { freshnessMs: { p50: number, p95: number, p99: number, max: number } | null, sampled: number, visible: number, neverVisible: number, notFollowed: number, notConsenting: unknown, polls: number, pollErrors: number }
  }

  log('SIGTERM: the platform lands what it acknowledged and promotes once more')
  platform.child.kill('SIGTERM')
  const platformRun = await platformExit
  const final = await counts(lakehouse)
  const history_ = JSON.parse(await stedi(['pipeline', 'history', '--lakehouse', lakehouse, '--json', '--limit', '1000'])) as HistoryRun[]

  // the runs while the fleet published and its readings were awaited
  const during = runs.filter((r) => r.time >= fleetStarted && r.time <= fleetEnded)
  const ids = new Set(during.filter((r) => r.status === 'ok').map((r) => r.run))
  const phases: Record<string, number> = {}
  for (const name of new Set(history_.filter((h) => ids.has(h.id)).flatMap((h) => Object.keys(h.report?.timingsMs ?? {})))) {
    phases[name] = pct(history_.filter((h) => ids.has(h.id)).map((h) => h.report?.timingsMs?.[name] ?? 0), 50)
  }
  const starts = during.map((r) => r.time - r.durationMs)
  const gaps = starts.slice(1).map((s, i) => s - starts[i])
  const f = summary.freshness
  const result = {
    machine: { cores: os.cpus().length, node: process.version, loadAverageBefore: loadBefore.map((l) => Number(l.toFixed(2))), loadAverageAfter: os.loadavg().map((l) => Number(l.toFixed(2))) },
    options: { seconds: SECONDS, readingsPerSecondOffered: RATE, customers: CUSTOMERS, devices: CUSTOMERS * 2, readingsPerSecondPerDevice: ratePerDevice, batch: BATCH, every: EVERY, sampleEvery: SAMPLE_EVERY },
    history: {
      copies: COPIES, landingReadings: readings(history), machineLearningRows: history.curated.machine_learning,
      coldRun: { wallMs: Math.round(cold.wallMs), runMs: coldReport.durationMs, peakRssMb: mb(cold) },
      nothingNewRunMs: nothingNew.durationMs
    },
    freshness: { ...f, goal: { p99UnderMs: GOAL_P99_MS, met: f.freshnessMs !== null && f.freshnessMs.p99 < GOAL_P99_MS && f.neverVisible === 0 } },
    fleet: {
      acknowledged: summary.acknowledged, failed: summary.failed, readingsPerSecond: Math.round(summary.acknowledged / (summary.runMs / 1000)),
      ackLatencyMs: summary.ackLatencyMs, peakRssMb: mb(fleet), cpuSeconds: cpuS(fleet), exitCode: fleet.code
    },
    runs: {
      count: during.length,
      byStatus: Object.fromEntries([...new Set(during.map((r) => r.status))].map((s) => [s, during.filter((r) => r.status === s).length])),
      durationMs: { p50: pct(during.map((r) => r.durationMs), 50), p95: pct(during.map((r) => r.durationMs), 95), max: Math.max(...during.map((r) => r.durationMs)) },
      startToStartMs: { p50: pct(gaps, 50), max: Math.max(...gaps) },
      phasesMsMedian: phases,
      list: during.map((r) => ({ run: r.run, status: r.status, durationMs: r.durationMs }))
    },
    platform: { peakRssMb: mb(platformRun), cpuSeconds: cpuS(platformRun), exitCode: platformRun.code },
    // every acknowledged reading landed and was promoted (the last promotion at SIGTERM included)
    landed: {
      readings: readings(final) - readings(history), acknowledged: summary.acknowledged,
      machineLearningRowsAdded: final.curated.machine_learning - history.curated.machine_learning, fleetPredicted: summary.expected.curated.machine_learning
    }
  }
  log(`freshness p50 ${f.freshnessMs?.p50 ?? '-'} ms, p99 ${f.freshnessMs?.p99 ?? '-'} ms, max ${f.freshnessMs?.max ?? '-'} ms; ${f.neverVisible} never visible of ${f.sampled}; ` +
    `${result.fleet.readingsPerSecond} readings/s; runs p50 ${result.runs.durationMs.p50} ms, max ${result.runs.durationMs.max} ms`)
  console.log(JSON.stringify(result, null, 2))
} finally {
  await fs.rm(work, { recursive: true, force: true })
}
