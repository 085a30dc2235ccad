// One emulated device (a Step Trainer or the phone app), as its firmware behaves: readings gather
// into batches with an increasing seq; sealed batches wait in a bounded buffer until the gateway
// acknowledges them (MQTT QoS 1), one at a time and in order; a lost connection is retried with
// exponential backoff and jitter, and what was not acknowledged is sent again (at-least-once).
// A restart (power cycle) keeps what firmware keeps in flash, the unacknowledged batches and, if
// it persists it, the seq counter; it loses RAM: the open batch and the connection.
import mqtt, { type MqttClient } from 'mqtt'
import { type DeviceKind, readingsTopic } from '../contracts/topics.js'
import { createBackoff } from './backoff.js'
import { type Batch, createBatchBuffer } from './buffer.js'
import { type Faults, chance } from './faults.js'
import { type SeqPersistence, createSequence } from './sequence.js'

export interface DeviceOptions {
  kind: DeviceKind
  identity: string
  credential: string
  mqttUrl: string
  /** readings per batch (default 10) */
  batchSize?: number
  /** batches kept while offline before the oldest is dropped (default 1000) */
  bufferBatches?: number
  /** where the seq counter lives: 'flash' goes on after a restart, 'ram' starts again at 0 (default 'ram') */
  seqPersistence?: SeqPersistence
  random: () => number
  faults?: Faults
  backoff?: { baseMs: number, maxMs: number }
  /** another device's identity, for the impersonation fault */
  victim?: string
  /** told of every acknowledged batch: its readings and its publish-to-PUBACK time */
  onAck?: (readings: number, latencyMs: number, batch: Batch) => void
  /** told of readings the device gave up: their batch did not fit the buffer, or a restart wiped them from RAM */
  onLost?: (readings: Array<Record<string, unknown>>, cause: 'buffer_full' | 'restart') => void
}

export interface DeviceStats {
  generated: number
  acknowledged: number
  /** readings whose batch a full buffer gave up */
  dropped: number
  /** readings in RAM (the open batch) when the device restarted: the device's loss, not the gateway's */
  lost: number
  /** readings still unacknowledged (in the buffer or the open batch) */
  pending: number
  batchesPublished: number
  reconnects: number
  restarts: number
  faults: number
}

export interface Device {
  readonly kind: DeviceKind
  readonly identity: string
  record: (reading: Record<string, unknown>) => void
  /** closes the open batch, even if not full */
  seal: () => void
  /** connects (retrying with backoff) and resolves once online; rejects after timeoutMs */
  start: (timeoutMs?: number) => Promise<void>
  /** seals, tries for up to graceMs to have everything acknowledged, then disconnects */
  stop: (graceMs?: number) => Promise<void>
  /** drops the connection now (the device reconnects by itself) */
  drop: () => void
  /** a power cycle: RAM is lost, flash kept; a started device boots and reconnects by itself */
  restart: () => void
  connected: () => boolean
  stats: () => DeviceStats
}

const TIME_FIELDS = ['sensorReadingTime', 'timestamp'] as const

export function createDevice (o: DeviceOptions): Device {
  const batchSize = o.batchSize ?? 10
  const buffer = createBatchBuffer(o.bufferBatches ?? 1000, (batch) => o.onLost?.(batch.readings, 'buffer_full'))
  const sequence = createSequence(o.seqPersistence ?? 'ram')
  const backoff = createBackoff({ baseMs: o.backoff?.baseMs ?? 100, maxMs: o.backoff?.maxMs ?? 5000, random: o.random })
  const topic = readingsTopic(o.kind, o.identity)
  const faults = o.faults ?? {}
  let open: Array<Record<string, unknown>> = []
  let client: MqttClient | undefined
  let online = false
  let stopping = false
  let sending = false
  let reconnectTimer: NodeJS.Timeout | undefined
  const stats = { generated: 0, acknowledged: 0, lost: 0, batchesPublished: 0, reconnects: 0, restarts: 0, faults: 0 }

  const seal = (): void => {
    if (open.length === 0) return
    buffer.push({ seq: sequence.next(), readings: open })
    open = []
    void pump()
  }

  const connect = (): void => {
    const c = mqtt.connect(o.mqttUrl, { username: o.identity, password: o.credential, reconnectPeriod: 0, connectTimeout: 10_000, clean: true })
    client = c
    c.on('connect', () => { online = true; backoff.reset(); void pump() })
    c.on('error', () => {})
    c.on('close', () => {
      online = false
      if (stopping || client !== c) return
      stats.reconnects++
      reconnectTimer = setTimeout(connect, backoff.next())
    })
  }

  // the power goes: no DISCONNECT is sent, and nothing in RAM survives
  const restart = (): void => {
    stats.restarts++
    if (open.length > 0) {
      stats.lost += open.length
      o.onLost?.(open, 'restart')
      open = []
    }
    sequence.restart()
    backoff.reset()
    if (reconnectTimer !== undefined) clearTimeout(reconnectTimer)
    const c = client
    client = undefined
    online = false
    c?.stream.destroy()
    if (c !== undefined && !stopping) connect()
  }

  const payloadOf = (batch: Batch): string => JSON.stringify({ seq: batch.seq, readings: batch.readings })

  // a QoS 1 publish whose connection closes is never answered: treat the close as its failure
  const publishAcked = async (c: MqttClient, payload: string): Promise<void> => await new Promise((resolve, reject) => {
    const closed = (): void => reject(new Error('connection closed before PUBACK'))
    c.once('close', closed)
    c.publish(topic, payload, { qos: 1 }, (err) => {
      c.off('close', closed)
      if (err != null) reject(err)
      else resolve()
    })
  })

  async function pump (): Promise<void> {
    if (sending) return
    sending = true
    try {
      for (let batch = buffer.peek(); batch !== undefined && online && client !== undefined; batch = buffer.peek()) {
        const c = client
        if (chance(faults.corruptPayload, o.random)) {
          stats.faults++
          c.publish(topic, payloadOf(batch).slice(0, 20), { qos: 1 })
        }
        if (chance(faults.impersonate, o.random) && o.victim !== undefined) {
          stats.faults++
          c.publish(readingsTopic(o.kind, o.victim), payloadOf(batch), { qos: 1 })
        }
        if (chance(faults.dropConnection, o.random)) {
          stats.faults++
          c.publish(topic, payloadOf(batch), { qos: 1 })
          c.stream.destroy()
          break
        }
        if (!c.connected) break
        const sentAt = performance.now()
        buffer.sending(batch)
        await publishAcked(c, payloadOf(batch))
        o.onAck?.(batch.readings.length, performance.now() - sentAt, batch)
        if (chance(faults.duplicatePublish, o.random)) {
          stats.faults++
          await publishAcked(c, payloadOf(batch))
        }
        stats.batchesPublished++
        stats.acknowledged += batch.readings.length
        buffer.acknowledge(batch)
      }
    } catch {
      // the connection went: the batch stays in the buffer and goes again after the reconnect
    } finally {
      buffer.sending(undefined)
      sending = false
    }
  }

  return {
    kind: o.kind,
    identity: o.identity,
    record: (reading) => {
      if (chance(faults.restart, o.random)) {
        stats.faults++
        restart()
      }
      const r = { ...reading }
      if (faults.clockSkewMs !== undefined) for (const f of TIME_FIELDS) if (typeof r[f] === 'number') r[f] = (r[f] as number) + faults.clockSkewMs
      if (chance(faults.outOfRange, o.random)) {
        stats.faults++
        if ('distanceFromObject' in r) r.distanceFromObject = -1
        for (const f of TIME_FIELDS) if (typeof r[f] === 'number') r[f] = Math.floor((r[f] as number) / 1000)
      }
      stats.generated++
      open.push(r)
      if (open.length >= batchSize) seal()
    },
    seal,
    start: async (timeoutMs = 30_000) => {
      connect()
      const deadline = Date.now() + timeoutMs
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (online) resolve()
          else if (stopping) reject(new Error(`${o.kind} ${o.identity}: stopped before it connected`))
          else if (Date.now() > deadline) reject(new Error(`${o.kind} ${o.identity}: could not connect to ${o.mqttUrl} within ${timeoutMs} ms`))
          else setTimeout(check, 20)
        }
        check()
      })
    },
    stop: async (graceMs = 10_000) => {
      seal()
      const deadline = Date.now() + graceMs
      while (buffer.size() > 0 && Date.now() < deadline) {
        void pump()
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      stopping = true
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer)
      await client?.endAsync(true).catch(() => undefined)
    },
    drop: () => { client?.stream.destroy() },
    restart,
    connected: () => online,
    stats: () => ({ ...stats, dropped: buffer.dropped.readings, pending: buffer.readings() + open.length })
  }
}
