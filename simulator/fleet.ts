// A fleet of customers, each with a Step Trainer and a phone, against a gateway: customers are
// registered over HTTP, then during exercise sessions both devices of a customer read at the same
// instants and publish over MQTT. Deterministic for a seed: the same options give the same customers
// and readings (times come from a fixed timeline, not the wall clock; each customer's session sits
// in its own hour, so no two customers share an instant), so a test knows the zone counts to expect.
import type { DeviceKind } from '../contracts/topics.js'
import { type Device, createDevice } from '../firmware-mock/device.js'
import type { Faults } from '../firmware-mock/faults.js'
import { phoneReading, stepTrainerReading } from '../firmware-mock/sensors.js'
import { createRandom } from './generate.js'

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
  /** devices connecting at once (default 200) */
  connectConcurrency?: number
  onProgress?: (p: FleetProgress) => void
}

export interface FleetProgress { connected: number, devices: number, generated: number, acknowledged: number, pending: number, dropped: number, elapsedMs: number }

export interface FleetSummary {
  customers: number
  consenting: number
  devices: number
  ticks: number
  generated: number
  acknowledged: number
  dropped: number
  /** generated but neither acknowledged nor dropped when the fleet stopped */
  failed: number
  reconnects: number
  connectMs: number
  runMs: number
  /** the zone counts a pipeline run must give if nothing was dropped or failed */
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

interface Customer { record: Record<string, unknown>, email: string, serial: string, consenting: boolean, sessionStartMs: number, trainer?: Device, phone?: Device, random: () => number }

export function fleetCustomers (count: number, seed: number, consentRatio: number): Customer[] {
  const r = createRandom(seed)
  return Array.from({ length: count }, (_, i) => {
    const first = FIRST[Math.floor(r() * FIRST.length)]
    const last = LAST[Math.floor(r() * LAST.length)]
    const email = `${first}.${last}.s${seed}n${i}@test.com`
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
    return { record, email, serial, consenting, sessionStartMs, random: createRandom(seed * 100_003 + i + 1) }
  })
}

export async function runFleet (o: FleetOptions): Promise<FleetSummary> {
  const customers = fleetCustomers(o.customers, o.seed, o.consentRatio)
  const service = o.credential('service', 'fleet')
  for (let i = 0; i < customers.length; i += 1000) {
    const res = await fetch(`${o.httpUrl}/v1/customers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service}` },
      body: JSON.stringify(customers.slice(i, i + 1000).map((c) => c.record))
    })
    if (res.status !== 202) throw new Error(`registering customers: HTTP ${res.status} ${await res.text()}`)
  }

  const started = Date.now()
  const devices: Device[] = []
  for (const c of customers) {
    c.trainer = createDevice({ kind: 'step-trainer', identity: c.serial, credential: o.credential('step-trainer', c.serial), mqttUrl: o.mqttUrl, batchSize: o.batchSize, random: c.random, faults: o.faults })
    c.phone = createDevice({ kind: 'accelerometer', identity: c.email, credential: o.credential('accelerometer', c.email), mqttUrl: o.mqttUrl, batchSize: o.batchSize, random: c.random, faults: o.faults })
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
    const consenting = customers.filter((c) => c.consenting).length
    const n = customers.length
    return {
      customers: n,
      consenting,
      devices: devices.length,
      ticks,
      generated: p.generated,
      acknowledged: p.acknowledged,
      dropped: p.dropped,
      failed: p.pending,
      reconnects: devices.reduce((a, d) => a + d.stats().reconnects, 0),
      connectMs,
      runMs: Date.now() - runStarted,
      expected: {
        landing: { customer: n, accelerometer: n * ticks, step_trainer: n * ticks },
        trusted: { customer: consenting, accelerometer: consenting * ticks, step_trainer: consenting * ticks },
        curated: { customer: consenting, machine_learning: consenting * ticks }
      }
    }
  } finally {
    clearInterval(ticker)
    o.onProgress?.(progress())
  }
}
