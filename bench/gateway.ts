// npm run bench:gateway: many concurrent MQTT publishers (QoS 1) against the gateway, with single
// readings and with batches of 50, beside a bare aedes broker under the same load in the same run.
// Reports readings landed per second, publish-to-PUBACK latency percentiles, the gateway's peak
// memory, and loss (acknowledged readings missing from the landing files, which must be 0).
// Results (JSON) go to stdout, progress to stderr. Numbers are noisy: compare ratios of one run. On a
// shared 2-core machine the bare broker alone varied from 45,000 to 65,000 msg/s between runs minutes
// apart, so each batch size runs BENCH_ROUNDS rounds (bare, then gateway, alternating) and the
// summary gives the median of the rounds' ratios beside every round.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { driveMqtt, pct } from './lib/mqtt-load.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SECRET = 'bench-secret-0123456789abcdef'
const PUBLISHERS = Number(process.env.BENCH_PUBLISHERS ?? 20)
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000)
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 20)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const log = (m: string): void => { process.stderr.write(`${m}\n`) }

interface Server { url: string, stop: () => Promise<number>, kill: () => void }

async function startServer (script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(process.execPath, ['--import', path.join(ROOT, 'bench/lib/report-rusage.mjs'), script, ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
  let usage = ''
  ;(child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { usage += d.toString() })
  child.stderr!.resume()
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); const m = /(mqtt:\/\/\S+)/.exec(out); if (m !== null) resolve(m[1]) })
    void exited.then(() => reject(new Error(`server exited: ${out}`)))
  })
  return {
    url,
    stop: async () => { child.kill('SIGTERM'); await exited; return usage === '' ? NaN : (JSON.parse(usage) as { maxRSS: number }).maxRSS / 1024 },
    kill: () => child.kill('SIGKILL')
  }
}

async function landedLines (landing: string): Promise<Set<string>> {
  const dir = path.join(landing, 'accelerometer/landing')
  const lines = new Set<string>()
  for (const f of (await fs.readdir(dir)).filter((n) => n.endsWith('.json'))) {
    for (const l of (await fs.readFile(path.join(dir, f), 'utf8')).split('\n')) if (l !== '') lines.add(l)
  }
  return lines
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }

interface Round { batch: number, messageRateRatio: number, gateway: { readingsLandedPerSecond: number, lost: number } & Record<string, unknown>, bareAedes: Record<string, unknown> }

async function round (batch: number): Promise<Round> {
  const bare = await startServer(path.join(ROOT, 'bench/bare-aedes.mjs'), [])
  const b = await driveMqtt({ url: bare.url, batch, publishers: PUBLISHERS, messages: MESSAGES, inflight: INFLIGHT })
  const bareRss = await bare.stop()
  log(`bare aedes, batch ${batch}: ${(b.messages / (b.wallMs / 1000)).toFixed(0)} msg/s`)

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-gw-'))
  const gw = await startServer(path.join(ROOT, 'bin/stedi.js'), ['gateway', '--landing', path.join(dir, 'landing'), '--state', path.join(dir, 'state'),
    '--mqtt-port', '0', '--http-port', '0', '--rate-limit', '10000000'], { STEDI_GATEWAY_SECRET: SECRET })
  const g = await driveMqtt({ url: gw.url, batch, secret: SECRET, publishers: PUBLISHERS, messages: MESSAGES, inflight: INFLIGHT })
  const stopStarted = performance.now()
  const gwRss = await gw.stop()
  const drainMs = performance.now() - stopStarted
  const landed = await landedLines(path.join(dir, 'landing'))
  const lost = [...g.acked].filter((l) => !landed.has(l)).length
  await fs.rm(dir, { recursive: true, force: true })
  const landedPerSecond = landed.size / ((g.wallMs + drainMs) / 1000)
  log(`gateway, batch ${batch}: ${(g.messages / (g.wallMs / 1000)).toFixed(0)} msg/s, ${landedPerSecond.toFixed(0)} readings landed/s, lost ${lost}`)
  return {
    batch,
    gateway: {
      messagesPerSecond: Math.round(g.messages / (g.wallMs / 1000)),
      readingsAckedPerSecond: Math.round(g.readings / (g.wallMs / 1000)),
      readingsLandedPerSecond: Math.round(landedPerSecond),
      ackLatencyMs: { p50: pct(g.latencies, 50), p95: pct(g.latencies, 95), p99: pct(g.latencies, 99) },
      peakRssMb: Math.round(gwRss),
      acknowledged: g.acked.size,
      landed: landed.size,
      lost
    },
    bareAedes: {
      messagesPerSecond: Math.round(b.messages / (b.wallMs / 1000)),
      ackLatencyMs: { p50: pct(b.latencies, 50), p95: pct(b.latencies, 95), p99: pct(b.latencies, 99) },
      peakRssMb: Math.round(bareRss)
    },
    messageRateRatio: Number(((g.messages / g.wallMs) / (b.messages / b.wallMs)).toFixed(2))
  }
}

const results: Array<Record<string, unknown>> = []
log(`machine: ${os.cpus().length} cores; ${PUBLISHERS} publishers x ${MESSAGES} messages, ${INFLIGHT} in flight each, QoS 1; ${ROUNDS} rounds`)
for (const batch of [1, 50]) {
  const rounds = []
  for (let r = 0; r < ROUNDS; r++) rounds.push(await round(batch))
  const summary = {
    batch,
    medianMessageRateRatio: median(rounds.map((r) => r.messageRateRatio)),
    medianReadingsLandedPerSecond: Math.round(median(rounds.map((r) => r.gateway.readingsLandedPerSecond))),
    lost: rounds.reduce((sum, r) => sum + r.gateway.lost, 0),
    rounds
  }
  log(`batch ${batch}: median ratio ${summary.medianMessageRateRatio}, median ${summary.medianReadingsLandedPerSecond} readings landed/s, lost ${summary.lost}`)
  results.push(summary)
}
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, publishers: PUBLISHERS, messagesPerPublisher: MESSAGES, rounds: ROUNDS, results }, null, 2))
