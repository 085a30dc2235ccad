// The cost of TLS at connection time: 1,000 devices (BENCH_DEVICES) connect to a `stedi gateway`
// child process, BENCH_CONCURRENCY at once, over plaintext MQTT with a password, over TLS with a
// password, and over TLS with a client certificate (no password). Reports connections per second
// and the gateway's CPU time per connection (from /metrics). Results (JSON) on stdout, progress on
// stderr; numbers are noisy (the clients share the machine's cores with the gateway).
import fs from 'node:fs/promises'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { issueCredential } from '../gateway/credentials.js'
import { startGatewayProcess } from '../test/helpers/gateway-process.js'
import { makeTestPki } from '../test/helpers/tls.js'

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50)
const SECRET = 'bench-tls-secret-0123456789'

const cleanups: Array<() => Promise<void> | void> = []
const pki = await makeTestPki({ teardown: (fn) => { cleanups.push(fn) } })
const ca = await fs.readFile(pki.ca)
const device = await pki.client('bench-trainer', 'step-trainer')
const cert = { cert: await fs.readFile(device.cert), key: await fs.readFile(device.key) }

async function cpuSeconds (url: string, tls: boolean): Promise<number> {
  const text = tls
    ? await new Promise<string>((resolve, reject) => https.get(url, { ca, agent: false }, (res) => { let s = ''; res.on('data', (d: Buffer) => { s += d.toString() }); res.on('end', () => resolve(s)) }).on('error', reject))
    : await (await fetch(url)).text()
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1])
}

async function run (name: string, tls: boolean, options: (i: number) => mqtt.IClientOptions): Promise<Record<string, unknown>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stedi-bench-tls-'))
  cleanups.push(async () => { await fs.rm(dir, { recursive: true, force: true }) })
  const gw = await startGatewayProcess({
    landing: path.join(dir, 'landing'),
    state: path.join(dir, 'state'),
    secret: SECRET,
    args: [...(tls ? ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-client-ca', pki.ca] : []), '--max-connections-per-device', String(DEVICES), '--revocation-list', path.join(dir, 'revoked.jsonl')]
  })
  const clients: MqttClient[] = []
  const metrics = `${tls ? 'https' : 'http'}://localhost:${gw.httpPort}/metrics`
  const url = `${tls ? 'mqtts' : 'mqtt'}://localhost:${gw.mqttPort}`
  const cpu0 = await cpuSeconds(metrics, tls)
  const started = performance.now()
  let next = 0
  let lost = 0
  let failed = 0
  let closed = 0
  let ending = false
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < DEVICES) {
      const i = next++
      const client = mqtt.connect(url, { reconnectPeriod: 0, ...options(i) })
      // a connection that fails (before or after its CONNACK) is counted, not fatal
      client.on('error', () => { lost++ })
      const ok = await new Promise<boolean>((resolve) => { client.once('connect', () => resolve(true)); client.once('close', () => resolve(false)) })
      if (!ok) { failed++; continue }
      client.on('close', () => { if (!ending) closed++ })
      clients.push(client)
    }
  })).catch((err) => { process.stderr.write(gw.stderr().slice(-3000)); throw err })
  const wallMs = performance.now() - started
  const cpu = await cpuSeconds(metrics, tls) - cpu0
  ending = true
  await Promise.all(clients.map(async (c) => { await c.endAsync(true) }))
  await gw.stop()
  const result = { case: name, devices: DEVICES, concurrency: CONCURRENCY, wallMs: Math.round(wallMs), connectionsPerSecond: Math.round((DEVICES - failed) / wallMs * 1000), gatewayCpuMsPerConnection: Number((cpu * 1000 / DEVICES).toFixed(2)), failedToConnect: failed, closedBeforeEnd: closed, errors: lost }
  process.stderr.write(`${JSON.stringify(result)}\n`)
  return result
}

const password = (i: number): mqtt.IClientOptions => ({ username: `sn-${i}`, password: issueCredential(SECRET, 'step-trainer', `sn-${i}`) })
const results = []
try {
  for (let round = 0; round < 2; round++) {
    results.push(await run('plaintext, password', false, password))
    results.push(await run('TLS, password', true, (i) => ({ ...password(i), ca })))
    results.push(await run('TLS, client certificate', true, () => ({ ca, ...cert })))
  }
} finally {
  for (const c of cleanups.reverse()) await c()
}
console.log(JSON.stringify(results, null, 2))
