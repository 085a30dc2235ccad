// A soak scenario: honest devices behaving as real ones do (restarts that reset their seq,
// duplicates, dropped connections, offline backlogs flushed at once, HTTP devices told to retry)
// beside hostile connections, while the gateway is killed (SIGKILL) and started again. It records
// every reading that was acknowledged (PUBACK or HTTP 2xx) as the landing line it must become, every
// HTTP refusal with its seq, and the gateway's readiness all along; the caller reconciles that with
// the landing files and the ledger (test/soak, bench/soak.ts).
import mqtt, { type MqttClient } from 'mqtt'
import { type DeviceKind, readingsTopic } from '../contracts/topics.js'
import { type Device, createDevice } from '../firmware-mock/device.js'
import { phoneReading, stepTrainerReading } from '../firmware-mock/sensors.js'
import { createRandom } from './generate.js'
import { type HostileStats, startHostileLoad } from './hostile.js'

export interface SoakGateway {
  host: string
  mqttPort: number
  httpPort: number
  /** kills the gateway (SIGKILL) */
  kill: () => Promise<void>
  /** starts it again on the same ports and state */
  restart: () => Promise<void>
}

export interface SoakOptions {
  gateway: SoakGateway
  credential: (kind: DeviceKind | 'service', identity: string) => string
  durationMs: number
  /** when the gateway is killed, from the start (ms); none when undefined */
  killAtMs?: number
  /** honest MQTT devices (half trainers, half phones), firmware-mock */
  devices: number
  /** phones that go offline and flush a backlog of batches all at once */
  backlogPhones: number
  /** devices that post over HTTP */
  httpDevices: number
  /** hostile connections kept open meanwhile */
  hostileConnections: number
  seed: number
  /** readings per second per honest device */
  ratePerSecond?: number
  onProgress?: (message: string) => void
}

export interface HttpRefusal { device: string, seq: number, status: number }

export interface SoakResult {
  /** the landing line of every acknowledged reading */
  acknowledged: Set<string>
  /** acknowledged readings by path */
  acknowledgedBy: { mqtt: number, backlog: number, http: number }
  httpRefusals: HttpRefusal[]
  /** backlog batches that had to be sent again (not acknowledged the first time) */
  backlogResends: number
  /** /readyz answers that were not 200, outside the window of the kill and restart */
  notReady: Array<{ atMs: number, status: number | string }>
  readyChecks: number
  restartedAtMs: number | undefined
  hostile: HostileStats
  devices: { restarts: number, reconnects: number, lostInRam: number, faults: number }
}

const T0 = Date.UTC(2026, 0, 1)

/** The landing line the gateway writes for a reading (its field order, its number formatting). */
export function landingLine (kind: DeviceKind, identity: string, r: Record<string, unknown>): string {
  return kind === 'step-trainer'
    ? JSON.stringify({ sensorReadingTime: r.sensorReadingTime, serialNumber: identity, distanceFromObject: r.distanceFromObject })
    : JSON.stringify({ user: identity, timestamp: r.timestamp, x: r.x, y: r.y, z: r.z })
}

export async function runSoak (o: SoakOptions): Promise<SoakResult> {
  const { gateway } = o
  const random = createRandom(o.seed)
  const progress = o.onProgress ?? (() => {})
  const mqttUrl = (): string => `mqtt://${gateway.host}:${gateway.mqttPort}`
  const httpUrl = (): string => `http://${gateway.host}:${gateway.httpPort}`
  const acknowledged = new Set<string>()
  const acknowledgedBy = { mqtt: 0, backlog: 0, http: 0 }
  const httpRefusals: HttpRefusal[] = []
  const notReady: SoakResult['notReady'] = []
  let readyChecks = 0
  let stopping = false
  let down: { from: number, to: number } | undefined
  let restartedAtMs: number | undefined
  const started = Date.now()
  const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
  // each device reads at its own instants: no two readings share a landing line
  let nextInstant = 0
  const instant = (device: number): number => T0 + device * 100_000_000 + nextInstant++

  // 1. honest firmware devices with faults
  const devices: Array<{ d: Device, kind: DeviceKind, index: number }> = []
  for (let i = 0; i < o.devices; i++) {
    const kind: DeviceKind = i % 2 === 0 ? 'step-trainer' : 'accelerometer'
    const identity = kind === 'step-trainer' ? `soak-sn-${i}` : `soak+${i}@example.com`
    const d = createDevice({
      kind, identity, credential: o.credential(kind, identity), mqttUrl: mqttUrl(), batchSize: 5 + (i % 10),
      random: createRandom(o.seed * 1000 + i),
      seqPersistence: i % 3 === 0 ? 'flash' : 'ram',
      backoff: { baseMs: 100, maxMs: 1000 },
      faults: { duplicatePublish: 0.05, dropConnection: 0.02, corruptPayload: 0.02, restart: 0.002 },
      onAck: (_n, _ms, batch) => { for (const r of batch.readings) acknowledged.add(landingLine(kind, identity, r)); acknowledgedBy.mqtt += batch.readings.length }
    })
    devices.push({ d, kind, index: i })
  }
  await Promise.all(devices.map(async ({ d }) => { await d.start() }))
  progress(`${devices.length} firmware devices connected`)

  // 2. hostile connections, all along
  const hostile = startHostileLoad({ host: gateway.host, mqttPort: gateway.mqttPort, httpPort: gateway.httpPort, deviceCredential: o.credential('step-trainer', 'soak-sn-0') }, o.hostileConnections)

  // 3. readiness, all along (down while the gateway is killed and coming back)
  const readiness = (async () => {
    while (!stopping) {
      const at = Date.now() - started
      const status = await fetch(`${httpUrl()}/readyz`, { signal: AbortSignal.timeout(2000) }).then(async (r) => { await r.arrayBuffer(); return r.status }, (err: Error) => err.name)
      readyChecks++
      const inKill = down !== undefined && at >= down.from && at <= down.to + 5000
      if (status !== 200 && !inKill) notReady.push({ atMs: at, status })
      await sleep(250)
    }
  })()

  // 4. readings at the honest devices' pace
  const rate = o.ratePerSecond ?? 20
  const ticker = (async () => {
    while (!stopping) {
      for (const { d, kind, index } of devices) {
        const at = instant(index)
        d.record(kind === 'step-trainer' ? stepTrainerReading(at, random) : phoneReading(at, random))
      }
      await sleep(1000 / rate)
    }
  })()

  // 5. backlog phones: offline for a while, then every batch at once, more than their rate allows
  let backlogResends = 0
  const backlogs = Array.from({ length: o.backlogPhones }, async (_, p) => {
    const identity = `backlog+${p}@example.com`
    const index = o.devices + p
    const topic = readingsTopic('accelerometer', identity)
    let seq = 0
    while (!stopping) {
      await sleep(1000 + random() * 2000)
      const batches = Array.from({ length: 30 }, () => ({ seq: seq++, readings: Array.from({ length: 100 }, () => phoneReading(instant(index), random)) }))
      let todo = batches
      for (let attempt = 0; todo.length > 0 && attempt < 50; attempt++) {
        if (attempt > 0) { backlogResends += todo.length; await sleep(300) }
        const client = await connect(mqttUrl(), identity, o.credential('accelerometer', identity))
        if (client === undefined) continue
        const acked = await publishAll(client, topic, todo.map((b) => JSON.stringify(b)))
        for (const i of acked) {
          for (const r of todo[i].readings) acknowledged.add(landingLine('accelerometer', identity, r))
          acknowledgedBy.backlog += todo[i].readings.length
        }
        todo = todo.filter((_, i) => !acked.includes(i))
        await client.endAsync(true).catch(() => undefined)
      }
    }
  })

  // 6. HTTP devices: one batch at a time, the same seq again after 429/503 or a dead gateway
  const https = Array.from({ length: o.httpDevices }, async (_, h) => {
    const identity = `soak-http-${h}`
    const index = o.devices + o.backlogPhones + h
    const credential = o.credential('step-trainer', identity)
    let seq = 0
    while (!stopping) {
      const readings = Array.from({ length: 100 }, () => stepTrainerReading(instant(index), random))
      for (;;) {
        const res = await fetch(`${httpUrl()}/v1/readings/step-trainer`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` }, body: JSON.stringify({ seq, readings }), signal: AbortSignal.timeout(5000)
        }).catch(() => undefined)
        if (res !== undefined) await res.arrayBuffer().catch(() => undefined)
        if (res !== undefined && res.status >= 200 && res.status < 300) {
          for (const r of readings) acknowledged.add(landingLine('step-trainer', identity, r))
          acknowledgedBy.http += readings.length
          break
        }
        if (res?.status === 429 || res?.status === 503) httpRefusals.push({ device: `step-trainer/${identity}`, seq, status: res.status })
        if (stopping && res === undefined) break
        await sleep(res?.status === 429 ? 200 : 500)
      }
      seq++
      await sleep(50)
    }
  })

  // 7. the kill, and the restart on the same ports
  if (o.killAtMs !== undefined) {
    await sleep(o.killAtMs)
    down = { from: Date.now() - started, to: Infinity }
    progress('SIGKILL')
    await gateway.kill()
    await sleep(1000)
    await gateway.restart()
    restartedAtMs = Date.now()
    down.to = restartedAtMs - started
    progress('restarted')
  }
  await sleep(Math.max(0, o.durationMs - (Date.now() - started)))

  // 8. the end: stop producing, let every device finish what it holds
  stopping = true
  await ticker
  await Promise.all([...backlogs, ...https])
  await Promise.all(devices.map(async ({ d }) => { await d.stop(30_000) }))
  await readiness
  const hostileStats = await hostile.stop()
  const stats = devices.map(({ d }) => d.stats())
  return {
    acknowledged,
    acknowledgedBy,
    httpRefusals,
    backlogResends,
    notReady,
    readyChecks,
    restartedAtMs,
    hostile: hostileStats,
    devices: {
      restarts: stats.reduce((a, s) => a + s.restarts, 0),
      reconnects: stats.reduce((a, s) => a + s.reconnects, 0),
      lostInRam: stats.reduce((a, s) => a + s.lost, 0),
      faults: stats.reduce((a, s) => a + s.faults, 0)
    }
  }
}

async function connect (url: string, username: string, password: string): Promise<MqttClient | undefined> {
  const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000 })
  client.on('error', () => {})
  const ok = await new Promise<boolean>((resolve) => { client.once('connect', () => resolve(true)); client.once('close', () => resolve(false)) })
  if (!ok) { client.end(true); return undefined }
  return client
}

/** Publishes every payload at once (QoS 1); the indexes acknowledged before the connection closed (or 10 s passed). */
async function publishAll (client: MqttClient, topic: string, payloads: string[]): Promise<number[]> {
  const acked: number[] = []
  const closed = new Promise<void>((resolve) => { client.once('close', () => resolve()); setTimeout(resolve, 10_000) })
  await Promise.race([Promise.all(payloads.map(async (p, i) => { await client.publishAsync(topic, p, { qos: 1 }); acked.push(i) })), closed])
  return acked
}
