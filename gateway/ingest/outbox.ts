// The outbox and ledger, in SQLite (the sqlite3 package, WAL, synchronous=FULL). A message is
// acknowledged only after the transaction that holds it commits; what arrived within a few
// milliseconds is committed together, so the fsync is shared. Two tables make that cheap:
// - deliveries: one narrow row per message, keyed by (device, seq) for a batch and by (device,
//   content hash) otherwise; a redelivery hits the key (ON CONFLICT counts it) and lands nothing.
//   It is the ledger: where the message's records sit, and when they arrived.
// - segments: the accepted records of one group commit and one dataset, as one NDJSON text, so a
//   record costs no row of its own. Segments are claimed for landing files by id range per
//   dataset; the claim is committed before the files are written, so a crash in between is
//   finished on restart under the same file names, never done twice.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import type { RejectReason } from '../../contracts/readings.js'
import { type Database, openDatabase } from '../../common/sqlite.js'
import { GatewayError } from '../errors.js'
import type { ValidatedMessage } from './validate.js'

/** A validated message, and whose it is: `<kind>/<identity>` for devices, `customer/<email>` for customer records. */
export type AcceptRequest = ValidatedMessage & { dataset: DatasetName, device: string }

export interface AcceptResult {
  /** false when this delivery repeats one already accepted (nothing of it is kept again) */
  fresh: boolean
  accepted: number
  duplicates: number
  rejected: number
}

export interface Flush {
  id: number
  dataset: DatasetName
  /** base of the landing file names: `<base>-p<part>.json` */
  name: string
  firstId: number
  lastId: number
  records: number
  bytes: number
  createdMs: number
}

export interface OutboxOptions {
  commitWindowMs: number
  /** a landing file holds at most this many records and bytes */
  maxRecords: number
  maxBytes: number
}

export interface PendingStats { records: number, bytes: number, oldestMs: number | null }

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  lines TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_dataset ON segments (dataset, id);
CREATE TABLE IF NOT EXISTS deliveries (
  device TEXT NOT NULL,
  dkey TEXT NOT NULL,
  segment INTEGER,
  first_line INTEGER,
  records INTEGER NOT NULL,
  min_ts INTEGER,
  max_ts INTEGER,
  received_ms INTEGER NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  UNIQUE (device, dkey)
);
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
CREATE TABLE IF NOT EXISTS flushes (
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  name TEXT NOT NULL,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS flushes_range ON flushes (dataset, last_id);
`

interface Waiting { request: AcceptRequest, resolve: (r: AcceptResult) => void, reject: (e: unknown) => void }

/** Records per commit at most: bounds the statement's JSON and the wait of the group's first message. */
const MAX_GROUP_RECORDS = 50_000

const deliveryKey = (r: AcceptRequest): string =>
  r.seq !== null ? `s:${r.seq}` : `h:${createHash('sha1').update(r.lines.join('\n')).digest('base64url')}`

/** Splits a flush's lines into files of at most maxRecords lines and maxBytes bytes (a longer line goes alone). */
export function splitLines (lines: string[], maxRecords: number, maxBytes: number): string[][] {
  const parts: string[][] = []
  let part: string[] = []
  let bytes = 0
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1
    if (part.length > 0 && (part.length >= maxRecords || bytes + size > maxBytes)) {
      parts.push(part)
      part = []
      bytes = 0
    }
    part.push(line)
    bytes += size
  }
  if (part.length > 0) parts.push(part)
  return parts
}

export const partFileName = (flush: Pick<Flush, 'name'>, part: number): string => `${flush.name}-p${String(part).padStart(3, '0')}.json`

export class Outbox {
  readonly gatewayId: string
  private readonly writer: Database
  private readonly reader: Database
  private readonly commitWindowMs: number
  private readonly maxRecords: number
  private readonly maxBytes: number
  private queue: Waiting[] = []
  private timer: NodeJS.Timeout | undefined
  private committing = false
  private lock: Promise<unknown> = Promise.resolve()
  private readonly pending = new Map<DatasetName, PendingStats>()
  /** per dataset, the last message id already claimed by a flush */
  private readonly claimed = new Map<DatasetName, number>()
  private nextSegment = 1
  private closed = false

  private constructor (writer: Database, reader: Database, gatewayId: string, options: OutboxOptions) {
    this.writer = writer
    this.reader = reader
    this.gatewayId = gatewayId
    this.commitWindowMs = options.commitWindowMs
    this.maxRecords = options.maxRecords
    this.maxBytes = options.maxBytes
  }

  static async open (stateDir: string, options: OutboxOptions): Promise<Outbox> {
    try {
      await fs.mkdir(stateDir, { recursive: true })
      const file = path.join(stateDir, 'gateway.sqlite')
      const writer = await openDatabase(file)
      // the deliveries index is written at random places: keep it in memory rather than re-read pages
      await writer.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -131072;')
      await writer.exec(SCHEMA)
      await writer.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('gateway_id', ?)", [randomBytes(3).toString('hex')])
      const id = await writer.get<{ value: string }>("SELECT value FROM meta WHERE key = 'gateway_id'")
      const reader = await openDatabase(file)
      const outbox = new Outbox(writer, reader, id!.value, options)
      await outbox.loadPending()
      return outbox
    } catch (err) {
      if (err instanceof GatewayError) throw err
      throw new GatewayError('GW_ERR_STATE', `cannot open the gateway state in ${stateDir}: ${(err as Error).message}`, { cause: err })
    }
  }

  private async loadPending (): Promise<void> {
    const top = await this.reader.get<{ id: number | null }>('SELECT max(id) AS id FROM segments')
    this.nextSegment = (top?.id ?? 0) + 1
    for (const dataset of DATASET_NAMES) {
      const c = await this.reader.get<{ last: number | null }>('SELECT max(last_id) AS last FROM flushes WHERE dataset = ?', [dataset])
      const last = c?.last ?? 0
      this.claimed.set(dataset, last)
      const p = await this.reader.get<{ n: number | null, b: number | null, oldest: number | null }>(
        'SELECT sum(records) AS n, sum(bytes) AS b, min(received_ms) AS oldest FROM segments WHERE dataset = ? AND id > ?', [dataset, last])
      this.pending.set(dataset, { records: p?.n ?? 0, bytes: p?.b ?? 0, oldestMs: p?.oldest ?? null })
    }
  }

  /** Records, per dataset, accepted but not yet claimed by a flush. */
  pendingStats (dataset: DatasetName): PendingStats {
    return this.pending.get(dataset) ?? { records: 0, bytes: 0, oldestMs: null }
  }

  depth (): number {
    let n = 0
    for (const p of this.pending.values()) n += p.records
    return n
  }

  /** Resolves once the message's records are durable (or known as a redelivery) and its rejections recorded. */
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
    while (take < this.queue.length && (take === 0 || records + this.queue[take].request.lines.length <= MAX_GROUP_RECORDS)) {
      records += this.queue[take].request.lines.length
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
    // each dataset of the group gets a segment id now; one left unused (all its messages were
    // redeliveries) is simply skipped
    const segmentOf = new Map<DatasetName, number>()
    const linesOf = new Map<DatasetName, string[]>()
    // a message with no valid record and no seq has nothing to keep or to deduplicate by
    const rows: unknown[][] = []
    requests.forEach((r, i) => {
      if (r.lines.length === 0 && r.seq === null) return
      let segment: number | null = null
      let first: number | null = null
      if (r.lines.length > 0) {
        if (!segmentOf.has(r.dataset)) { segmentOf.set(r.dataset, this.nextSegment++); linesOf.set(r.dataset, []) }
        segment = segmentOf.get(r.dataset)!
        first = linesOf.get(r.dataset)!.length
        linesOf.get(r.dataset)!.push(...r.lines)
      }
      rows.push([i, r.device, deliveryKey(r), segment, first, r.lines.length, r.minTs, r.maxTs])
    })
    await this.writer.exec('BEGIN IMMEDIATE')
    try {
      const returned = rows.length === 0
        ? []
        : await this.writer.all<{ device: string, dkey: string, count: number }>(
          `INSERT INTO deliveries (device, dkey, segment, first_line, records, min_ts, max_ts, received_ms)
           SELECT value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, ?
           FROM json_each(?) WHERE true
           ON CONFLICT (device, dkey) DO UPDATE SET count = count + 1
           RETURNING device, dkey, count`, [now, JSON.stringify(rows)])
      const results: AcceptResult[] = requests.map((r) => ({ fresh: true, accepted: r.lines.length, duplicates: 0, rejected: r.rejections.length }))
      // RETURNING's row order is not promised: match by key; repeats of one key in this group take
      // its counts in ascending order (the first occurrence is the one inserted, if any)
      const byKey = new Map<string, number[]>()
      for (const ret of returned) {
        const k = `${ret.device}\u0000${ret.dkey}`
        byKey.set(k, [...(byKey.get(k) ?? []), ret.count].sort((a, b) => a - b))
      }
      const stale = new Set<number>()
      for (const row of rows) {
        const count = byKey.get(`${row[1] as string}\u0000${row[2] as string}`)?.shift()
        if (count !== undefined && count > 1) {
          const i = row[0] as number
          results[i] = { fresh: false, accepted: 0, duplicates: requests[i].readings, rejected: 0 }
          stale.add(i)
        }
      }
      // the segment keeps only what is new: rebuild it without the redelivered messages
      if (stale.size > 0) {
        for (const [dataset] of linesOf) linesOf.set(dataset, [])
        requests.forEach((r, i) => { if (!stale.has(i) && r.lines.length > 0) linesOf.get(r.dataset)!.push(...r.lines) })
        // first_line offsets of the fresh messages shift when a redelivery sat before them
        const fix: unknown[] = []
        const offset = new Map<DatasetName, number>()
        requests.forEach((r, i) => {
          if (r.lines.length === 0 || stale.has(i)) return
          const at = offset.get(r.dataset) ?? 0
          fix.push([r.device, deliveryKey(r), at])
          offset.set(r.dataset, at + r.lines.length)
        })
        if (fix.length > 0) {
          await this.writer.run(
            `UPDATE deliveries SET first_line = j.value->>2 FROM json_each(?) j
             WHERE deliveries.device = j.value->>0 AND deliveries.dkey = j.value->>1`, [JSON.stringify(fix)])
        }
      }
      const segments: unknown[][] = []
      for (const [dataset, lines] of linesOf) {
        if (lines.length === 0) continue
        const text = lines.join('\n') + '\n'
        segments.push([segmentOf.get(dataset), dataset, lines.length, Buffer.byteLength(text), text])
      }
      if (segments.length > 0) {
        await this.writer.run(
          `INSERT INTO segments (id, dataset, records, bytes, lines, received_ms)
           SELECT value->>0, value->>1, value->>2, value->>3, value->>4, ? FROM json_each(?)`, [now, JSON.stringify(segments)])
      }
      const rejections: unknown[] = []
      requests.forEach((r, i) => {
        if (!results[i].fresh) return
        for (const j of r.rejections) rejections.push([r.dataset, r.device, r.seq, j.index, j.ts, j.reason, j.detail])
      })
      if (rejections.length > 0) {
        await this.writer.run(
          `INSERT INTO rejections (dataset, device, seq, idx, ts, reason, detail, received_ms)
           SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ? FROM json_each(?)`,
          [now, JSON.stringify(rejections)])
      }
      await this.writer.exec('COMMIT')
      for (const seg of segments) {
        const dataset = seg[1] as DatasetName
        const p = this.pendingStats(dataset)
        this.pending.set(dataset, { records: p.records + (seg[2] as number), bytes: p.bytes + (seg[3] as number), oldestMs: p.oldestMs ?? now })
      }
      return results
    } catch (err) {
      await this.writer.exec('ROLLBACK').catch(() => undefined)
      throw err
    }
  }

  /** Claims the oldest waiting messages of a dataset, up to about maxRecords/maxBytes; undefined when none wait. */
  async claimFlush (dataset: DatasetName, maxRecords: number, maxBytes: number): Promise<Flush | undefined> {
    return await this.exclusive(async () => {
      const after = this.claimed.get(dataset) ?? 0
      const cut = await this.writer.get<{ last: number | null, n: number, r: number | null, b: number | null }>(
        `SELECT max(id) AS last, count(*) AS n, sum(records) AS r, sum(bytes) AS b FROM (
           SELECT id, records, bytes, sum(records) OVER w - records AS before_r, sum(bytes) OVER w - bytes AS before_b
           FROM (SELECT id, records, bytes FROM segments WHERE dataset = ? AND id > ? ORDER BY id LIMIT ?)
           WINDOW w AS (ORDER BY id)
         ) WHERE before_r < ? AND before_b < ?`, [dataset, after, maxRecords, maxRecords, maxBytes])
      if (cut === undefined || cut.last === null || cut.n === 0) return undefined
      const createdMs = Date.now()
      // unique: a dataset's first message id is claimed once; the gateway id keeps gateways apart
      const name = `${dataset}-${createdMs}-${this.gatewayId}-${String(after + 1).padStart(10, '0')}`
      const { lastID } = await this.writer.run(
        'INSERT INTO flushes (dataset, name, first_id, last_id, records, bytes, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [dataset, name, after + 1, cut.last, cut.r ?? 0, cut.b ?? 0, createdMs])
      this.claimed.set(dataset, cut.last)
      const rest = await this.writer.get<{ oldest: number | null }>(
        'SELECT min(received_ms) AS oldest FROM segments WHERE dataset = ? AND id > ?', [dataset, cut.last])
      const p = this.pendingStats(dataset)
      this.pending.set(dataset, { records: p.records - (cut.r ?? 0), bytes: p.bytes - (cut.b ?? 0), oldestMs: rest?.oldest ?? null })
      return { id: lastID, dataset, name, firstId: after + 1, lastId: cut.last, records: cut.r ?? 0, bytes: cut.b ?? 0, createdMs }
    })
  }

  async flushLines (flush: Flush): Promise<string[]> {
    const rows = await this.reader.all<{ lines: string }>(
      'SELECT lines FROM segments WHERE dataset = ? AND id BETWEEN ? AND ? ORDER BY id', [flush.dataset, flush.firstId, flush.lastId])
    const lines: string[] = []
    for (const r of rows) for (const l of r.lines.split('\n')) if (l !== '') lines.push(l)
    return lines
  }

  /** The landing files of a flush: names and lines, the same every time it is asked (a retry rewrites the same files). */
  async flushFiles (flush: Flush): Promise<Array<{ file: string, lines: string[] }>> {
    return splitLines(await this.flushLines(flush), this.maxRecords, this.maxBytes).map((lines, part) => ({ file: partFileName(flush, part), lines }))
  }

  async completeFlush (flushId: number): Promise<void> {
    await this.exclusive(async () => await this.writer.run('UPDATE flushes SET done_ms = ? WHERE id = ?', [Date.now(), flushId]))
  }

  /** Flushes claimed but not finished: a crash or a sink failure came between the claim and the files. */
  async unfinishedFlushes (): Promise<Flush[]> {
    const rows = await this.reader.all<{ id: number, dataset: DatasetName, name: string, first_id: number, last_id: number, records: number, bytes: number, created_ms: number }>(
      'SELECT * FROM flushes WHERE done_ms IS NULL ORDER BY id')
    return rows.map((r) => ({ id: r.id, dataset: r.dataset, name: r.name, firstId: r.first_id, lastId: r.last_id, records: r.records, bytes: r.bytes, createdMs: r.created_ms }))
  }

  /** What became of a device's batch (by seq) or of its readings at one timestamp. */
  async lookup (device: string, by: { seq: number } | { timestamp: number }): Promise<Record<string, unknown>> {
    const found = 'seq' in by
      ? await this.reader.all<DeliveryRow>('SELECT * FROM deliveries WHERE device = ? AND dkey = ?', [device, `s:${by.seq}`])
      : await this.reader.all<DeliveryRow>('SELECT * FROM deliveries WHERE device = ? AND min_ts <= ? AND max_ts >= ?', [device, by.timestamp, by.timestamp])
    const readings: unknown[] = []
    for (const d of found) {
      if (d.segment === null) continue
      const seg = await this.reader.get<{ dataset: DatasetName, lines: string }>('SELECT dataset, lines FROM segments WHERE id = ?', [d.segment])
      if (seg === undefined) continue
      const lines = seg.lines.split('\n').slice(d.first_line ?? 0, (d.first_line ?? 0) + d.records)
      const flush = await this.reader.get<{ id: number, name: string, first_id: number, last_id: number, done_ms: number | null }>(
        'SELECT id, name, first_id, last_id, done_ms FROM flushes WHERE dataset = ? AND first_id <= ? AND last_id >= ?', [seg.dataset, d.segment, d.segment])
      const files = flush?.done_ms != null
        ? await this.flushFiles({ id: flush.id, dataset: seg.dataset, name: flush.name, firstId: flush.first_id, lastId: flush.last_id, records: 0, bytes: 0, createdMs: 0 })
        : undefined
      for (const line of lines) {
        const record = JSON.parse(line) as Record<string, unknown>
        if ('timestamp' in by && record.timestamp !== by.timestamp && record.sensorReadingTime !== by.timestamp) continue
        readings.push({
          record,
          status: files !== undefined ? 'landed' : flush !== undefined ? 'landing' : 'accepted',
          file: files?.find((f) => f.lines.includes(line))?.file ?? null,
          receivedAt: new Date(d.received_ms).toISOString()
        })
      }
    }
    const [where, value] = 'seq' in by ? ['seq', by.seq] : ['ts', by.timestamp]
    const rejected = await this.reader.all<{ seq: number | null, idx: number | null, ts: number | null, reason: RejectReason, detail: string, received_ms: number }>(
      `SELECT seq, idx, ts, reason, detail, received_ms FROM rejections WHERE device = ? AND ${where} = ? ORDER BY id`, [device, value])
    const batch = 'seq' in by && found.length > 0 ? { deliveries: found[0].count, accepted: found[0].records } : null
    return {
      device,
      ...by,
      ...('seq' in by ? { batch } : {}),
      readings,
      rejected: rejected.map((j) => ({ index: j.idx, seq: j.seq, timestamp: j.ts, reason: j.reason, detail: j.detail, receivedAt: new Date(j.received_ms).toISOString() }))
    }
  }

  /** Forgets landed records, deliveries, rejections and flushes older than the retention (they stop deduplicating). */
  async prune (olderThanMs: number): Promise<number> {
    return await this.exclusive(async () => {
      let removed = 0
      for (const dataset of DATASET_NAMES) {
        const done = await this.writer.get<{ last: number | null }>(
          'SELECT max(last_id) AS last FROM flushes WHERE dataset = ? AND done_ms IS NOT NULL AND done_ms < ?', [dataset, olderThanMs])
        if (done?.last == null) continue
        removed += (await this.writer.run('DELETE FROM segments WHERE dataset = ? AND id <= ?', [dataset, done.last])).changes
        // the newest flush row of a dataset stays: it remembers where claiming resumes
        await this.writer.run('DELETE FROM flushes WHERE dataset = ? AND last_id < ? AND done_ms IS NOT NULL', [dataset, done.last])
      }
      await this.writer.run('DELETE FROM deliveries WHERE received_ms < ? AND (segment IS NULL OR segment NOT IN (SELECT id FROM segments))', [olderThanMs])
      await this.writer.run('DELETE FROM rejections WHERE received_ms < ?', [olderThanMs])
      return removed
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

interface DeliveryRow { device: string, dkey: string, segment: number | null, first_line: number | null, records: number, min_ts: number | null, max_ts: number | null, received_ms: number, count: number }
