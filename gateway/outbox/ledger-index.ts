// Builds the ledger from committed segments, after their messages were acknowledged and in the
// order they were committed: a delivery row per new message (a repeated one counts on its first
// row), a conflict mark when a seq comes back with other content, itemized rejections and counted
// ones. A redelivery found here is marked as a skip of its segment, so its lines never land. One
// short transaction per step, each taking the segments up to a few thousand messages, so the
// ack path's commits are never held back for long. A step is atomic: a crash redoes it whole.
import type { DatasetName } from '../../contracts/datasets.js'
import type { Database } from '../../common/sqlite.js'
import { type DeliveryStore, type Known, type NewDelivery, countAgain, sameKeyOf } from './delivery-store.js'
import { ENTRY_KIND, type MessageEntry, fullKey } from './message-entry.js'
import type { PendingKeys } from './pending-keys.js'
import { type StateWriter, sqlLiteral } from './writer.js'

/** A range of a segment's lines that belongs to a redelivered message: [first line, lines]. */
export type Skip = [number, number]

/** What the ledger decided for one segment's messages: the final word on what lands. */
export interface IndexedOutcome {
  dataset: DatasetName
  /** records of new messages (they land) */
  accepted: number
  /** readings of redeliveries, and the records and bytes of their lines (they never land) */
  duplicates: number
  skippedRecords: number
  skippedBytes: number
  /** refused readings of acknowledged messages, by reason (a whole-message refusal counts its readings) */
  rejected: Record<string, number>
  /** new messages that reused a seq with other content */
  conflicts: number
  /** refusals over the per-device cap (counted, not itemized) */
  notItemized: number
}

export interface IndexEvents { onIndexed: (outcome: IndexedOutcome) => void }

/** A committed segment's messages, waiting for the ledger. */
export interface CommittedMessages { segment: number, dataset: DatasetName, receivedMs: number, entries: MessageEntry[] }

/**
 * The ledger is built in steps of at least this many messages, or after this long: one step's
 * fixed costs (a transaction, the look-ups of a few thousand keys in one statement) are shared by
 * many messages, and the ack path's commits get the connection in between.
 */
const STEP_MESSAGES = 2_000
const STEP_DELAY_MS = 20

const NONE_KNOWN: readonly Known[] = Object.freeze([])

/**
 * The new deliveries of one step, to find a repeat within the step. A batch is found by its key; a
 * single reading by its device and content, and only when it is not later than every reading of
 * its device so far in the step (the same content has the same first reading time): the common
 * case, a device's clock moving forward, costs no key of its own.
 */
class StepDeliveries {
  private readonly batches = new Map<string, NewDelivery>()
  private readonly byDevice = new Map<string, { latestTs: number, deliveries: NewDelivery[] }>()

  find (e: MessageEntry): NewDelivery | undefined {
    if (e.seq !== null) return this.batches.get(fullKey(e))
    const d = this.byDevice.get(e.device)
    if (d === undefined || (e.minTs !== null && e.minTs > d.latestTs)) return undefined
    return d.deliveries.find((n) => n.entry.hash === e.hash)
  }

  add (n: NewDelivery): void {
    const e = n.entry
    if (e.seq !== null) { this.batches.set(fullKey(e), n); return }
    let d = this.byDevice.get(e.device)
    if (d === undefined) { d = { latestTs: -Infinity, deliveries: [] }; this.byDevice.set(e.device, d) }
    d.deliveries.push(n)
    if (e.minTs !== null && e.minTs > d.latestTs) d.latestTs = e.minTs
  }
}

export class LedgerIndexer {
  private readonly queue: CommittedMessages[] = []
  private queued = 0
  private running: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private failure: unknown

  constructor (
    private readonly writer: StateWriter,
    private readonly pending: PendingKeys,
    private readonly events: IndexEvents,
    private readonly store: DeliveryStore,
    /** last segment id whose messages are in the ledger */
    public indexedThrough: number
  ) {}

  /** Segments committed (in id order), to be indexed soon. */
  add (segments: readonly CommittedMessages[]): void {
    for (const s of segments) { this.queue.push(s); this.queued += s.entries.length }
    if (this.queued >= STEP_MESSAGES) this.run()
    else this.timer ??= setTimeout(() => { this.timer = undefined; this.run() }, STEP_DELAY_MS)
  }

  /** Resolves when everything committed before the call is indexed; rejects if indexing fails. */
  async catchUp (): Promise<void> {
    const target = this.queue.length === 0 ? this.indexedThrough : this.queue[this.queue.length - 1].segment
    while (this.indexedThrough < target) {
      this.run()
      await this.running
      if (this.failure !== undefined && this.indexedThrough < target) throw this.failure
    }
  }

  /** Whether a committed message not yet in the ledger has this full key (a look through the queue: for answers, not the ack path). */
  holds (full: string): boolean {
    for (const b of this.queue) for (const e of b.entries) if ((e.kind === ENTRY_KIND.delivery || e.kind === ENTRY_KIND.repeat) && fullKey(e) === full) return true
    return false
  }

  /** The last indexing failure, while the indexer keeps failing (for readiness). */
  lastFailure (): unknown { return this.failure }

  private run (): void {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined }
    // a failed step is tried again at the next commit or catchUp; catchUp reports the failure
    this.running ??= this.loop().then(() => { this.failure = undefined }, (err: unknown) => { this.failure = err }).finally(() => { this.running = undefined })
  }

  private async loop (): Promise<void> {
    while (this.queue.length > 0) {
      let take = 0
      let messages = 0
      while (take < this.queue.length && (take === 0 || messages < STEP_MESSAGES)) messages += this.queue[take++].entries.length
      await this.step(this.queue.slice(0, take))
      this.queue.splice(0, take)
      this.queued -= messages
      // let the ack path's next commit in between steps
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  private async step (batch: CommittedMessages[]): Promise<void> {
    const through = batch[batch.length - 1].segment
    // alone on the connection from the look-up to the commit: nothing else writes in between
    const outcomes = await this.writer.exclusive(async () => {
      const { statements, outcomes } = await this.index(this.writer.db, batch)
      statements.push(`UPDATE meta SET value = ${sqlLiteral(String(through))} WHERE key = 'indexed_through'`)
      // what the store remembered of this step must not outlive a step that did not commit
      await this.writer.script(statements, { durable: false }).catch((err: unknown) => { this.store.forget(); throw err })
      return outcomes
    })
    // only once committed: a rolled-back step decided nothing
    this.indexedThrough = through
    for (const b of batch) this.pending.release(b.segment)
    for (const o of outcomes) this.events.onIndexed(o)
  }

  /** Decides every message of the batch: the statements that record the decisions, and the outcomes. */
  private async index (db: Database, batch: readonly CommittedMessages[]): Promise<{ statements: string[], outcomes: IndexedOutcome[] }> {
    const deliveries = batch.flatMap((b) => b.entries.filter((e) => e.kind === ENTRY_KIND.delivery || e.kind === ENTRY_KIND.repeat))
    const existing = deliveries.length > 0 ? await this.store.find(db, deliveries) : new Map<string, Known[]>()
    const news: NewDelivery[] = []
    const fresh = new StepDeliveries()
    const freshSeqs = new Set<string>()
    const again = new Map<Known, number>()
    const rejections: unknown[][] = []
    const counted = new Map<string, number>()
    const skips: Array<[number, Skip[]]> = []
    const outcomes: IndexedOutcome[] = []
    for (const b of batch) {
      const segmentSkips: Skip[] = []
      const outcome: IndexedOutcome = { dataset: b.dataset, accepted: 0, duplicates: 0, skippedRecords: 0, skippedBytes: 0, rejected: {}, conflicts: 0, notItemized: 0 }
      for (const e of b.entries) {
        if (e.kind === ENTRY_KIND.repeat || e.kind === ENTRY_KIND.delivery) {
          const same = existing.size === 0 ? NONE_KNOWN : existing.get(sameKeyOf(e)) ?? NONE_KNOWN
          const old = same.find((x) => x.hash === e.hash)
          const repeat = fresh.find(e)
          if (old !== undefined) again.set(old, (again.get(old) ?? 0) + 1)
          else if (repeat !== undefined) repeat.count++
          // recognised (and counted) at the ack: it only adds a delivery to its original
          if (e.kind === ENTRY_KIND.repeat) continue
          if (old !== undefined || repeat !== undefined) {
            if (e.records > 0) segmentSkips.push([e.firstLine, e.records])
            outcome.duplicates += e.readings
            outcome.skippedRecords += e.records
            outcome.skippedBytes += e.byteLen
            continue
          }
          // two readings of one time with different values are two readings; a seq used twice is a conflict
          const conflict = e.seq !== null && (same.length > 0 || freshSeqs.has(sameKeyOf(e)))
          if (conflict) outcome.conflicts++
          outcome.accepted += e.records
          const delivery: NewDelivery = { entry: e, segment: b.segment, receivedMs: b.receivedMs, conflict, count: 1 }
          fresh.add(delivery)
          if (e.seq !== null) freshSeqs.add(sameKeyOf(e))
          news.push(delivery)
        }
        const acked = e.kind !== ENTRY_KIND.refused
        for (const [index, ts, reason, detail] of e.rejections) {
          rejections.push([b.dataset, e.device, e.seq, index, ts, reason, detail, b.receivedMs, acked ? 1 : 0])
          if (acked) outcome.rejected[reason] = (outcome.rejected[reason] ?? 0) + (index === null ? e.readings : 1)
        }
        for (const [reason, n] of Object.entries(e.counted)) {
          const hour = b.receivedMs - (b.receivedMs % 3_600_000)
          const ck = JSON.stringify([e.device, reason, hour])
          counted.set(ck, (counted.get(ck) ?? 0) + n)
          outcome.notItemized += n
          if (acked) outcome.rejected[reason] = (outcome.rejected[reason] ?? 0) + n
        }
      }
      if (segmentSkips.length > 0) skips.push([b.segment, segmentSkips])
      outcomes.push(outcome)
    }
    const statements = [...this.store.write(news), ...countAgain(again)]
    if (rejections.length > 0) {
      statements.push(
        `INSERT INTO rejections (dataset, device, seq, idx, ts, reason, detail, received_ms, acknowledged)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8 FROM json_each(${sqlLiteral(JSON.stringify(rejections))})`)
    }
    if (counted.size > 0) {
      statements.push(
        `INSERT INTO rejection_totals (device, reason, hour_ms, count)
         SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(${sqlLiteral(JSON.stringify([...counted].map(([k, n]) => [...(JSON.parse(k) as unknown[]), n])))}) WHERE true
         ON CONFLICT (device, reason, hour_ms) DO UPDATE SET count = count + excluded.count`)
    }
    if (skips.length > 0) {
      statements.push(`INSERT OR REPLACE INTO skips (segment, ranges) SELECT value->>0, value->>1 FROM json_each(${sqlLiteral(JSON.stringify(skips.map(([s, list]) => [s, JSON.stringify(list)])))})`)
    }
    return { statements, outcomes }
  }
}
