// npm run bench:outbox: the gateway's durable path alone, in one process and without MQTT: validation,
// admission, the group commit, the ledger and the landing files, driven by 400 messages in flight
// (20 devices), as bench:gateway's publishers drive it. It reports CPU time per message, on the main
// thread and in all (SQLite's and the GC's threads too), which varies far less from run to run than a
// rate does on a shared 2-core machine. Plain JavaScript over dist/ (npm run build first), so that
// what is measured is what `stedi gateway` runs. Results (JSON) go to stdout.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Outbox } from '../dist/gateway/outbox/outbox.js'
import { createBatcher } from '../dist/gateway/ingest/batcher.js'
import { createIngest } from '../dist/gateway/ingest/service.js'
import { createFileSink } from '../dist/gateway/ingest/sinks/file.js'
import { createMetrics } from '../dist/gateway/metrics.js'
import { createGatewayConfig } from '../dist/gateway/config.js'
import { createLogger } from '../dist/common/logger.js'
import { TombstoneMatcher } from '../dist/contracts/privacy.js'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000)
/** batches of 50: a tenth as many messages, five times the readings */
const INFLIGHT = 400
const DEVICES = 20

/** CPU ms of each thread of this process, by thread id */
function threadCpuMs () {
  const out = new Map()
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    out.set(tid, (Number(f[11]) + Number(f[12])) * (1000 / 100))
  }
  return out
}

async function run (batch, messages) {
  const MESSAGES = messages
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-outbox-'))
  const config = createGatewayConfig({ landingDir: path.join(dir, 'landing'), stateDir: path.join(dir, 'state'), secrets: ['bench-secret-0123456789abcdef'], rateLimit: { readingsPerSecond: 1e9, burst: 1e9 }, maxOutboxRecords: 1e9 })
  const metrics = createMetrics()
  const outbox = await Outbox.open(config.stateDir, { commitWindowMs: config.commitWindowMs, maxRecords: config.batch.maxRecords, maxBytes: config.batch.maxBytes })
  const batcher = createBatcher({ outbox, sink: await createFileSink(config.landingDir), policy: config.batch, metrics, logger: createLogger({ level: 'silent' }) })
  const none = new TombstoneMatcher(new Uint8Array(0), [])
  await batcher.start()
  const ingest = createIngest({ config, outbox, batcher, metrics, stateFull: () => false, erasures: () => none })
  // payloads made before the clock starts: the device's side is not measured
  const payloads = Array.from({ length: MESSAGES }, (_, i) => {
    const d = i % DEVICES
    const m = Math.floor(i / DEVICES)
    const readings = Array.from({ length: batch }, (_, k) => ({ timestamp: 1655564444103 + d * 1e8 + m * batch + k, x: 1, y: 0, z: -1 }))
    return Buffer.from(batch === 1 ? JSON.stringify(readings[0]) : JSON.stringify({ seq: m, readings }))
  })
  const ids = Array.from({ length: DEVICES }, (_, d) => `bench-${d}@test.com`)
  const before = threadCpuMs()
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (next < MESSAGES) {
      const i = next++
      const id = ids[i % DEVICES]
      if (!ingest.admit('accelerometer', id, batch).ok) throw new Error('not admitted')
      await ingest.device('accelerometer', id, payloads[i], 'mqtt', { reserved: batch })
    }
  }))
  const ackedMs = performance.now() - started
  await outbox.settle()
  await batcher.drain()
  const landedMs = performance.now() - started
  const after = threadCpuMs()
  let total = 0
  let main = 0
  for (const [tid, ms] of after) {
    const used = ms - (before.get(tid) ?? 0)
    total += used
    if (tid === String(process.pid)) main = used
  }
  await batcher.stop()
  await outbox.stopAccepting()
  await outbox.release()
  fs.rmSync(dir, { recursive: true, force: true })
  return {
    batch,
    messages: MESSAGES,
    readings: MESSAGES * batch,
    cpuUsPerMessage: { all: Number((total * 1000 / MESSAGES).toFixed(1)), mainThread: Number((main * 1000 / MESSAGES).toFixed(1)) },
    cpuUsPerReading: Number((total * 1000 / (MESSAGES * batch)).toFixed(2)),
    messagesAckedPerSecond: Math.round(MESSAGES / (ackedMs / 1000)),
    readingsLandedPerSecond: Math.round(MESSAGES * batch / (landedMs / 1000))
  }
}

const results = []
for (const batch of [1, 50]) {
  const r = await run(batch, batch === 1 ? MESSAGES : Math.round(MESSAGES / 10))
  process.stderr.write(`batch ${batch}: ${r.cpuUsPerMessage.all} µs CPU per message (main thread ${r.cpuUsPerMessage.mainThread}), ${r.readingsLandedPerSecond} readings landed/s\n`)
  results.push(r)
}
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, inflight: INFLIGHT, devices: DEVICES, results }, null, 2))
