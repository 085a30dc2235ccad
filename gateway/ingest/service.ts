// The one path every reading takes, whatever its transport: validate, rate-limit, commit to the
// outbox (deduplicating), count. It resolves only when the outcome is durable, so a transport
// acknowledges (PUBACK, HTTP 202) exactly what is accounted for.
import type { DeviceKind } from '../../contracts/topics.js'
import { REJECT_REASONS, type RejectReason } from '../../contracts/readings.js'
import type { GatewayConfig } from '../config.js'
import type { GatewayMetrics } from '../metrics.js'
import type { Batcher } from './batcher.js'
import type { Outbox } from './outbox.js'
import { createRateLimiter } from './rate-limit.js'
import { type Problem, type Rejection, datasetOfKind, validateCustomer, validateDeviceMessage } from './validate.js'

export type Transport = 'mqtt' | 'http'

export interface DeviceOutcome {
  seq: number | null
  readings: number
  accepted: number
  duplicates: number
  rejected: Rejection[]
}

export type Admission = { ok: true } | { ok: false, reason: 'rate_limited' | 'overloaded', retryAfterMs: number }

export interface Ingest {
  /** the outbox holds more than it may: HTTP answers 503 */
  overloaded: () => boolean
  /** HTTP asks first and answers 429/503; MQTT waits (bounded) instead */
  admit: (kind: DeviceKind, identity: string, readings: number) => Admission
  /** refused: the transport already decided to refuse the message (rate limit, full outbox); it is recorded */
  device: (kind: DeviceKind, identity: string, payload: Buffer | string | unknown, transport: Transport, refused?: { reason: RejectReason, readings: number }) => Promise<DeviceOutcome>
  customers: (records: unknown[]) => Promise<{ accepted: number, duplicates: number } | { problems: Problem[] }>
  /** MQTT's bounded wait for admission: resolves with the reason to refuse, if any */
  waitForAdmission: (kind: DeviceKind, identity: string, readings: number) => Promise<RejectReason | undefined>
}

/** How long an MQTT publish may be held back (rate limit, full outbox) before it is refused. */
const MAX_MQTT_WAIT_MS = 5_000

export const deviceKey = (kind: DeviceKind, identity: string): string => `${kind}/${identity}`

/**
 * How many readings a payload holds, for the rate limit, without parsing it: a batch of N readings
 * has N + 1 '{', a single reading one.
 */
export function estimateReadings (payload: Buffer | string): number {
  const buf = typeof payload === 'string' ? Buffer.from(payload) : payload
  let n = 0
  for (let i = buf.indexOf(0x7b); i !== -1; i = buf.indexOf(0x7b, i + 1)) n++
  return Math.max(1, n - 1)
}

export function createIngest (deps: { config: GatewayConfig, outbox: Outbox, batcher: Batcher, metrics: GatewayMetrics }): Ingest {
  const { config, outbox, batcher, metrics } = deps
  const limiter = createRateLimiter(config.rateLimit.readingsPerSecond, config.rateLimit.burst)
  const limits = { maxPayloadBytes: config.maxPayloadBytes, maxBatchReadings: config.maxBatchReadings }

  const admit = (kind: DeviceKind, identity: string, readings: number): Admission => {
    if (outbox.depth() >= config.maxOutboxRecords) return { ok: false, reason: 'overloaded', retryAfterMs: 1000 }
    const wait = limiter.reserve(deviceKey(kind, identity), readings)
    return wait === 0 ? { ok: true } : { ok: false, reason: 'rate_limited', retryAfterMs: Number.isFinite(wait) ? wait : 60_000 }
  }

  return {
    overloaded: () => outbox.depth() >= config.maxOutboxRecords,
    admit,
    waitForAdmission: async (kind, identity, readings) => {
      const deadline = Date.now() + MAX_MQTT_WAIT_MS
      for (;;) {
        const a = admit(kind, identity, readings)
        if (a.ok) return undefined
        if (Date.now() + a.retryAfterMs > deadline) return a.reason
        await new Promise((resolve) => setTimeout(resolve, Math.max(5, a.retryAfterMs)))
      }
    },
    device: async (kind, identity, payload, transport, refused) => {
      const dataset = datasetOfKind(kind)
      const message = refused === undefined
        ? validateDeviceMessage(kind, identity, payload, limits)
        : { seq: null, lines: [], minTs: null, maxTs: null, rejections: [{ index: null, reason: refused.reason, detail: REJECT_REASONS[refused.reason], ts: null }], readings: refused.readings }
      metrics.received.inc({ dataset, transport }, message.readings)
      const result = await outbox.accept({ dataset, device: deviceKey(kind, identity), ...message })
      metrics.accepted.inc({ dataset }, result.accepted)
      if (result.duplicates > 0) metrics.deduplicated.inc({ dataset }, result.duplicates)
      // a redelivered message counts as duplicates whole: its refusals were counted the first time
      if (result.fresh) for (const r of message.rejections) metrics.rejected.inc({ dataset, reason: r.reason }, r.index === null ? message.readings : 1)
      if (result.accepted > 0) batcher.poke()
      return { seq: message.seq, readings: message.readings, accepted: result.accepted, duplicates: result.duplicates, rejected: result.fresh ? message.rejections : [] }
    },
    customers: async (records) => {
      const problems: Problem[] = []
      const valid = []
      for (const [i, r] of records.entries()) {
        const out = validateCustomer(r, i)
        if (Array.isArray(out)) problems.push(...out)
        else valid.push(out)
      }
      metrics.received.inc({ dataset: 'customer', transport: 'http' }, records.length)
      if (problems.length > 0) {
        // every record of a refused request is counted once: by its own first problem, or as refused with it
        const firstProblem = new Map<number, Problem>()
        for (const p of problems) if (!firstProblem.has(p.index)) firstProblem.set(p.index, p)
        for (let i = 0; i < records.length; i++) metrics.rejected.inc({ dataset: 'customer', reason: firstProblem.get(i)?.reason ?? 'request_refused' })
        return { problems }
      }
      // each record is its own message under its customer: the same record sent again is a
      // duplicate, a changed one is an update
      const results = await Promise.all(valid.map(async (rec) =>
        await outbox.accept({ dataset: 'customer', device: `customer/${rec.email}`, seq: null, lines: [rec.line], minTs: rec.ts, maxTs: rec.ts, rejections: [], readings: 1 })))
      const accepted = results.reduce((a, r) => a + r.accepted, 0)
      const duplicates = results.reduce((a, r) => a + r.duplicates, 0)
      metrics.accepted.inc({ dataset: 'customer' }, accepted)
      if (duplicates > 0) metrics.deduplicated.inc({ dataset: 'customer' }, duplicates)
      if (accepted > 0) batcher.poke()
      return { accepted, duplicates }
    }
  }
}
