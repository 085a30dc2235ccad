// The outbox: the gateway's durable state in SQLite (the sqlite3 package, WAL, synchronous=FULL).
// It composes small parts, each with one job:
//   segment-log    the ack path: a message is acknowledged once the group commit that holds it is durable
//   ledger-index   the ledger, built after the ack from the committed message lists: deduplication by
//                  content, seq conflicts, itemized (capped) and counted rejections
//   flushes        landing files from indexed segments, exactly once under names fixed at the claim
//   lookup         what became of a message, at a cost that follows the answer
//   retention      what is kept after it landed, and the state's size budget
//   schema         the tables, and the upgrade of a state written by the previous release
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import { type Database, openDatabase } from '../../common/sqlite.js'
import { GatewayError } from '../errors.js'
import { type Flush, FlushLog, type FlushFile } from './flushes.js'
import { type IndexedOutcome, LedgerIndexer } from './ledger-index.js'
import { type LookupKey, lookup } from './lookup.js'
import { PendingKeys } from './pending-keys.js'
import { REJECTION_LIMITS, type RejectionLimits, createRejectionBudget } from './rejection-budget.js'
import { type StateUsage, oldestLandedMs, pruneLanded, stateUsage } from './retention.js'
import { LEDGER_FILE, OUTBOX_FILE, migrate } from './schema.js'
import { type AcceptRequest, type AcceptResult, type CommittedSegment, SegmentLog } from './segment-log.js'
import { StateWriter } from './writer.js'
import { deliveryKey } from './content-key.js'
import { DeliveryStore, sameKey } from './delivery-store.js'
import { type MessageEntry, fullKey, unpackEntries } from './message-entry.js'

export type { AcceptRequest, AcceptResult } from './segment-log.js'
export type { Flush, FlushFile } from './flushes.js'
export type { IndexedOutcome } from './ledger-index.js'
export { partFileName, splitLines } from './flushes.js'

export interface OutboxOptions {
  commitWindowMs: number
  /** a landing file holds at most this many records and bytes */
  maxRecords: number
  maxBytes: number
  rejections?: RejectionLimits
  /** told of every indexing decision (the metrics count accepted, deduplicated and rejected readings here) */
  onIndexed?: (outcome: IndexedOutcome) => void
}

const CHECKPOINT_EVERY_MS = 250
/** about 64 MB of write-ahead log */
const MAX_WAL_PAGES = 16_384

export interface PendingStats { records: number, bytes: number, oldestMs: number | null }

interface WaitingSegment { id: number, records: number, bytes: number, receivedMs: number }

export class Outbox {
  private readonly pendingSegments = new Map<DatasetName, WaitingSegment[]>()
  private readonly totals = new Map<DatasetName, { records: number, bytes: number }>()

  private constructor (
    readonly gatewayId: string,
    private readonly writer: StateWriter,
    private readonly ledgerWriter: StateWriter,
    private readonly reader: Database,
    private readonly log: SegmentLog,
    private readonly indexer: LedgerIndexer,
    private readonly flushes: FlushLog,
    private readonly pendingKeys: PendingKeys,
    private readonly store: DeliveryStore
  ) {}

  static async open (stateDir: string, options: OutboxOptions): Promise<Outbox> {
    const opened: Database[] = []
    const open = async (file: string): Promise<Database> => { const db = await openDatabase(file); opened.push(db); return db }
    try {
      await fs.mkdir(stateDir, { recursive: true })
      const outboxFile = path.join(stateDir, OUTBOX_FILE)
      const ledgerFile = path.join(stateDir, LEDGER_FILE)
      const outboxDb = await open(outboxFile)
      // checkpoints run on the reader's connection, beside the writers (see checkpoint()), not inside
      // whichever commit happens to cross a threshold
      const pragmas = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;'
      await outboxDb.exec(pragmas)
      await migrate(outboxDb, ledgerFile)
      await outboxDb.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('gateway_id', ?)", [randomBytes(3).toString('hex')])
      const gatewayId = (await outboxDb.get<{ value: string }>("SELECT value FROM meta WHERE key = 'gateway_id'"))!.value
      // the ledger's indexes are written where each device's entries end: keep those pages in memory
      const ledgerDb = await open(ledgerFile)
      await ledgerDb.exec(`${pragmas} PRAGMA cache_size = -131072;`)
      const reader = await open(outboxFile)
      await reader.run('ATTACH DATABASE ? AS ledger', [ledgerFile])
      const writer = new StateWriter(outboxDb)
      const ledgerWriter = new StateWriter(ledgerDb)
      const pendingKeys = new PendingKeys()
      const top = (await outboxDb.get<{ id: number | null }>('SELECT max(id) AS id FROM segments'))?.id ?? 0
      const indexedThrough = Math.min(Number((await ledgerDb.get<{ value: string }>("SELECT value FROM meta WHERE key = 'indexed_through'"))?.value ?? 0), top)
      // set below, once the outbox exists: the indexer reports to it
      let outbox: Outbox | undefined
      const store = await DeliveryStore.open(ledgerDb)
      const indexer = new LedgerIndexer(ledgerWriter, pendingKeys, { onIndexed: (o) => { outbox?.indexed(o); options.onIndexed?.(o) } }, store, indexedThrough)
      const log = new SegmentLog(writer, pendingKeys, createRejectionBudget(options.rejections ?? REJECTION_LIMITS), {
        commitWindowMs: options.commitWindowMs,
        nextSegment: top + 1,
        onCommitted: (segments) => { outbox?.committed(segments) }
      })
      const flushes = new FlushLog(writer, reader, gatewayId, { maxRecords: options.maxRecords, maxBytes: options.maxBytes })
      await flushes.load(DATASET_NAMES)
      outbox = new Outbox(gatewayId, writer, ledgerWriter, reader, log, indexer, flushes, pendingKeys, store)
      await outbox.loadWaiting()
      outbox.checkpointTimer = setInterval(() => { void outbox!.checkpoint().catch(() => undefined) }, CHECKPOINT_EVERY_MS)
      outbox.checkpointTimer.unref()
      return outbox
    } catch (err) {
      for (const db of opened.reverse()) await db.close().catch(() => undefined)
      if (err instanceof GatewayError) throw err
      throw new GatewayError('GW_ERR_STATE', `cannot open the gateway state in ${stateDir}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** What waited when the gateway stopped: unclaimed segments, and deliveries not yet in the ledger. */
  private async loadWaiting (): Promise<void> {
    for (const dataset of DATASET_NAMES) {
      const rows = await this.reader.all<{ id: number, records: number, bytes: number, received_ms: number }>(
        'SELECT id, records, bytes, received_ms FROM segments WHERE dataset = ? AND id > ? ORDER BY id', [dataset, this.flushes.claimedThrough(dataset)])
      this.pendingSegments.set(dataset, rows.map((r) => ({ id: r.id, records: r.records, bytes: r.bytes, receivedMs: r.received_ms })))
      this.totals.set(dataset, { records: rows.reduce((a, r) => a + r.records, 0), bytes: rows.reduce((a, r) => a + r.bytes, 0) })
    }
    const unindexed = await this.reader.all<{ segment: number, dataset: DatasetName, received_ms: number, messages: string }>(
      'SELECT segment, dataset, received_ms, messages FROM segment_messages WHERE segment > ? ORDER BY segment', [this.indexer.indexedThrough])
    const segments = unindexed.map((u) => ({ segment: u.segment, dataset: u.dataset, receivedMs: u.received_ms, entries: unpackEntries(u.messages) }))
    for (const s of segments) this.pendingKeys.add(s.segment, s.entries)
    this.indexer.add(segments)
  }

  private committed (segments: CommittedSegment[]): void {
    for (const s of segments) {
      this.pendingSegments.get(s.dataset)!.push({ id: s.id, records: s.records, bytes: s.bytes, receivedMs: s.receivedMs })
      const t = this.totals.get(s.dataset)!
      t.records += s.records
      t.bytes += s.bytes
    }
    this.indexer.add(segments.map((s) => ({ segment: s.id, dataset: s.dataset, receivedMs: s.receivedMs, entries: s.entries })))
  }

  private indexed (o: IndexedOutcome): void {
    // redeliveries found by the ledger never land: they no longer count as waiting
    const t = this.totals.get(o.dataset)!
    t.records -= o.skippedRecords
    t.bytes -= o.skippedBytes
  }

  /** Resolves once the message is durable (or known as a redelivery of one still waiting). */
  async accept (request: AcceptRequest): Promise<AcceptResult> { return await this.log.accept(request) }

  /** Records a message refused without an acknowledgement (rate limit, full outbox): it is not kept. */
  async refuse (request: AcceptRequest): Promise<void> { await this.log.refuse(request) }

  /** Whether the ledger already holds this exact message (a read; for answers that report duplicates). */
  async delivered (request: Pick<AcceptRequest, 'device' | 'seq' | 'lines' | 'rejections' | 'minTs'>): Promise<boolean> {
    const key = deliveryKey(request)
    const full = fullKey({ device: request.device, ...key })
    if (request.seq !== null ? this.pendingKeys.has(full) : this.indexer.holds(full)) return true
    const known = await this.store.find(this.reader, [{ device: request.device, seq: request.seq, minTs: request.minTs } as MessageEntry])
    return (known.get(sameKey(request.device, request.seq, request.minTs)) ?? []).some((k) => k.hash === key.hash)
  }

  /** Records, per dataset, accepted but not yet claimed by a flush. */
  pendingStats (dataset: DatasetName): PendingStats {
    const t = this.totals.get(dataset) ?? { records: 0, bytes: 0 }
    const oldest = this.pendingSegments.get(dataset)?.[0]?.receivedMs ?? null
    return { records: t.records, bytes: t.bytes, oldestMs: t.records > 0 ? oldest : null }
  }

  depth (): number {
    let n = 0
    for (const t of this.totals.values()) n += t.records
    return n
  }

  /** Claims the oldest waiting messages of a dataset, up to about maxRecords/maxBytes; undefined when none wait. */
  async claimFlush (dataset: DatasetName, maxRecords: number, maxBytes: number): Promise<Flush | undefined> {
    await this.indexer.catchUp()
    const flush = await this.flushes.claim(dataset, maxRecords, maxBytes, this.indexer.indexedThrough)
    if (flush === undefined) return undefined
    const waiting = this.pendingSegments.get(dataset)!
    while (waiting.length > 0 && waiting[0].id <= flush.lastId) waiting.shift()
    const t = this.totals.get(dataset)!
    t.records = waiting.reduce((a, s) => a + s.records, 0)
    t.bytes = waiting.reduce((a, s) => a + s.bytes, 0)
    return flush
  }

  /**
   * Copies the write-ahead log into the database, from the reader's connection so that the writer
   * goes on meanwhile (PASSIVE: it never waits for a lock). Called on a timer by the gateway; the
   * log would otherwise grow without bound, since the writer never checkpoints.
   */
  async checkpoint (): Promise<void> {
    if (this.checkpointing) return
    this.checkpointing = true
    try {
      for (const [schema, writer] of [['main', this.writer], ['ledger', this.ledgerWriter]] as const) {
        const r = await this.reader.get<{ log: number }>(`PRAGMA ${schema}.wal_checkpoint(PASSIVE)`)
        // under a steady load the log may never be wholly copied between two commits, and so never
        // start over: past a limit its writer waits once for a checkpoint that restarts it
        if (r !== undefined && r.log > MAX_WAL_PAGES) await writer.exclusive(async () => await writer.db.get('PRAGMA wal_checkpoint(RESTART)'))
      }
    } finally { this.checkpointing = false }
  }

  private checkpointing = false
  private checkpointTimer: NodeJS.Timeout | undefined

  /**
   * Runs work alone on both files (erasure): what was queued before the call is committed and in
   * the ledger first, then commits, indexing and flush claims wait until work is done. The dedup
   * store forgets what it remembered (it may name what work removes).
   */
  async lockedState<T> (work: (dbs: { outbox: Database, ledger: Database }) => Promise<T>): Promise<T> {
    await this.log.drained()
    await this.indexer.catchUp()
    return await this.writer.exclusive(async () => await this.ledgerWriter.exclusive(async () => {
      this.store.forget()
      return await work({ outbox: this.writer.db, ledger: this.ledgerWriter.db })
    }))
  }

  /** Resolves once every message queued so far is committed and in the ledger. */
  async settleQueued (): Promise<void> {
    await this.log.drained()
    await this.indexer.catchUp()
  }

  /** Writes (erasure) in short transactions of their own on each file, taking turns with the gateway's. */
  readonly writers = {
    outbox: async <T>(work: (db: Database) => Promise<T>): Promise<T> => await this.writer.transaction(work),
    ledger: async <T>(work: (db: Database) => Promise<T>): Promise<T> => await this.ledgerWriter.transaction(work)
  }

  /** Forgets what the dedup store remembered (after erasure: it may name what went). */
  forgetRecent (): void { this.store.forget() }

  /** A read through the connection that sees both files (the ledger attached): it never holds up a writer. */
  async read<T> (work: (db: Database) => Promise<T>): Promise<T> { return await work(this.reader) }

  /** Records blanked out of waiting segments (erased): they no longer count as waiting. */
  discount (dataset: DatasetName, records: number, bytes: number): void {
    const t = this.totals.get(dataset)
    if (t === undefined) return
    t.records = Math.max(0, t.records - records)
    t.bytes = Math.max(0, t.bytes - bytes)
  }

  /** Resolves once every message committed so far is in the ledger (its outcome counted). */
  async settle (): Promise<void> { await this.indexer.catchUp() }

  async flushFiles (flush: Flush): Promise<FlushFile[]> { return await this.flushes.files(flush) }

  async completeFlush (flush: Flush, files: readonly FlushFile[]): Promise<void> { await this.flushes.complete(flush, files) }

  async unfinishedFlushes (): Promise<Flush[]> { return await this.flushes.unfinished() }

  /** What became of a device's batch (by seq) or of its readings at one timestamp. */
  async lookup (dataset: DatasetName, device: string, by: LookupKey): Promise<Record<string, unknown>> {
    return await lookup({
      reader: this.reader,
      dataset,
      indexedThrough: this.indexer.indexedThrough,
      legacyFiles: async (f) => await this.flushes.files({ id: f.id, dataset, name: f.name, firstId: f.firstId, lastId: f.lastId, records: 0, bytes: 0, createdMs: 0 })
    }, device, by)
  }

  /** Forgets landed data received before olderThanMs (it stops deduplicating). */
  async prune (olderThanMs: number): Promise<number> { return await pruneLanded(this.writer, this.ledgerWriter, olderThanMs) }

  async usage (): Promise<StateUsage> { return await stateUsage(this.reader) }

  async oldestLandedMs (): Promise<number | undefined> { return await oldestLandedMs(this.reader) }

  /** The ledger indexer's last failure, while it keeps failing. */
  indexFailure (): string | undefined {
    const f = this.indexer.lastFailure()
    return f === undefined ? undefined : (f as Error).message
  }

  /** Stops taking messages; those already queued are committed and indexed. Flushing goes on. */
  async stopAccepting (): Promise<void> {
    await this.log.stopAccepting()
    await this.indexer.catchUp()
  }

  /** Closes the database connections (after stopAccepting and the last flush). */
  async release (): Promise<void> {
    clearInterval(this.checkpointTimer)
    await this.writer.idle()
    await this.ledgerWriter.idle()
    await this.reader.close()
    await this.ledgerWriter.db.close()
    await this.writer.db.close()
  }
}
