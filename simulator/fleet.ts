// A fleet of customers, each with a Step Trainer and a phone, against a gateway: customers are
// registered over HTTP, then during exercise sessions both devices of a customer read at the same
// instants and publish over MQTT. Deterministic for a seed: the same options give the same customers
// and readings (times come from a fixed timeline, not the wall clock; each customer's session sits
// in its own hour, so no two customers share an instant), so a test knows the zone counts to expect.
// Readings a device gives up (a restart wipes its RAM, a full buffer drops a batch) are noted by
// instant, so that the prediction holds with those faults too.
import type { DeviceKind } from '../contracts/topics.js'
import { type Device, createDevice } from '../firmware-mock/device.js'
import type { Faults } from '../firmware-mock/faults.js'
import type { SeqPersistence } from '../firmware-mock/sequence.js'
import { phoneReading, stepTrainerReading } from '../firmware-mock/sensors.js'
import { createRandom } from './generate.js'
import { Recorder } from './load/recorder.js'
import { checkHttpAnswer, fetchGateway } from './preflight.js'

export interface FleetOptions {
  customers: number
  durationMs: number
  /** readings per second per device */
  ratePerSecond: number
  consentRatio: number
  seed: number
  mqttUrl: string
  httpUrl: string
  credential: (kind: DeviceKind | 'service', identity: string) => string
  batchSize?: number
  faults?: Faults
  /** where the devices keep their seq counter across a restart (default: the firmware mock's) */
  seqPersistence?: SeqPersistence
  /** devices connecting at once (default 200) */
  connectConcurrency?: number
  onProgress?: (p: FleetProgress) => void
  /** told of every acknowledged batch, as its PUBACK arrives */
  onAck?: (ack: FleetAck) => void
}

export interface FleetAck {
  kind: DeviceKind
  identity: string
  readings: ReadonlyArray<Record<string, unknown>>
  /** whether the device's owner consented to research (its readings are then due in the machine-learning table) */
  consenting: boolean
  latencyMs: number
}

export interface FleetProgress { connected: number, devices: number, generated: number, acknowledged: number, pending: number, dropped: number, elapsedMs: number }

export interface FleetSummary {
  customers: number
  consenting: number
  devices: number
  ticks: number
  generated: number
  acknowledged: number
  /** readings whose batch a full device buffer gave up */
  dropped: number
  /** readings in a device's RAM when it restarted */
  lost: number
  /** generated but neither acknowledged, dropped nor lost when the fleet stopped */
  failed: number
  reconnects: number
  restarts: number
  connectMs: number
  runMs: number
  /** publish to PUBACK, per batch (an HDR histogram: within 0.1%) */
  ackLatencyMs: { p50: number, p95: number, p99: number, max: number }
  /** the zone counts a pipeline run must give if nothing failed (the dropped and lost readings are left out) */
  expected: {
    landing: { customer: number, accelerometer: number, step_trainer: number }
    trusted: { customer: number, accelerometer: number, step_trainer: number }
    curated: { customer: number, machine_learning: number }
  }
}

const TIMELINE_START_MS = Date.UTC(2024, 0, 1)
const HOUR_MS = 3_600_000
const FIRST = ['Santosh', 'Frank', 'Jerry', 'Bobby', 'Sarah', 'Liz', 'Ben', 'Lyn', 'Chris', 'Jo', 'Kate', 'Ada']
const LAST = ['Clayton', 'Doshi', 'Aristotle', 'Lincoln', 'Habschied', 'Mitra', 'Gonzalez', 'Spencer', 'Jackson', 'Wu']

interface Customer {
  record: Record<string, unknown>, email: string, serial: string, consenting: boolean, sessionStartMs: number, random: () => number
  trainer?: Device, phone?: Device
  /** the instants whose reading each device gave up */
  lostAt: { trainer: Set<number>, phone: Set<number> }
}

export function fleetCustomers (count: number, seed: number, consentRatio: number): Customer[] {
  const r = createRandom(seed)
  return Array.from({ length: count }, (_, i) => {
    const first = FIRST[Math.floor(r() * FIRST.length)]
    const last = LAST[Math.floor(r() * LAST.length)]
    // plus-addressing, common among real customers, needs its topic encoding
    const email = `${first}.${last}${i % 4 === 3 ? '+stedi' : ''}.s${seed}n${i}@test.com`
    const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('')
    const serial = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`
    const consenting = r() < consentRatio
    const sessionStartMs = TIMELINE_START_MS + i * HOUR_MS
    const registered = sessionStartMs - HOUR_MS / 2
    const record: Record<string, unknown> = {
      customerName: `${first} ${last}`, email, phone: '8015551212', birthDay: '1990-01-01', serialNumber: serial,
      registrationDate: registered, lastUpdateDate: registered
    }
    if (consenting) record.shareWithResearchAsOfDate = registered
    return { record, email, serial, consenting, sessionStartMs, random: createRandom(seed * 100_003 + i + 1), lostAt: { trainer: new Set(), phone: new Set() } }
  })
}

export async function runFleet (o: FleetOptions): Promise<FleetSummary> {
  const customers = fleetCustomers(o.customers, o.seed, o.consentRatio)
  const service = o.credential('service', 'fleet')
  for (let i = 0; i < customers.length; i += 1000) {
    const res = await fetchGateway(`${o.httpUrl}/v1/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service}` },
      body: JSON.stringify(customers.slice(i, i + 1000).map((c) => c.record))
    })
    await checkHttpAnswer(res, 'the fleet\'s service (registering customers)', 'registering customers')
  }

  const started = Date.now()
  const devices: Device[] = []
  const acks = new Recorder()
  const deviceOf = (c: Customer, kind: DeviceKind, identity: string, lostAt: Set<number>): Device => createDevice({
    kind, identity, credential: o.credential(kind, identity), mqttUrl: o.mqttUrl, batchSize: o.batchSize, random: c.random,
    faults: o.faults, seqPersistence: o.seqPersistence,
    onAck: (n, latencyMs, batch) => {
      acks.ack(n, latencyMs)
      o.onAck?.({ kind, identity, readings: batch.readings, consenting: c.consenting, latencyMs })
    },
    onLost: (readings) => { for (const r of readings) lostAt.add((r.sensorReadingTime ?? r.timestamp) as number) }
  })
  for (const c of customers) {
    c.trainer = deviceOf(c, 'step-trainer', c.serial, c.lostAt.trainer)
    c.phone = deviceOf(c, 'accelerometer', c.email, c.lostAt.phone)
    devices.push(c.trainer, c.phone)
  }
  const progress = (): FleetProgress => {
    let generated = 0; let acknowledged = 0; let pending = 0; let dropped = 0; let connected = 0
    for (const d of devices) {
      const s = d.stats()
      generated += s.generated; acknowledged += s.acknowledged; pending += s.pending; dropped += s.dropped
      if (d.connected()) connected++
    }
    return { connected, devices: devices.length, generated, acknowledged, pending, dropped, elapsedMs: Date.now() - started }
  }
  const ticker = setInterval(() => o.onProgress?.(progress()), 500)
  try {
    let next = 0
    await Promise.all(Array.from({ length: o.connectConcurrency ?? 200 }, async () => {
      while (next < devices.length) await devices[next++].start()
    }))
    const connectMs = Date.now() - started

    // sessions: at each tick both devices of every customer read at the same instant
    const intervalMs = 1000 / o.ratePerSecond
    const ticks = Math.max(1, Math.round((o.durationMs / 1000) * o.ratePerSecond))
    const runStarted = Date.now()
    for (let k = 0; k < ticks; k++) {
      const due = runStarted + k * intervalMs
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
      for (const c of customers) {
        const at = c.sessionStartMs + Math.round(k * intervalMs)
        c.trainer!.record(stepTrainerReading(at, c.random))
        c.phone!.record(phoneReading(at, c.random))
      }
    }
    await Promise.all(devices.map(async (d) => await d.stop(15_000)))
    const p = progress()
    const total = (f: 'lost' | 'reconnects' | 'restarts'): number => devices.reduce((a, d) => a + d.stats()[f], 0)
    const latency = acks.overall()
    const ms = (v: number): number => Math.round(v * 100) / 100
    return {
      customers: customers.length,
      consenting: customers.filter((c) => c.consenting).length,
      devices: devices.length,
      ticks,
      generated: p.generated,
      acknowledged: p.acknowledged,
      dropped: p.dropped,
      lost: total('lost'),
      failed: p.pending,
      reconnects: total('reconnects'),
      restarts: total('restarts'),
      connectMs,
      runMs: Date.now() - runStarted,
      ackLatencyMs: { p50: ms(latency.p50), p95: ms(latency.p95), p99: ms(latency.p99), max: ms(latency.max) },
      expected: predictZones(customers, ticks)
    }
  } finally {
    clearInterval(ticker)
    o.onProgress?.(progress())
  }
}

/** The zone counts the seed's rules give over the readings the devices did not give up. */
function predictZones (customers: Customer[], ticks: number): FleetSummary['expected'] {
  const e = {
    landing: { customer: customers.length, accelerometer: 0, step_trainer: 0 },
    trusted: { customer: 0, accelerometer: 0, step_trainer: 0 },
    curated: { customer: 0, machine_learning: 0 }
  }
  for (const c of customers) {
    const phone = ticks - c.lostAt.phone.size
    const trainer = ticks - c.lostAt.trainer.size
    e.landing.accelerometer += phone
    e.landing.step_trainer += trainer
    if (!c.consenting) continue
    e.trusted.customer++
    e.trusted.accelerometer += phone
    // curated customers are those with phone readings in trusted, and only their trainers' readings are trusted
    if (phone === 0) continue
    e.curated.customer++
    e.trusted.step_trainer += trainer
    // each customer's session has its own hour: pairs form only within a customer, at instants both devices kept
    e.curated.machine_learning += ticks - new Set([...c.lostAt.phone, ...c.lostAt.trainer]).size
  }
  return e
}
