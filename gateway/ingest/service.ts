// The one path every reading takes, whatever its transport: validate, admit (rate limit, outbox
// room), commit to the outbox, answer. A message is acknowledged only once it is durable; one the
// gateway cannot take right now (rate, full outbox) is refused without an acknowledgement, its
// refusal recorded with its seq, so that the device sends it again and the ledger can say why.
// Outcomes that the ledger decides after the ack (landed, redelivered, rejected) are counted
// there (gateway/app.ts wires the outbox's indexing events to the metrics).
import type { TombstoneMatcher } from '../../contracts/privacy.js'
import type { DeviceKind } from '../../contracts/topics.js'
import { filterErased } from '../privacy/ingest-filter.js'
import type { GatewayConfig } from '../config.js'
import type { GatewayMetrics } from '../metrics.js'
import type { Batcher } from './batcher.js'
import type { AcceptRequest, AcceptResult, Outbox } from '../outbox/outbox.js'
import { createRateLimiter } from './rate-limit.js'
import { type Problem, type Rejection, type ValidatedMessage, datasetOfKind, validateCustomer, validateDeviceMessage } from './validate.js'

export type Transport = 'mqtt' | 'http'

export interface DeviceOutcome {
  seq: number | null
  readings: number
  accepted: number
  duplicates: number
  rejected: Rejection[]
  /** readings a tombstone covers: acknowledged, never kept */
  erased: number
}

/** Refusals that are not acknowledged: the device keeps the message and sends it again later. */
export type TransientRefusal = 'rate_limited' | 'overloaded' | 'connection_closed'

export type Admission =
  | { ok: true }
  | { ok: false, reason: TransientRefusal, retryAfterMs: number }
  /** more readings in one message than the device's burst: it can never be taken as it is */
  | { ok: false, reason: 'never_fits', retryAfterMs: number }

export interface Ingest {
  /** the outbox holds more than it may: HTTP answers 503, MQTT withholds its acknowledgements */
  overloaded: () => boolean
  admit: (kind: DeviceKind, identity: string, readings: number) => Admission
  /** MQTT's bounded wait for admission: resolves with the admission finally given (connection_closed when gone() turns true) */
  waitForAdmission: (kind: DeviceKind, identity: string, readings: number, maxWaitMs: number, gone: () => boolean) => Promise<Admission>
  /** validates and keeps a device message; resolves once durable. reserved: the readings its admission reserved (released here) */
  device: (kind: DeviceKind, identity: string, payload: Buffer | string, transport: Transport, options?: { neverFits?: boolean, reserved?: number }) => Promise<DeviceOutcome>
  /** records a message refused without an acknowledgement */
  refuse: (kind: DeviceKind, identity: string, payload: Buffer | string, transport: Transport, reason: TransientRefusal) => Promise<void>
  customers: (records: unknown[]) => Promise<{ accepted: number, duplicates: number, erased: number } | { problems: Problem[] }>
}

export const deviceKey = (kind: DeviceKind, identity: string): string => `${kind}/${identity}`

// A device's key and its metric labels are needed for every message: made once per device (or label
// set), the same string and object each time, so that every map keyed by them finds them at once
// (a string made anew is hashed anew).
const MAX_DEVICE_KEYS = 100_000
const DEVICE_KEYS = new Map<DeviceKind, Map<string, string>>()
function cachedDeviceKey (kind: DeviceKind, identity: string): string {
  let ofKind = DEVICE_KEYS.get(kind)
  if (ofKind === undefined) { ofKind = new Map(); DEVICE_KEYS.set(kind, ofKind) }
  let key = ofKind.get(identity)
  if (key === undefined) {
    key = deviceKey(kind, identity)
    if (ofKind.size >= MAX_DEVICE_KEYS) ofKind.clear()
    ofKind.set(identity, key)
  }
  return key
}

type ReceivedLabels = Readonly<{ dataset: string, transport: Transport }>
const RECEIVED_LABELS = new Map<string, Record<Transport, ReceivedLabels>>()
function receivedLabels (dataset: string, transport: Transport): ReceivedLabels {
  let ofDataset = RECEIVED_LABELS.get(dataset)
  if (ofDataset === undefined) {
    ofDataset = { mqtt: Object.freeze({ dataset, transport: 'mqtt' }), http: Object.freeze({ dataset, transport: 'http' }) }
    RECEIVED_LABELS.set(dataset, ofDataset)
  }
  return ofDataset[transport]
}

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

const request = (kind: DeviceKind, identity: string, m: ValidatedMessage): AcceptRequest =>
  ({ dataset: datasetOfKind(kind), device: cachedDeviceKey(kind, identity), seq: m.seq, lines: m.lines, minTs: m.minTs, maxTs: m.maxTs, rejections: m.rejections, readings: m.readings })

export function createIngest (deps: { config: GatewayConfig, outbox: Outbox, batcher: Batcher, metrics: GatewayMetrics, stateFull: () => boolean, erasures: () => TombstoneMatcher }): Ingest {
  const { config, outbox, batcher, metrics } = deps
  const limiter = createRateLimiter(config.rateLimit.readingsPerSecond, config.rateLimit.burst)
  const limits = { maxPayloadBytes: config.maxPayloadBytes, maxBatchReadings: config.maxBatchReadings }
  // readings admitted and not yet committed count against the outbox's room, so that a burst of
  // messages arriving together cannot all be admitted on the same empty outbox
  let admitted = 0
  const overloaded = (): boolean => outbox.depth() + admitted >= config.maxOutboxRecords || deps.stateFull()

  const admit = (kind: DeviceKind, identity: string, readings: number): Admission => {
    if (overloaded()) return { ok: false, reason: 'overloaded', retryAfterMs: 1000 }
    const wait = limiter.reserve(cachedDeviceKey(kind, identity), readings)
    if (wait === 0) { admitted += readings; return { ok: true } }
    return Number.isFinite(wait) ? { ok: false, reason: 'rate_limited', retryAfterMs: wait } : { ok: false, reason: 'never_fits', retryAfterMs: 0 }
  }

  return {
    overloaded,
    admit: (kind, identity, readings) => admit(kind, identity, readings),
    waitForAdmission: async (kind, identity, readings, maxWaitMs, gone) => {
      const deadline = Date.now() + maxWaitMs
      for (;;) {
        if (gone()) return { ok: false, reason: 'connection_closed', retryAfterMs: 0 }
        const a = admit(kind, identity, readings)
        if (a.ok || a.reason === 'never_fits') return a
        // tokens come back at a known time; room in the outbox at an unknown one: look again soon
        const wait = a.reason === 'rate_limited' ? a.retryAfterMs : 20
        if (Date.now() + wait > deadline) return a
        await new Promise((resolve) => setTimeout(resolve, Math.max(5, wait)))
      }
    },
    device: (kind, identity, payload, transport, options = {}) => {
      const dataset = datasetOfKind(kind)
      let message = validateDeviceMessage(kind, identity, payload, limits)
      if (options.neverFits === true) {
        // acknowledged and refused for good: sending it again could never help
        const detail = `${message.readings} readings in one message > this device's burst of ${config.rateLimit.burst}`
        message = { ...message, lines: [], minTs: null, maxTs: null, rejections: [{ index: null, reason: 'batch_too_large', detail, ts: null }] }
      }
      metrics.received.inc(receivedLabels(dataset, transport), message.readings)
      const reserved = options.reserved ?? 0
      // an erased customer's readings are acknowledged (the device stops resending) and kept nowhere
      const matcher = deps.erasures()
      const { request: req, erased } = matcher.size === 0 ? { request: request(kind, identity, message), erased: 0 } : filterErased(matcher, request(kind, identity, message))
      if (erased > 0) metrics.erased.inc({ dataset }, erased)
      if (req === undefined) {
        admitted -= reserved
        return Promise.resolve({ seq: message.seq, readings: message.readings, accepted: 0, duplicates: 0, rejected: [], erased })
      }
      const outcome = (result: AcceptResult, known: boolean): DeviceOutcome => {
        if (!result.fresh) metrics.deduplicated.inc({ dataset }, result.duplicates)
        if (result.accepted > 0) batcher.poke()
        const duplicate = !result.fresh || known
        return {
          seq: message.seq,
          readings: message.readings,
          accepted: duplicate ? 0 : result.accepted,
          duplicates: duplicate ? req.readings : 0,
          rejected: duplicate ? [] : req.rejections as Rejection[],
          erased
        }
      }
      const release = (): void => { admitted -= reserved }
      // MQTT's PUBACK says nothing of redeliveries: straight to the outbox, the promise it gives and no other
      if (transport === 'mqtt' || req.lines.length === 0) {
        return outbox.accept(req).then((result) => { release(); return outcome(result, false) }, (err: unknown) => { release(); throw err })
      }
      // over HTTP the answer reports redeliveries, so ask the ledger first (a read)
      return (async () => {
        try {
          const known = await outbox.delivered(req)
          return outcome(await outbox.accept(req), known)
        } finally { release() }
      })()
    },
    refuse: async (kind, identity, payload, transport, reason) => {
      const dataset = datasetOfKind(kind)
      // parsed only for its seq and size: the refusal is recorded under the seq the device will send again
      const m = validateDeviceMessage(kind, identity, payload, limits)
      metrics.received.inc({ dataset, transport }, m.readings)
      metrics.refused.inc({ dataset, reason, transport }, m.readings)
      metrics.refusals.inc({ dataset, reason, transport })
      const detail = reason === 'rate_limited'
        ? `above this device's rate of ${config.rateLimit.readingsPerSecond} readings/s: not acknowledged, send it again`
        : reason === 'overloaded' ? 'the gateway\'s outbox is full: not acknowledged, send it again' : 'the connection closed while it waited: not acknowledged, send it again'
      // not acknowledged, so not erased either (it comes back); but its refusal must not name an erased customer
      const { request: req } = filterErased(deps.erasures(), request(kind, identity, { ...m, lines: [], minTs: null, maxTs: null, rejections: [{ index: null, reason, detail, ts: null }] }))
      if (req !== undefined) await outbox.refuse(req)
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
      const results = await Promise.all(valid.map(async (rec) => {
        const { request: req, erased } = filterErased(deps.erasures(),
          { dataset: 'customer', device: `customer/${rec.email}`, seq: null, lines: [rec.line], minTs: rec.ts, maxTs: rec.ts, rejections: [], readings: 1 })
        if (req === undefined) { metrics.erased.inc({ dataset: 'customer' }, erased); return { accepted: 0, duplicates: 0, erased } }
        const known = await outbox.delivered(req)
        const r = await outbox.accept(req)
        if (!r.fresh) metrics.deduplicated.inc({ dataset: 'customer' })
        return known || !r.fresh ? { accepted: 0, duplicates: 1, erased: 0 } : { accepted: r.accepted, duplicates: 0, erased: 0 }
      }))
      const accepted = results.reduce((a, r) => a + r.accepted, 0)
      const duplicates = results.reduce((a, r) => a + r.duplicates, 0)
      const erased = results.reduce((a, r) => a + r.erased, 0)
      if (accepted > 0) batcher.poke()
      return { accepted, duplicates, erased }
    }
  }
}
