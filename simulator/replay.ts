// Sends an existing landing dataset (the published STEDI data, say) through the gateway as the
// devices and the website would have: customers over HTTP, each trainer's and each phone's readings
// over MQTT under its own identity and credential, through the firmware mock's devices (QoS 1
// batches with increasing seq). It counts what the gateway acknowledged; with faults the devices
// also redeliver batches and drop connections mid-stream, resending what was not acknowledged.
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS } from '../contracts/datasets.js'
import { type DeviceKind, IDENTITY_FIELD } from '../contracts/topics.js'
import { createDevice } from '../firmware-mock/device.js'
import { createRandom } from './generate.js'
import { checkHttpAnswer, fetchGateway } from './preflight.js'

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
  /** drop a device's connection, with a batch in flight, once every this many batches on average (0 = never) */
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
    const res = await fetchGateway(`${options.httpUrl}/v1/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service}` },
      body: JSON.stringify(customers.slice(i, i + 500))
    })
    await checkHttpAnswer(res, 'the replay\'s service (sending customers)', `customers ${i}..${i + 500}`)
    const body = await res.json() as { accepted?: number, duplicates?: number, error?: string }
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

/**
 * Publishes one device's readings through an emulated device (firmware-mock): batches with seq,
 * each resent until acknowledged. The faults are the firmware mock's: a batch sent twice, a
 * connection dropped with a batch in flight. Returns the readings acknowledged.
 */
async function replayDevice (
  device: { kind: DeviceKind, identity: string, readings: Array<Record<string, unknown>> },
  options: ReplayOptions,
  faults: { batchSize: number, duplicateRatio: number, disconnectEvery: number },
  progress: ReplayProgress
): Promise<number> {
  // a seed from the identity, so that a replay with faults is repeatable
  let seed = 0
  for (const c of device.identity) seed = (seed * 31 + c.charCodeAt(0)) >>> 0
  const emulated = createDevice({
    kind: device.kind,
    identity: device.identity,
    credential: options.credential(device.kind, device.identity),
    mqttUrl: options.mqttUrl,
    batchSize: faults.batchSize,
    bufferBatches: Number.MAX_SAFE_INTEGER,
    random: createRandom(seed),
    backoff: { baseMs: 10, maxMs: 500 },
    faults: {
      duplicatePublish: faults.duplicateRatio,
      dropConnection: faults.disconnectEvery > 0 ? 1 / faults.disconnectEvery : 0
    },
    onAck: (n) => { progress.acknowledged += n }
  })
  await emulated.start()
  for (const r of device.readings) emulated.record(r)
  await emulated.stop(60_000)
  const s = emulated.stats()
  progress.redelivered += s.faults
  progress.disconnects += s.reconnects
  if (s.pending > 0) throw new Error(`${device.identity}: ${s.pending} readings not acknowledged within a minute`)
  return s.acknowledged
}
