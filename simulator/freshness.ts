// Freshness: how long after its PUBACK a reading is a row of machine_learning_curated. One reading
// in N is followed from its acknowledgement (the device's own clock, Date.now) until a poll of the
// table finds a row naming it (a trainer reading by serialNumber and sensorReadingTime, a phone
// reading by user and timestamp); the times go into an HDR histogram. Readings of customers without
// research consent are followed too, apart, as a control: none may ever appear.
//
// Bounded whatever the run's length: the histogram is a fixed size; at most maxPending consenting
// readings wait at once (a due sample past it is counted as not followed, never silently dropped);
// the control keeps only its latest maxControl readings (older ones are counted, no longer watched).
//
// The table side is a function (the caller's: pipeline/table-watch.ts under `stedi simulate fleet
// --watch-lakehouse`), so the simulator does not import the pipeline.
import type { DeviceKind } from '../contracts/topics.js'
import { histogram } from './load/recorder.js'

export interface FreshnessOptions {
  /** one reading in sampleEvery is followed, of each group (default 100) */
  sampleEvery?: number
  /** consenting readings waiting at once (default 100,000, about 10 MB) */
  maxPending?: number
  /** control readings watched at once (default 10,000) */
  maxControl?: number
  /** the clock, in epoch ms (default Date.now): acknowledgements and polls on the same clock */
  now?: () => number
}

export interface AcknowledgedReadings {
  kind: DeviceKind
  /** the device's identity: a serial number or an email */
  identity: string
  readings: ReadonlyArray<Record<string, unknown>>
  /** whether the owner consented to research: the readings must then reach the table */
  consenting: boolean
}

/** A machine_learning_curated row, as far as it names its two readings: serialNumber, sensorReadingTime, user, timestamp. */
export type VisibleRow = Readonly<Record<string, unknown>>

export interface FreshnessResult {
  /** how the figures are made */
  method: string
  sampleEvery: number
  /** consenting readings followed */
  sampled: number
  visible: number
  /** followed, not seen by the end (must be 0) */
  neverVisible: number
  /** due to be followed while maxPending readings waited: not counted anywhere else */
  notFollowed: number
  /** PUBACK to seen, over the visible readings (null when none was seen) */
  freshnessMs: { p50: number, p95: number, p99: number, max: number } | null
  /** readings of customers without consent, followed as a control: visible must be 0 */
  notConsenting: { sampled: number, visible: number }
}

const INSTANT_FIELDS = ['sensorReadingTime', 'timestamp'] as const
const keyOf = (kind: DeviceKind, identity: string, at: number): string => `${kind}\n${identity}\n${at}`

export class FreshnessTracker {
  private readonly sampleEvery: number
  private readonly maxPending: number
  private readonly maxControl: number
  private readonly now: () => number
  private readonly latencies = histogram()
  private maxMs = 0
  // key -> acknowledged at; insertion order is age (the control drops its oldest)
  private readonly pending = new Map<string, number>()
  private readonly control = new Map<string, number>()
  private counted = { consenting: 0, control: 0 }
  private sampled = 0
  private visible = 0
  private notFollowed = 0
  private controlSampled = 0
  private controlVisible = 0

  constructor (options: FreshnessOptions = {}) {
    this.sampleEvery = Math.max(1, Math.floor(options.sampleEvery ?? 100))
    this.maxPending = Math.max(1, options.maxPending ?? 100_000)
    this.maxControl = Math.max(1, options.maxControl ?? 10_000)
    this.now = options.now ?? Date.now
  }

  /** A device's batch was acknowledged just now. */
  acknowledged (ack: AcknowledgedReadings): void {
    const at = this.now()
    const group = ack.consenting ? 'consenting' : 'control'
    for (const reading of ack.readings) {
      if (++this.counted[group] % this.sampleEvery !== 0) continue
      const instant = INSTANT_FIELDS.map((f) => reading[f]).find((v) => typeof v === 'number')
      if (instant === undefined) continue
      const key = keyOf(ack.kind, ack.identity, instant as number)
      if (ack.consenting) {
        if (this.pending.size >= this.maxPending) { this.notFollowed++; continue }
        if (!this.pending.has(key)) { this.pending.set(key, at); this.sampled++ }
      } else {
        if (!this.control.has(key)) this.controlSampled++
        this.control.set(key, at)
        if (this.control.size > this.maxControl) this.control.delete(this.control.keys().next().value!)
      }
    }
  }

  /** The instants of the readings still followed: what a poll of the table should look for. */
  instants (): number[] {
    const out: number[] = []
    for (const map of [this.pending, this.control]) for (const key of map.keys()) out.push(Number(key.slice(key.lastIndexOf('\n') + 1)))
    return out
  }

  /** Rows a poll found (now): the readings they name are visible. */
  seen (rows: Iterable<VisibleRow>): void {
    const at = this.now()
    for (const row of rows) {
      for (const key of [keyOf('step-trainer', String(row.serialNumber), Number(row.sensorReadingTime)), keyOf('accelerometer', String(row.user), Number(row.timestamp))]) {
        const ackedAt = this.pending.get(key)
        if (ackedAt !== undefined) {
          this.pending.delete(key)
          this.visible++
          const ms = Math.max(0, at - ackedAt)
          this.latencies.recordValue(Math.max(1, Math.round(ms)))
          if (ms > this.maxMs) this.maxMs = ms
        } else if (this.control.delete(key)) {
          this.controlVisible++
        }
      }
    }
  }

  /** consenting readings followed and not seen yet */
  waiting (): number {
    return this.pending.size
  }

  result (): FreshnessResult {
    const h = this.latencies
    const pct = (q: number): number => Math.min(h.getValueAtPercentile(q), this.maxMs)
    return {
      method: `one reading in ${this.sampleEvery} followed from its PUBACK until a poll finds its row in the current version of machine_learning_curated ` +
        '(late by up to the poll period); percentiles from an HDR histogram of 3 significant digits',
      sampleEvery: this.sampleEvery,
      sampled: this.sampled,
      visible: this.visible,
      neverVisible: this.pending.size,
      notFollowed: this.notFollowed,
      freshnessMs: h.totalCount === 0
        ? null
        // a percentile is the top of its histogram bucket: never above the exact maximum
        : { p50: pct(50), p95: pct(95), p99: pct(99), max: this.maxMs },
      notConsenting: { sampled: this.controlSampled, visible: this.controlVisible }
    }
  }
}

/** Rows of the table added since the last call, at the instants given (asked for after the table's state is read). */
export type VisibleRowsSource = (instants: () => number[]) => Promise<Iterable<VisibleRow>>

export interface FreshnessWatch {
  /** keeps polling until no consenting reading waits, or timeoutMs; true when none waits */
  settle: (timeoutMs: number) => Promise<boolean>
  /** stops polling (after the poll under way) */
  stop: () => Promise<{ polls: number, errors: number, lastError: string | null }>
}

/** Polls `source` every everyMs (from the end of one poll to the start of the next) and hands what it finds to the tracker. */
export function watchFreshness (tracker: FreshnessTracker, source: VisibleRowsSource, options: { everyMs: number }): FreshnessWatch {
  let running = true
  let polls = 0
  let errors = 0
  let lastError: string | null = null
  let wake: (() => void) | undefined
  const pause = async (ms: number): Promise<void> => await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { wake = undefined; resolve() }, ms)
    wake = () => { clearTimeout(timer); wake = undefined; resolve() }
  })
  const loop = (async () => {
    while (running) {
      try {
        tracker.seen(await source(() => tracker.instants()))
      } catch (err) {
        // a poll that fails (the state being replaced, a file gone) is counted and tried again next time
        errors++
        lastError = (err as Error).message
      }
      polls++
      if (running) await pause(options.everyMs)
    }
  })()
  return {
    settle: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs
      while (tracker.waiting() > 0 && Date.now() < deadline && running) await new Promise((resolve) => setTimeout(resolve, Math.min(options.everyMs, 100)))
      return tracker.waiting() === 0
    },
    stop: async () => {
      running = false
      wake?.()
      await loop
      return { polls, errors, lastError }
    }
  }
}
