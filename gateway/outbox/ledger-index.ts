// Builds the ledger from committed segments, after their messages were acknowledged and in the
// order they were committed: a delivery row per new message (a repeated one counts on its first
// row), a conflict mark when a seq comes back with other content, itemized rejections and counted
// ones. A redelivery found here is marked as a skip of its segment, so its lines never land. One
// short transaction per step, each taking the segments up to a few thousand messages, so the
// ack path's commits are never held back for long. A step is atomic: a crash redoes it whole.
import type { DatasetName } from '../../contracts/datasets.js'
import type { Database } from '../../common/sqlite.js'
import { ENTRY_KIND, type MessageEntry, fullKey, unpackEntries } from './message-entry.js'
import type { PendingKeys } from './pending-keys.js'
import type { StateWriter } from './writer.js'

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

const MESSAGES_PER_STEP = 4_000

interface Existing { id: number, device: string, dkey: string, hash: string }

export class LedgerIndexer {
  private running: Promise<void> | undefined
  private wanted = false
  private failure: unknown

  constructor (
    private readonly writer: StateWriter,
    private readonly pending: PendingKeys,
    private readonly events: IndexEvents,
    /** last segment id whose messages are in the ledger */
    public indexedThrough: number,
    /** last segment id committed (the indexer never reads past it) */
    public committedThrough: number
  ) {}

  /** Index what was committed, in the background; repeated calls while running coalesce. */
  poke (): void {
    this.wanted = true
    // a failed step is retried at the next poke (each commit pokes); catchUp reports the failure
    this.running ??= this.loop().then(() => { this.failure = undefined }, (err: unknown) => { this.failure = err }).finally(() => { this.running = undefined })
  }

  /** Resolves when everything committed before the call is indexed; rejects if indexing fails. */
  async catchUp (): Promise<void> {
    const target = this.committedThrough
    while (this.indexedThrough < target) {
      this.poke()
      await this.running
      if (this.failure !== undefined && this.indexedThrough < target) throw this.failure
    }
  }

  /** The last indexing failure, if the last attempt failed (for readiness). */
  lastFailure (): unknown { return this.failure }

  private async loop (): Promise<void> {
    while (this.wanted) {
      this.wanted = false
      while (this.indexedThrough < this.committedThrough) {
        await this.step()
        // let the ack path's next commit in between steps
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  }

  private async step (): Promise<void> {
    const outcomes = await this.writer.transaction(async (db) => {
      const rows = await db.all<{ segment: number, dataset: DatasetName, messages: string, received_ms: number }>(
        `SELECT segment, dataset, messages, received_ms FROM segment_messages
         WHERE segment > ? AND segment <= ? ORDER BY segment LIMIT 64`, [this.indexedThrough, this.committedThrough])
      const batch: Array<{ segment: number, dataset: DatasetName, receivedMs: number, entries: MessageEntry[] }> = []
      let messages = 0
      for (const r of rows) {
        if (batch.length > 0 && messages >= MESSAGES_PER_STEP) break
        const entries = unpackEntries(r.messages)
        batch.push({ segment: r.segment, dataset: r.dataset, receivedMs: r.received_ms, entries })
        messages += entries.length
      }
      // segments without a message list (none in this release) are simply passed over
      const through = batch.length > 0 ? batch[batch.length - 1].segment : this.committedThrough
      const outcomes = await this.index(db, batch)
      await db.run("UPDATE meta SET value = ? WHERE key = 'indexed_through'", [String(through)])
      return { through, outcomes, segments: batch.map((b) => b.segment) }
    }, { durable: false })
    // only once committed: a rolled-back step decided nothing
    this.indexedThrough = outcomes.through
    for (const segment of outcomes.segments) this.pending.release(segment)
    for (const o of outcomes.outcomes) this.events.onIndexed(o)
  }

  private async index (db: Database, batch: Array<{ segment: number, dataset: DatasetName, receivedMs: number, entries: MessageEntry[] }>): Promise<IndexedOutcome[]> {
    const deliveries = batch.flatMap((b) => b.entries.filter((e) => e.kind === ENTRY_KIND.delivery || e.kind === ENTRY_KIND.repeat))
    const existing = new Map<string, Existing[]>()
    if (deliveries.length > 0) {
      const found = await db.all<Existing>(
        `SELECT d.id, d.device, d.dkey, d.hash FROM (SELECT DISTINCT value->>0 AS device, value->>1 AS dkey FROM json_each(?)) k
         JOIN deliveries d ON d.device = k.device AND d.dkey = k.dkey`,
        [JSON.stringify(deliveries.map((e) => [e.device, e.dkey]))])
      for (const f of found) {
        const k = `${f.device}\u0000${f.dkey}`
        existing.set(k, [...(existing.get(k) ?? []), f])
      }
    }
    const inserts: unknown[][] = []
    /** new rows of this step by full key, to count repeats within the step */
    const fresh = new Map<string, unknown[]>()
    const freshSeqs = new Set<string>()
    const repeats = new Map<number, number>()
    const rejections: unknown[][] = []
    const counted = new Map<string, number>()
    const skips: Array<[number, Skip[]]> = []
    const outcomes: IndexedOutcome[] = []
    for (const b of batch) {
      const segmentSkips: Skip[] = []
      const outcome: IndexedOutcome = { dataset: b.dataset, accepted: 0, duplicates: 0, skippedRecords: 0, skippedBytes: 0, rejected: {}, conflicts: 0, notItemized: 0 }
      for (const e of b.entries) {
        if (e.kind === ENTRY_KIND.repeat) {
          // recognised (and counted) at the ack: one more delivery of its original
          const old = (existing.get(`${e.device}\u0000${e.dkey}`) ?? []).find((x) => x.hash === e.hash)
          const repeat = fresh.get(fullKey(e))
          if (old !== undefined) repeats.set(old.id, (repeats.get(old.id) ?? 0) + 1)
          else if (repeat !== undefined) repeat[12] = (repeat[12] as number) + 1
          continue
        }
        if (e.kind === ENTRY_KIND.delivery) {
          const k = fullKey(e)
          const same = existing.get(`${e.device}\u0000${e.dkey}`) ?? []
          const old = same.find((x) => x.hash === e.hash)
          const repeat = fresh.get(k)
          if (old !== undefined || repeat !== undefined) {
            if (old !== undefined) repeats.set(old.id, (repeats.get(old.id) ?? 0) + 1)
            else repeat![12] = (repeat![12] as number) + 1
            if (e.records > 0) segmentSkips.push([e.firstLine, e.records])
            outcome.duplicates += e.readings
            outcome.skippedRecords += e.records
            outcome.skippedBytes += e.byteLen
            continue
          }
          const conflict = same.length > 0 || freshSeqs.has(`${e.device}\u0000${e.dkey}`)
          if (conflict) outcome.conflicts++
          outcome.accepted += e.records
          const row = [e.device, e.dkey, e.hash, e.records > 0 ? b.segment : null, e.records > 0 ? e.firstLine : null, e.records,
            e.records > 0 ? e.byteStart : null, e.records > 0 ? e.byteLen : null, e.minTs, e.maxTs, b.receivedMs, conflict ? 1 : 0, 1]
          fresh.set(k, row)
          freshSeqs.add(`${e.device}\u0000${e.dkey}`)
          inserts.push(row)
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
    if (inserts.length > 0) {
      await db.run(
        `INSERT INTO deliveries (device, dkey, hash, segment, first_line, records, byte_start, byte_len, min_ts, max_ts, received_ms, conflict, count)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, value->>11, value->>12
         FROM json_each(?)`, [JSON.stringify(inserts)])
    }
    if (repeats.size > 0) {
      await db.run('UPDATE deliveries SET count = count + j.value->>1 FROM json_each(?) j WHERE deliveries.id = j.value->>0', [JSON.stringify([...repeats])])
    }
    if (rejections.length > 0) {
      await db.run(
        `INSERT INTO rejections (dataset, device, seq, idx, ts, reason, detail, received_ms, acknowledged)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8 FROM json_each(?)`,
        [JSON.stringify(rejections)])
    }
    if (counted.size > 0) {
      await db.run(
        `INSERT INTO rejection_totals (device, reason, hour_ms, count)
         SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?) WHERE true
         ON CONFLICT (device, reason, hour_ms) DO UPDATE SET count = count + excluded.count`,
        [JSON.stringify([...counted].map(([k, n]) => [...(JSON.parse(k) as unknown[]), n]))])
    }
    if (skips.length > 0) {
      await db.run('UPDATE segment_messages SET skips = j.value->>1 FROM json_each(?) j WHERE segment = j.value->>0',
        [JSON.stringify(skips.map(([s, list]) => [s, JSON.stringify(list)]))])
    }
    return outcomes
  }
}
