// The ack path: messages wait a few milliseconds, then one transaction writes them as one segment
// per dataset (the NDJSON lines, and the list of messages with where their lines sit), and every
// waiting message is answered once it commits: the fsync is shared by the group, and a message
// costs no row of its own. A redelivery of a message still in the pending set is answered as a
// duplicate at once; older redeliveries are recognised by the ledger indexer before they land.
import type { DatasetName } from '../../contracts/datasets.js'
import { GatewayError } from '../errors.js'
import { deliveryKey } from './content-key.js'
import { ENTRY_KIND, type ItemizedRejection, type MessageEntry, fullKey, packEntries } from './message-entry.js'
import type { PendingKeys } from './pending-keys.js'
import type { RejectionBudget } from './rejection-budget.js'
import { type StateWriter, sqlLiteral } from './writer.js'

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

interface Waiting { request: AcceptRequest, refused: boolean, resolve: (r: AcceptResult) => void, reject: (e: unknown) => void }

/** A message without refusals: shared, never written to (an entry's lists are only read and packed). */
const NOTHING_REFUSED: { items: ItemizedRejection[], counted: Record<string, number> } = Object.freeze({ items: Object.freeze([]) as unknown as ItemizedRejection[], counted: Object.freeze({}) })

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
  /** messages queued so far, and those whose group has been written (or failed): groups finish in queue order */
  private enqueued = 0
  private finished = 0
  private barriers: Array<{ target: number, resolve: () => void }> = []
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

  // accept and enqueue hand back the promise they make, not an async wrapper's: a message's way to its
  // acknowledgement is the hot path, and each extra promise is an allocation and a turn of the queue

  /** Resolves once the message is durable (or known as a redelivery of one still waiting). */
  accept (request: AcceptRequest): Promise<AcceptResult> { return this.enqueue(request, false) }

  /** Records that a message was refused without an acknowledgement (it is not kept). */
  async refuse (request: AcceptRequest): Promise<void> { await this.enqueue(request, true) }

  get waiting (): number { return this.queue.length }

  private enqueue (request: AcceptRequest, refused: boolean): Promise<AcceptResult> {
    if (this.closed) return Promise.reject(new GatewayError('GW_ERR_CLOSED', 'the gateway is shutting down'))
    return new Promise<AcceptResult>((resolve, reject) => {
      this.queue.push({ request, refused, resolve, reject })
      this.enqueued++
      this.schedule()
    })
  }

  /** Resolves once every message queued before the call is committed (or failed): a barrier, not a pause. */
  async drained (): Promise<void> {
    const target = this.enqueued
    if (this.finished >= target) return
    await new Promise<void>((resolve) => { this.barriers.push({ target, resolve }) })
  }

  private groupFinished (messages: number): void {
    this.finished += messages
    if (this.barriers.length === 0) return
    const waiting = this.barriers
    this.barriers = []
    for (const b of waiting) {
      if (b.target <= this.finished) b.resolve()
      else this.barriers.push(b)
    }
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
    try {
      const results = await this.writeGroup(group)
      for (let i = 0; i < group.length; i++) group[i].resolve(results[i])
    } catch (err) {
      for (const w of group) w.reject(err)
    } finally {
      this.groupFinished(group.length)
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
    // a segment's text is its messages' texts, each made once: hashed, measured and written from it
    const byDataset = new Map<DatasetName, { texts: string[], records: number, bytes: number, entries: MessageEntry[] }>()
    const inGroup = new Set<string>()
    const results: AcceptResult[] = group.map(({ request: r, refused }) => {
      const joined = r.lines.length === 1 ? r.lines[0] : r.lines.join('\n')
      const { dkey, hash } = deliveryKey(r, joined)
      const kind = refused ? ENTRY_KIND.refused : r.lines.length === 0 && r.seq === null ? ENTRY_KIND.rejectedOnly : ENTRY_KIND.delivery
      let seg = byDataset.get(r.dataset)
      if (seg === undefined) { seg = { texts: [], records: 0, bytes: 0, entries: [] }; byDataset.set(r.dataset, seg) }
      // a batch repeated while its first delivery waits is recognised here; a single reading, by the ledger
      if (kind === ENTRY_KIND.delivery && r.seq !== null) {
        const k = fullKey({ device: r.device, dkey, hash })
        if (this.pending.has(k) || inGroup.has(k)) {
          // nothing of it is kept; the ledger still counts the delivery on its original
          seg.entries.push({ kind: ENTRY_KIND.repeat, device: r.device, dkey, hash, seq: r.seq, firstLine: 0, records: 0, byteStart: 0, byteLen: 0, minTs: null, maxTs: null, readings: r.readings, rejections: [], counted: {} })
          return { fresh: false, accepted: 0, duplicates: r.readings, rejected: 0 }
        }
        inGroup.add(k)
      }
      const { items, counted } = r.rejections.length === 0 ? NOTHING_REFUSED : this.budget.itemize(r.device, r.rejections, r.readings)
      const records = refused ? 0 : r.lines.length
      const text = records === 0 ? '' : joined + '\n'
      const byteLen = records === 0 ? 0 : Buffer.byteLength(text)
      seg.entries.push({
        kind, device: r.device, dkey, hash, seq: r.seq, firstLine: seg.records, records,
        byteStart: seg.bytes, byteLen, minTs: refused ? null : r.minTs, maxTs: refused ? null : r.maxTs,
        readings: r.readings, rejections: items, counted
      })
      if (records > 0) seg.texts.push(text)
      seg.records += records
      seg.bytes += byteLen
      return { fresh: true, accepted: records, duplicates: 0, rejected: r.rejections.length }
    })
    if (byDataset.size === 0) return results
    const segments: CommittedSegment[] = []
    const rows: Array<[number, DatasetName, number, number, string]> = []
    const messageRows: Array<[number, DatasetName, string]> = []
    const entriesOf = new Map<number, MessageEntry[]>()
    for (const [dataset, seg] of byDataset) {
      const id = this.nextSegment++
      rows.push([id, dataset, seg.records, seg.bytes, seg.texts.join('')])
      messageRows.push([id, dataset, packEntries(seg.entries)])
      entriesOf.set(id, seg.entries)
      segments.push({ id, dataset, records: seg.records, bytes: seg.bytes, receivedMs: now, entries: seg.entries })
    }
    try {
      // one call into SQLite for the whole group: each call is a round trip through the event loop,
      // and with the main thread busy taking the next messages, four of them made the commit, and so
      // every acknowledgement, wait four times. The text goes in as SQL literals (the lines are JSON
      // the gateway made: no NUL, and a quote is doubled).
      const values = rows.map(([id, dataset, records, bytes, lines]) => `(${id}, ${sqlLiteral(dataset)}, ${records}, ${bytes}, ${sqlLiteral(lines)}, ${now})`)
      const messages = messageRows.map(([id, dataset, packed]) => `(${id}, ${sqlLiteral(dataset)}, ${now}, ${sqlLiteral(packed)})`)
      await this.writer.exclusive(async () => {
        await this.writer.script([
          `INSERT INTO segments (id, dataset, records, bytes, lines, received_ms) VALUES ${values.join(', ')}`,
          `INSERT INTO segment_messages (segment, dataset, received_ms, messages) VALUES ${messages.join(', ')}`
        ])
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
