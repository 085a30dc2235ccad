// Sends an existing landing dataset (the published STEDI data, say) through the gateway as the
// devices and the website would have: customers over HTTP, each trainer's and each phone's readings
// over MQTT under its own identity and credential, in QoS 1 batches with increasing seq. It counts
// what the gateway acknowledged; with faults it also redelivers batches and drops connections
// mid-stream, resending what was not acknowledged, as at-least-once devices do.
import fs from 'node:fs/promises'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { DATASETS } from '../contracts/datasets.js'
import { type DeviceKind, IDENTITY_FIELD, readingsTopic } from '../contracts/topics.js'

export interface ReplayOptions {
  dataDir: string
  mqttUrl: string
  httpUrl: string
  /** makes device and service credentials (the caller got it from STEDI_GATEWAY_SECRET) */
  credential: (kind: DeviceKind | 'service', identity: string) => string
  batchSize?: number
  /** devices replaying at once */
  concurrency?: number
  /** share of batches sent twice (the same seq) */
  duplicateRatio?: number
  /** drop each device's connection after this many batches (0 = never) */
  disconnectEvery?: number
  onProgress?: (p: ReplayProgress) => void
}

export interface ReplayProgress { customers: number, readings: number, acknowledged: number, redelivered: number, disconnects: number }

export interface ReplaySummary extends ReplayProgress {
  /** records the gateway acknowledged as accepted or duplicate, per dataset */
  acknowledgedByDataset: Record<'customer' | 'accelerometer' | 'step_trainer', number>
}

async function readNdjson (dir: string): Promise<Array<Record<string, unknown>>> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()
  const out: Array<Record<string, unknown>> = []
  for (const n of names) {
    for (const line of (await fs.readFile(path.join(dir, n), 'utf8')).split('\n')) {
      if (line.trim() !== '') out.push(JSON.parse(line) as Record<string, unknown>)
    }
  }
  return out
}

export async function replay (options: ReplayOptions): Promise<ReplaySummary> {
  const { batchSize = 100, concurrency = 32, duplicateRatio = 0, disconnectEvery = 0 } = options
  const progress: ReplayProgress = { customers: 0, readings: 0, acknowledged: 0, redelivered: 0, disconnects: 0 }
  const byDataset = { customer: 0, accelerometer: 0, step_trainer: 0 }
  const report = (): void => options.onProgress?.({ ...progress })

  const customers = await readNdjson(path.join(options.dataDir, DATASETS.customer.landingDir))
  progress.customers = customers.length
  const service = options.credential('service', 'replay')
  for (let i = 0; i < customers.length; i += 500) {
    const res = await fetch(`${options.httpUrl}/v1/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service}` },
      body: JSON.stringify(customers.slice(i, i + 500))
    })
    const body = await res.json() as { accepted?: number, duplicates?: number, error?: string }
    if (res.status !== 202) throw new Error(`customers ${i}..${i + 500}: HTTP ${res.status} ${JSON.stringify(body)}`)
    byDataset.customer += (body.accepted ?? 0) + (body.duplicates ?? 0)
    progress.acknowledged += (body.accepted ?? 0) + (body.duplicates ?? 0)
    report()
  }

  // each device's readings, in landing order
  const devices: Array<{ kind: DeviceKind, identity: string, readings: Array<Record<string, unknown>> }> = []
  for (const kind of ['accelerometer', 'step-trainer'] as const) {
    const dataset = kind === 'accelerometer' ? 'accelerometer' : 'step_trainer'
    const groups = new Map<string, Array<Record<string, unknown>>>()
    for (const r of await readNdjson(path.join(options.dataDir, DATASETS[dataset].landingDir))) {
      const identity = String(r[IDENTITY_FIELD[kind]])
      const reading = { ...r }
      delete reading[IDENTITY_FIELD[kind]]
      groups.set(identity, [...(groups.get(identity) ?? []), reading])
      progress.readings++
    }
    for (const [identity, readings] of groups) devices.push({ kind, identity, readings })
  }

  let next = 0
  const worker = async (): Promise<void> => {
    while (next < devices.length) {
      const device = devices[next++]
      const dataset = device.kind === 'accelerometer' ? 'accelerometer' : 'step_trainer'
      const acked = await replayDevice(device, options, { batchSize, duplicateRatio, disconnectEvery }, progress)
      byDataset[dataset] += acked
      report()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ...progress, acknowledgedByDataset: byDataset }
}

async function connect (url: string, identity: string, password: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { username: identity, password, reconnectPeriod: 0, connectTimeout: 10_000 })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  client.on('error', () => {})
  return client
}

/** Publishes one device's readings; every batch is resent until acknowledged. Returns readings acknowledged. */
async function replayDevice (
  device: { kind: DeviceKind, identity: string, readings: Array<Record<string, unknown>> },
  options: ReplayOptions,
  faults: { batchSize: number, duplicateRatio: number, disconnectEvery: number },
  progress: ReplayProgress
): Promise<number> {
  const password = options.credential(device.kind, device.identity)
  const topic = readingsTopic(device.kind, device.identity)
  let client = await connect(options.mqttUrl, device.identity, password)
  let acked = 0
  let sinceConnect = 0
  // deterministic "randomness" per device, so that a replay with faults is repeatable
  let h = 0
  for (const c of device.identity) h = (h * 31 + c.charCodeAt(0)) >>> 0
  const chance = (): number => { h = (h * 1103515245 + 12345) >>> 0; return h / 4294967296 }
  try {
    for (let start = 0, seq = 0; start < device.readings.length; start += faults.batchSize, seq++) {
      const payload = JSON.stringify({ seq, readings: device.readings.slice(start, start + faults.batchSize) })
      for (let attempt = 0; ; attempt++) {
        if (attempt > 20) throw new Error(`${device.identity}: batch ${seq} not acknowledged after 20 attempts`)
        if (faults.disconnectEvery > 0 && sinceConnect >= faults.disconnectEvery) {
          // drop the connection with the batch in flight: it may or may not have arrived
          client.publish(topic, payload, { qos: 1 })
          client.stream.destroy()
          progress.disconnects++
          await client.endAsync(true).catch(() => undefined)
          client = await connect(options.mqttUrl, device.identity, password)
          sinceConnect = 0
          progress.redelivered++
          continue
        }
        try {
          await client.publishAsync(topic, payload, { qos: 1 })
          sinceConnect++
          break
        } catch {
          await client.endAsync(true).catch(() => undefined)
          client = await connect(options.mqttUrl, device.identity, password)
          sinceConnect = 0
        }
      }
      const n = Math.min(faults.batchSize, device.readings.length - start)
      acked += n
      progress.acknowledged += n
      if (faults.duplicateRatio > 0 && chance() < faults.duplicateRatio) {
        await client.publishAsync(topic, payload, { qos: 1 })
        progress.redelivered++
      }
    }
  } finally {
    await client.endAsync().catch(() => undefined)
  }
  return acked
}
