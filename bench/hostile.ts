// npm run bench:hostile: 200 honest devices (mqtt.js, QoS 1, a batch of 10 readings every 100 ms,
// one in flight each, as firmware does) against `stedi gateway`, first alone, then beside 1,000
// hostile connections (CONNECTs declaring 268 MB and streaming zeros, slow HTTP bodies, idle
// sockets, bad logins) kept open the whole time. Reports the honest devices' ack latency in both
// phases and their ratio (goal: p99 within 2x), the gateway's peak resident memory (goal: under
// 1 GB) and what the hostile clients managed. Results (JSON) on stdout, progress on stderr.
// BENCH_HONEST, BENCH_HOSTILE, BENCH_PHASE_MS adjust it. Numbers are noisy: compare one run's ratio.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { readingsTopic } from '../contracts/topics.js'
import { issueCredential } from '../gateway/credentials.js'
import { startHostileLoad } from '../simulator/hostile.js'
import { startGatewayProcess } from '../test/helpers/gateway-process.js'

const SECRET = 'bench-secret-0123456789abcdef'
const HONEST = Number(process.env.BENCH_HONEST ?? 200)
const HOSTILE = Number(process.env.BENCH_HOSTILE ?? 1000)
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 20_000)
const log = (m: string): void => { process.stderr.write(`${m}\n`) }
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN).toFixed(1)) }

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-hostile-'))
const gw = await startGatewayProcess({ landing: path.join(dir, 'landing'), state: path.join(dir, 'state'), secret: SECRET })
const url = `mqtt://${gw.host}:${gw.mqttPort}`

let peakRss = 0
const sampler = setInterval(() => {
  void fetch(`http://${gw.host}:${gw.httpPort}/metrics`).then(async (r) => await r.text()).then((t) => {
    const m = /^process_resident_memory_bytes (\d+)/m.exec(t)
    if (m !== null) peakRss = Math.max(peakRss, Number(m[1]))
  }, () => {})
}, 500)

const clients: Array<{ client: MqttClient, id: string }> = []
for (let i = 0; i < HONEST; i++) {
  const id = `honest-${i}@example.com`
  const client = mqtt.connect(url, { username: id, password: issueCredential(SECRET, 'accelerometer', id), reconnectPeriod: 1000 })
  client.on('error', () => {})
  await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  clients.push({ client, id })
}
log(`${HONEST} honest devices connected`)

let seqBase = 0
async function phase (name: string): Promise<{ latencies: number[], sent: number, failed: number }> {
  const latencies: number[] = []
  let sent = 0
  let failed = 0
  const end = Date.now() + PHASE_MS
  await Promise.all(clients.map(async ({ client, id }, d) => {
    let seq = seqBase
    await sleep(Math.random() * 100)
    while (Date.now() < end) {
      const readings = Array.from({ length: 10 }, (_, k) => ({ timestamp: 1655564444103 + d * 1e9 + seq * 10 + k, x: 1, y: 0, z: -1 }))
      const t0 = performance.now()
      sent++
      try {
        await Promise.race([client.publishAsync(readingsTopic('accelerometer', id), JSON.stringify({ seq: seq++, readings }), { qos: 1 }), sleep(10_000).then(() => { throw new Error('timeout') })])
        latencies.push(performance.now() - t0)
      } catch { failed++ }
      await sleep(Math.max(0, 100 - (performance.now() - t0)))
    }
  }))
  seqBase += 100_000
  log(`${name}: ${latencies.length} acknowledged, p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms, ${failed} failed`)
  return { latencies, sent, failed }
}

const quiet = await phase('honest devices alone')
const hostile = startHostileLoad({ host: gw.host, mqttPort: gw.mqttPort, httpPort: gw.httpPort, deviceCredential: issueCredential(SECRET, 'step-trainer', 'sn-1') }, HOSTILE, ['giant-connect', 'slow-body', 'idle'])
await sleep(2000)
log(`hostile connections open: ${hostile.stats().open}`)
const loud = await phase(`beside ${HOSTILE} hostile connections`)
const h = await hostile.stop()
clearInterval(sampler)
await Promise.all(clients.map(async ({ client }) => await client.endAsync(true)))
const exit = await gw.stop()
await fs.rm(dir, { recursive: true, force: true })

const summary = (r: { latencies: number[], sent: number, failed: number }): Record<string, number> =>
  ({ acknowledged: r.latencies.length, failed: r.failed, p50Ms: pct(r.latencies, 50), p95Ms: pct(r.latencies, 95), p99Ms: pct(r.latencies, 99) })
console.log(JSON.stringify({
  machine: { cores: os.cpus().length, node: process.version },
  honestDevices: HONEST,
  hostileConnections: HOSTILE,
  phaseMs: PHASE_MS,
  alone: summary(quiet),
  besideHostile: summary(loud),
  p99Ratio: Number((pct(loud.latencies, 99) / pct(quiet.latencies, 99)).toFixed(2)),
  gatewayPeakRssMb: Math.round(peakRss / 2 ** 20),
  hostile: { ...h, megabytesSent: Math.round(h.bytesSent / 2 ** 20) },
  gatewayExit: exit
}, null, 2))
