// SIGKILL under load, then a restart: every acknowledged reading lands, exactly once.
// SIGTERM under load: the gateway stops accepting, lands what it acknowledged, exits 0.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import mqtt from 'mqtt'
import t from 'tap'
import { STEDI_BIN, tempDir } from '../helpers/index.js'
import { SECRET, credential, landedLines } from '../helpers/gateway.js'

interface Running { child: ChildProcessWithoutNullStreams, mqttUrl: string, exited: Promise<{ code: number | null, signal: string | null }> }

async function startProcess (landing: string, state: string): Promise<Running> {
  const child = spawn(process.execPath, [STEDI_BIN, 'gateway', '--landing', landing, '--state', state, '--mqtt-port', '0', '--http-port', '0', '--max-batch-age', '100ms'],
    { env: { ...process.env, STEDI_GATEWAY_SECRET: SECRET } })
  const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const mqttUrl = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /ready: (mqtt:\/\/\S+)/.exec(out)
      if (m !== null) resolve(m[1])
    })
    void exited.then(() => reject(new Error(`gateway exited before ready: ${out}`)))
  })
  child.stderr.resume()
  return { child, mqttUrl, exited }
}

/** Publishers sending unique readings in QoS 1 batches until stopped; returns the acknowledged lines. */
function load (url: string, devices: number): { stop: () => Promise<Set<string>> } {
  const acked = new Set<string>()
  let running = true
  const clients = Array.from({ length: devices }, (_, d) => {
    const identity = `load-${d}@test.com`
    const client = mqtt.connect(url, { username: identity, password: credential('accelerometer', identity), reconnectPeriod: 0 })
    client.on('error', () => {})
    let seq = 0
    const send = (): void => {
      if (!running || !client.connected) return
      const s = seq++
      const readings = Array.from({ length: 20 }, (_, k) => ({ timestamp: 1655564444103 + d * 1_000_000 + s * 20 + k, x: 1, y: 0, z: -1 }))
      client.publish(`stedi/v1/accelerometer/${identity}/readings`, JSON.stringify({ seq: s, readings }), { qos: 1 }, (err) => {
        if (err == null) for (const r of readings) acked.add(JSON.stringify({ user: identity, ...r }))
        send()
      })
    }
    client.on('connect', () => { for (let i = 0; i < 4; i++) send() })
    return client
  })
  return {
    stop: async () => {
      running = false
      await Promise.all(clients.map(async (c) => await c.endAsync(true).catch(() => undefined)))
      return acked
    }
  }
}


const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('SIGKILL under load: every acknowledged reading lands exactly once after a restart', async (t) => {
  const landing = await tempDir(t)
  const state = await tempDir(t)
  const first = await startProcess(landing, state)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const publishers = load(first.mqttUrl, 8)
  await sleep(1500)
  first.child.kill('SIGKILL')
  t.same(await first.exited, { code: null, signal: 'SIGKILL' })
  const acked = await publishers.stop()
  t.ok(acked.size > 1000, `${acked.size} readings were acknowledged before the kill`)

  const second = await startProcess(landing, state)
  t.teardown(() => { second.child.kill('SIGKILL') })
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null }, 'SIGTERM: exit 0 after landing what waited')
  const lines = await landedLines(landing, 'accelerometer')
  const counts = new Map<string, number>()
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1)
  const lost = [...acked].filter((l) => !counts.has(l))
  const twice = [...counts].filter(([, n]) => n > 1)
  t.equal(lost.length, 0, 'no acknowledged reading is lost')
  t.equal(twice.length, 0, 'none lands twice')
  t.ok(lines.length >= acked.size)
})

t.test('SIGTERM under load: stop accepting, land everything acknowledged, exit 0', async (t) => {
  const landing = await tempDir(t)
  const state = await tempDir(t)
  const gw = await startProcess(landing, state)
  t.teardown(() => { gw.child.kill('SIGKILL') })
  const publishers = load(gw.mqttUrl, 4)
  await sleep(800)
  gw.child.kill('SIGTERM')
  t.same(await gw.exited, { code: 0, signal: null })
  const acked = await publishers.stop()
  const lines = new Set(await landedLines(landing, 'accelerometer'))
  t.ok(acked.size > 0)
  t.equal([...acked].filter((l) => !lines.has(l)).length, 0, 'every acknowledged reading landed before the exit')
})
