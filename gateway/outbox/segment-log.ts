// The ack path: messages wait a few milliseconds, then one transaction writes them as one segment
// per dataset (the NDJSON lines, and the list of messages with where their lines sit), and every
// waiting message is answered once it commits: the fsync is shared by the group, and a message
// costs no row of its own. A redelivery of a message still in the pending set is answered as a
// duplicate at once; older redeliveries are recognised by the ledger indexer before they land.
import type { DatasetName } from '../../contracts/datasets.js'
import { GatewayError } from '../errors.js'
import { deliveryKey } from './content-key.js'
import { ENTRY_KIND, type MessageEntry, fullKey, packEntries } from './message-entry.js'
import type { PendingKeys } from './pending-keys.js'
import type { RejectionBudget } from './rejection-budget.js'
import type { StateWriter } from './writer.js'

/** A validated message and whose it is: `<kind>/<identity>` for devices, `customer/<email>` for customer records. */
export interface AcceptRequest {
  dataset: DatasetName
  device: string
  seq: number | null
  lines: string[]
  minTs: number | null
  maxTs: number | null
  rejections: Array<{ index: number | null, reason: string, detail: string, ts: number | null }>
  readings: number
}

export interface AcceptResult {
  /** false when this delivery repeats one still waiting in the outbox (nothing of it is kept again) */
  fresh: boolean
  accepted: number
  duplicates: number
  rejected: number
}

export interface CommittedSegment { id: number, dataset: DatasetName, records: number, bytes: number, receivedMs: number, entries: MessageEntry[] }

interface Waiting { request: AcceptRequest, refused: boolean, resolve: (r: AcceptResult) => void, reject: (e: unknown) => void, done: Promise<unknown> }

/** Per commit at most: bounds the statement's text, the wait of the group's first message, and an indexing step. */
const MAX_GROUP_RECORDS = 50_000
const MAX_GROUP_MESSAGES = 2_000

export interface SegmentLogOptions {
  commitWindowMs: number
  nextSegment: number
  onCommitted: (segments: CommittedSegment[]) => void
}

export class SegmentLog {
  private queue: Waiting[] = []
  private timer: NodeJS.Timeout | undefined
  private committing = false
  /** the group being written (already out of the queue) */
  private inFlight: Waiting[] = []
  private closed = false
  private nextSegment: number

  constructor (
    private readonly writer: StateWriter,
    private readonly pending: PendingKeys,
    private readonly budget: RejectionBudget,
    private readonly options: SegmentLogOptions
  ) {
    this.nextSegment = options.nextSegment
  }

  /** Resolves once the message is durable (or known as a redelivery of one still waiting). */
  async accept (request: AcceptRequest): Promise<AcceptResult> { return await this.enqueue(request, false) }

  /** Records that a message was refused without an acknowledgement (it is not kept). */
  async refuse (request: AcceptRequest): Promise<void> { await this.enqueue(request, true) }

  get waiting (): number { return this.queue.length }

  private async enqueue (request: AcceptRequest, refused: boolean): Promise<AcceptResult> {
    if (this.closed) throw new GatewayError('GW_ERR_CLOSED', 'the gateway is shutting down')
    let resolve!: (r: AcceptResult) => void
    let reject!: (e: unknown) => void
    const done = new Promise<AcceptResult>((resolve_, reject_) => { resolve = resolve_; reject = reject_ })
    this.queue.push({ request, refused, resolve, reject, done: done.catch(() => undefined) })
    this.schedule()
    return await done
  }

  /** Resolves once every message queued before the call is committed (or failed): a barrier, not a pause. */
  async drained (): Promise<void> {
    await Promise.all([...this.inFlight, ...this.queue].map(async (w) => await w.done))
  }

  private schedule (): void {
    if (this.timer !== undefined || this.committing || this.queue.length === 0) return
    this.timer = setTimeout(() => { this.timer = undefined; void this.commitGroup() }, this.options.commitWindowMs)
  }

  private async commitGroup (): Promise<void> {
    this.committing = true
    let records = 0
    let take = 0
    while (take < this.queue.length && take < MAX_GROUP_MESSAGES &&
      (take === 0 || records + this.queue[take].request.lines.length <= MAX_GROUP_RECORDS)) {
      records += this.queue[take].request.lines.length
      take++
    }
    const group = this.queue.splice(0, take)
    this.inFlight = group
    try {
      const results = await this.writeGroup(group)
      group.forEach((w, i) => w.resolve(results[i]))
    } catch (err) {
      for (const w of group) w.reject(err)
    } finally {
      this.committing = false
      // what arrived while the disk was busy goes at once: the commit itself was the batching window
      if (this.queue.length > 0) {
        this.committing = true
        setImmediate(() => { void this.commitGroup() })
      }
    }
  }

  private async writeGroup (group: Waiting[]): Promise<AcceptResult[]> {
    const now = Date.now()
    const byDataset = new Map<DatasetName, { lines: string[], bytes: number, entries: MessageEntry[] }>()
    const inGroup = new Set<string>()
    const results: AcceptResult[] = group.map(({ request: r, refused }) => {
      const { dkey, hash } = deliveryKey(r)
      const kind = refused ? ENTRY_KIND.refused : r.lines.length === 0 && r.seq === null ? ENTRY_KIND.rejectedOnly : ENTRY_KIND.delivery
      let seg = byDataset.get(r.dataset)
      if (seg === undefined) { seg = { lines: [], bytes: 0, entries: [] }; byDataset.set(r.dataset, seg) }
      if (kind === ENTRY_KIND.delivery) {
        const k = fullKey({ device: r.device, dkey, hash })
        if (this.pending.has(k) || inGroup.has(k)) {
          // nothing of it is kept; the ledger still counts the delivery on its original
          seg.entries.push({ kind: ENTRY_KIND.repeat, device: r.device, dkey, hash, seq: r.seq, firstLine: 0, records: 0, byteStart: 0, byteLen: 0, minTs: null, maxTs: null, readings: r.readings, rejections: [], counted: {} })
          return { fresh: false, accepted: 0, duplicates: r.readings, rejected: 0 }
        }
        inGroup.add(k)
      }
      const { items, counted } = this.budget.itemize(r.device, r.rejections, r.readings)
      const kept = refused ? [] : r.lines
      let byteLen = 0
      for (const line of kept) byteLen += Buffer.byteLength(line) + 1
      seg.entries.push({
        kind, device: r.device, dkey, hash, seq: r.seq, firstLine: seg.lines.length, records: kept.length,
        byteStart: seg.bytes, byteLen, minTs: refused ? null : r.minTs, maxTs: refused ? null : r.maxTs,
        readings: r.readings, rejections: items, counted
      })
      for (const line of kept) seg.lines.push(line)
      seg.bytes += byteLen
      return { fresh: true, accepted: kept.length, duplicates: 0, rejected: r.rejections.length }
    })
    if (byDataset.size === 0) return results
    const segments: CommittedSegment[] = []
    const rows: unknown[][] = []
    const messageRows: unknown[][] = []
    const entriesOf = new Map<number, MessageEntry[]>()
    for (const [dataset, seg] of byDataset) {
      const id = this.nextSegment++
      rows.push([id, dataset, seg.lines.length, seg.bytes, seg.lines.length === 0 ? '' : seg.lines.join('\n') + '\n'])
      messageRows.push([id, dataset, packEntries(seg.entries)])
      entriesOf.set(id, seg.entries)
      segments.push({ id, dataset, records: seg.lines.length, bytes: seg.bytes, receivedMs: now, entries: seg.entries })
    }
    try {
      // bound parameters: the lines (megabytes with big batches) are copied once, not escaped into
      // SQL or JSON text and parsed back; a group has a row or two per table, so four calls it is
      await this.writer.transaction(async (db) => {
        await db.run(`INSERT INTO segments (id, dataset, records, bytes, lines, received_ms) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
          rows.flatMap((r) => [...r, now]))
        await db.run(`INSERT INTO segment_messages (segment, dataset, received_ms, messages) VALUES ${messageRows.map(() => '(?, ?, ?, ?)').join(', ')}`,
          messageRows.flatMap(([id, dataset, messages]) => [id, dataset, now, messages]))
      })
    } catch (err) {
      // ids are handed out in memory: a failed commit must not leave a gap the indexer would wait on
      this.nextSegment = Math.min(...segments.map((s) => s.id))
      throw err
    }
    for (const [id, entries] of entriesOf) this.pending.add(id, entries)
    this.options.onCommitted(segments)
    return results
  }

  /** Stops taking messages; those already queued are still committed. */
  async stopAccepting (): Promise<void> {
    this.closed = true
    while (this.queue.length > 0 || this.committing || this.timer !== undefined) await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
