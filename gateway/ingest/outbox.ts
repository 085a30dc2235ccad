// The outbox and ledger, in SQLite (the sqlite3 package, WAL, synchronous=FULL). A reading is
// acknowledged only after the transaction that holds it commits; what arrived within a few
// milliseconds is committed together (one INSERT ... SELECT FROM json_each per group), so the
// fsync is shared. The same table is the ledger: a reading stays, with the file it landed in, for
// the retention period; its content key makes a redelivery a no-op (INSERT ... ON CONFLICT DO
// NOTHING RETURNING tells which rows were new). Flushes are claimed in a transaction before the
// file is written, so that a crash between the two is finished on restart, never done twice.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { DatasetName } from '../../contracts/datasets.js'
import type { RejectReason } from '../../contracts/readings.js'
import { type Database, openDatabase } from '../../common/sqlite.js'
import { GatewayError } from '../errors.js'
import type { LandingRecord, Rejection } from './validate.js'

export interface AcceptRequest {
  dataset: DatasetName
  /** `<kind>/<identity>` for devices, `customer/<email>` for customer records */
  device: string
  seq: number | null
  records: LandingRecord[]
  rejections: Rejection[]
}

export interface AcceptResult { accepted: number, duplicates: number, rejected: number }

export interface Flush {
  id: number
  dataset: DatasetName
  file: string
  records: number
  bytes: number
  createdMs: number
}

export interface PendingStats { records: number, bytes: number, oldestMs: number | null }

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  device TEXT NOT NULL,
  rkey TEXT NOT NULL,
  seq INTEGER,
  ts INTEGER,
  line TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  flush_id INTEGER,
  UNIQUE (device, rkey)
);
CREATE INDEX IF NOT EXISTS readings_pending ON readings (dataset, id) WHERE flush_id IS NULL;
CREATE INDEX IF NOT EXISTS readings_flush ON readings (flush_id);
CREATE INDEX IF NOT EXISTS readings_device_seq ON readings (device, seq) WHERE seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS readings_device_ts ON readings (device, ts);
CREATE TABLE IF NOT EXISTS rejections (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  device TEXT NOT NULL,
  seq INTEGER,
  idx INTEGER,
  ts INTEGER,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rejections_device ON rejections (device, seq, ts);
CREATE TABLE IF NOT EXISTS batches (
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  dataset TEXT NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  accepted INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  PRIMARY KEY (device, seq)
);
CREATE TABLE IF NOT EXISTS flushes (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  file TEXT NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  done_ms INTEGER
);
`

interface Waiting { request: AcceptRequest, resolve: (r: AcceptResult) => void, reject: (e: unknown) => void }

/** Readings per commit at most: bounds the statement's JSON and the latency of the group's first reading. */
const MAX_GROUP_RECORDS = 20_000

export class Outbox {
  readonly gatewayId: string
  private readonly writer: Database
  private readonly reader: Database
  private readonly commitWindowMs: number
  private queue: Waiting[] = []
  private timer: NodeJS.Timeout | undefined
  private committing = false
  private lock: Promise<unknown> = Promise.resolve()
  private readonly pending = new Map<DatasetName, PendingStats>()
  private closed = false

  private constructor (writer: Database, reader: Database, gatewayId: string, commitWindowMs: number) {
    this.writer = writer
    this.reader = reader
    this.gatewayId = gatewayId
    this.commitWindowMs = commitWindowMs
  }

  static async open (stateDir: string, options: { commitWindowMs: number }): Promise<Outbox> {
    try {
      await fs.mkdir(stateDir, { recursive: true })
      const file = path.join(stateDir, 'gateway.sqlite')
      const writer = await openDatabase(file)
      await writer.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;')
      await writer.exec(SCHEMA)
      await writer.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('gateway_id', ?)", [randomBytes(3).toString('hex')])
      const id = await writer.get<{ value: string }>("SELECT value FROM meta WHERE key = 'gateway_id'")
      const reader = await openDatabase(file)
      const outbox = new Outbox(writer, reader, id!.value, options.commitWindowMs)
      await outbox.loadPending()
      return outbox
    } catch (err) {
      if (err instanceof GatewayError) throw err
      throw new GatewayError('GW_ERR_STATE', `cannot open the gateway state in ${stateDir}: ${(err as Error).message}`, { cause: err })
    }
  }

  private async loadPending (): Promise<void> {
    const rows = await this.reader.all<{ dataset: DatasetName, n: number, b: number, oldest: number }>(
      'SELECT dataset, count(*) AS n, sum(bytes) AS b, min(received_ms) AS oldest FROM readings WHERE flush_id IS NULL GROUP BY dataset')
    for (const r of rows) this.pending.set(r.dataset, { records: r.n, bytes: r.b, oldestMs: r.oldest })
  }

  /** Readings, per dataset, accepted but not yet claimed by a flush. */
  pendingStats (dataset: DatasetName): PendingStats {
    return this.pending.get(dataset) ?? { records: 0, bytes: 0, oldestMs: null }
  }

  depth (): number {
    let n = 0
    for (const p of this.pending.values()) n += p.records
    return n
  }

  /** Resolves once the request's records are durable (or known duplicates) and its rejections recorded. */
  async accept (request: AcceptRequest): Promise<AcceptResult> {
    if (this.closed) throw new GatewayError('GW_ERR_CLOSED', 'the gateway is shutting down')
    return await new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject })
      this.schedule()
    })
  }

  private schedule (): void {
    if (this.timer !== undefined || this.committing || this.queue.length === 0) return
    this.timer = setTimeout(() => { this.timer = undefined; void this.commitGroup() }, this.commitWindowMs)
  }

  private async commitGroup (): Promise<void> {
    this.committing = true
    let records = 0
    let take = 0
    while (take < this.queue.length && (take === 0 || records + this.queue[take].request.records.length <= MAX_GROUP_RECORDS)) {
      records += this.queue[take].request.records.length
      take++
    }
    const group = this.queue.splice(0, take)
    try {
      const results = await this.exclusive(async () => await this.writeGroup(group.map((w) => w.request)))
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

  private async exclusive<T> (work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work)
    this.lock = run.catch(() => undefined)
    return await run
  }

  private async writeGroup (requests: AcceptRequest[]): Promise<AcceptResult[]> {
    const now = Date.now()
    const rows: unknown[] = []
    const rejections: unknown[] = []
    for (const r of requests) {
      for (const rec of r.records) rows.push([r.dataset, r.device, rec.key, r.seq, rec.ts, rec.line, Buffer.byteLength(rec.line) + 1])
      for (const j of r.rejections) rejections.push([r.dataset, r.device, r.seq, j.index, j.ts, j.reason, j.detail])
    }
    await this.writer.exec('BEGIN IMMEDIATE')
    try {
      const inserted = rows.length === 0
        ? []
        : await this.writer.all<{ device: string, rkey: string, dataset: DatasetName, bytes: number }>(
          `INSERT INTO readings (dataset, device, rkey, seq, ts, line, bytes, received_ms)
           SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ?
           FROM json_each(?) WHERE true
           ON CONFLICT (device, rkey) DO NOTHING
           RETURNING device, rkey, dataset, bytes`, [now, JSON.stringify(rows)])
      if (rejections.length > 0) {
        await this.writer.run(
          `INSERT INTO rejections (dataset, device, seq, idx, ts, reason, detail, received_ms)
           SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ? FROM json_each(?)`,
          [now, JSON.stringify(rejections)])
      }
      const fresh = new Set(inserted.map((r) => `${r.device}\u0000${r.rkey}`))
      const results = requests.map((r) => {
        let accepted = 0
        for (const rec of r.records) {
          // the first occurrence of a new key in this group takes it; later ones are duplicates
          if (fresh.delete(`${r.device}\u0000${rec.key}`)) accepted++
        }
        return { accepted, duplicates: r.records.length - accepted, rejected: r.rejections.length }
      })
      const batches = requests.flatMap((r, i) => r.seq === null ? [] : [[r.device, r.seq, r.dataset, results[i].accepted, results[i].duplicates, results[i].rejected]])
      if (batches.length > 0) {
        await this.writer.run(
          `INSERT INTO batches (device, seq, dataset, first_ms, last_ms, deliveries, accepted, duplicates, rejected)
           SELECT value->>0, value->>1, value->>2, ?, ?, 1, value->>3, value->>4, value->>5 FROM json_each(?) WHERE true
           ON CONFLICT (device, seq) DO UPDATE SET last_ms = excluded.last_ms, deliveries = deliveries + 1,
             accepted = accepted + excluded.accepted, duplicates = duplicates + excluded.duplicates, rejected = rejected + excluded.rejected`,
          [now, now, JSON.stringify(batches)])
      }
      await this.writer.exec('COMMIT')
      for (const r of inserted) {
        const p = this.pending.get(r.dataset) ?? { records: 0, bytes: 0, oldestMs: null }
        p.records++
        p.bytes += r.bytes
        p.oldestMs ??= now
        this.pending.set(r.dataset, p)
      }
      return results
    } catch (err) {
      await this.writer.exec('ROLLBACK').catch(() => undefined)
      throw err
    }
  }

  /** Claims the oldest waiting readings of a dataset for one landing file; undefined when none wait. */
  async claimFlush (dataset: DatasetName, maxRecords: number, maxBytes: number): Promise<Flush | undefined> {
    return await this.exclusive(async () => {
      await this.writer.exec('BEGIN IMMEDIATE')
      try {
        const cut = await this.writer.get<{ last: number | null, n: number, b: number | null }>(
          `SELECT max(id) AS last, count(*) AS n, sum(bytes) AS b FROM (
             SELECT id, bytes, sum(bytes) OVER (ORDER BY id) AS cum
             FROM (SELECT id, bytes FROM readings WHERE dataset = ? AND flush_id IS NULL ORDER BY id LIMIT ?)
           ) WHERE cum <= ? OR cum = bytes`, [dataset, maxRecords, maxBytes])
        if (cut?.last === null || cut === undefined || cut.n === 0) {
          await this.writer.exec('COMMIT')
          return undefined
        }
        const createdMs = Date.now()
        const { lastID } = await this.writer.run(
          "INSERT INTO flushes (dataset, file, records, bytes, created_ms) VALUES (?, '', ?, ?, ?)", [dataset, cut.n, cut.b, createdMs])
        const file = `${dataset}-${createdMs}-${this.gatewayId}-${String(lastID).padStart(8, '0')}.json`
        await this.writer.run('UPDATE flushes SET file = ? WHERE id = ?', [file, lastID])
        await this.writer.run('UPDATE readings SET flush_id = ? WHERE dataset = ? AND flush_id IS NULL AND id <= ?', [lastID, dataset, cut.last])
        const rest = await this.writer.get<{ oldest: number | null }>(
          'SELECT min(received_ms) AS oldest FROM readings WHERE dataset = ? AND flush_id IS NULL', [dataset])
        await this.writer.exec('COMMIT')
        const p = this.pendingStats(dataset)
        this.pending.set(dataset, { records: p.records - cut.n, bytes: p.bytes - (cut.b ?? 0), oldestMs: rest?.oldest ?? null })
        return { id: lastID, dataset, file, records: cut.n, bytes: cut.b ?? 0, createdMs }
      } catch (err) {
        await this.writer.exec('ROLLBACK').catch(() => undefined)
        throw err
      }
    })
  }

  async flushLines (flushId: number): Promise<string[]> {
    const rows = await this.reader.all<{ line: string }>('SELECT line FROM readings WHERE flush_id = ? ORDER BY id', [flushId])
    return rows.map((r) => r.line)
  }

  async completeFlush (flushId: number): Promise<void> {
    await this.exclusive(async () => await this.writer.run('UPDATE flushes SET done_ms = ? WHERE id = ?', [Date.now(), flushId]))
  }

  /** Flushes claimed but not finished: a crash happened between the claim and the sink's success. */
  async unfinishedFlushes (): Promise<Flush[]> {
    const rows = await this.reader.all<{ id: number, dataset: DatasetName, file: string, records: number, bytes: number, created_ms: number }>(
      'SELECT id, dataset, file, records, bytes, created_ms FROM flushes WHERE done_ms IS NULL ORDER BY id')
    return rows.map((r) => ({ id: r.id, dataset: r.dataset, file: r.file, records: r.records, bytes: r.bytes, createdMs: r.created_ms }))
  }

  /** What became of a device's batch (by seq) or of its readings at one timestamp. */
  async lookup (device: string, by: { seq: number } | { timestamp: number }): Promise<Record<string, unknown>> {
    const [where, value] = 'seq' in by ? ['seq', by.seq] : ['ts', by.timestamp]
    const readings = await this.reader.all<{ line: string, seq: number | null, ts: number | null, received_ms: number, file: string | null, done_ms: number | null }>(
      `SELECT r.line, r.seq, r.ts, r.received_ms, f.file, f.done_ms FROM readings r LEFT JOIN flushes f ON f.id = r.flush_id
       WHERE r.device = ? AND r.${where} = ? ORDER BY r.id`, [device, value])
    const rejections = await this.reader.all<{ seq: number | null, idx: number | null, ts: number | null, reason: RejectReason, detail: string, received_ms: number }>(
      `SELECT seq, idx, ts, reason, detail, received_ms FROM rejections WHERE device = ? AND ${where} = ? ORDER BY id`, [device, value])
    const batch = 'seq' in by
      ? await this.reader.get('SELECT first_ms, last_ms, deliveries, accepted, duplicates, rejected FROM batches WHERE device = ? AND seq = ?', [device, by.seq])
      : undefined
    return {
      device,
      ...by,
      batch: batch ?? null,
      readings: readings.map((r) => ({
        record: JSON.parse(r.line) as unknown,
        status: r.done_ms !== null ? 'landed' : r.file !== null ? 'landing' : 'accepted',
        file: r.done_ms !== null ? r.file : null,
        receivedAt: new Date(r.received_ms).toISOString()
      })),
      rejected: rejections.map((j) => ({ index: j.idx, seq: j.seq, timestamp: j.ts, reason: j.reason, detail: j.detail, receivedAt: new Date(j.received_ms).toISOString() }))
    }
  }

  /** Forgets landed readings, rejections and batches older than the retention (they stop deduplicating). */
  async prune (olderThanMs: number): Promise<number> {
    return await this.exclusive(async () => {
      const { changes } = await this.writer.run(
        'DELETE FROM readings WHERE flush_id IN (SELECT id FROM flushes WHERE done_ms IS NOT NULL AND done_ms < ?)', [olderThanMs])
      await this.writer.run('DELETE FROM flushes WHERE done_ms IS NOT NULL AND done_ms < ?', [olderThanMs])
      await this.writer.run('DELETE FROM rejections WHERE received_ms < ?', [olderThanMs])
      await this.writer.run('DELETE FROM batches WHERE last_ms < ?', [olderThanMs])
      return changes
    })
  }

  /** Stops taking requests; those already queued are still committed. Flushing goes on. */
  async stopAccepting (): Promise<void> {
    this.closed = true
    while (this.queue.length > 0 || this.committing || this.timer !== undefined) await new Promise((resolve) => setTimeout(resolve, 2))
    await this.lock
  }

  /** Closes the database connections (after stopAccepting and the last flush). */
  async release (): Promise<void> {
    await this.lock
    await this.writer.close()
    await this.reader.close()
  }
}
