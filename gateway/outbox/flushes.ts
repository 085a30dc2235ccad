// Landing files from the outbox. A flush claims the oldest indexed segments of a dataset (up to
// about maxRecords/maxBytes) under a name fixed at the claim, so a crash between the claim and the
// files is finished on restart under the same names, never done twice. Its lines are the
// segments' lines without the redeliveries the ledger found; it remembers where each segment
// starts in its output and where each part file starts, so the ledger can say in which file and
// line a delivery landed without reading the files again.
import type { DatasetName } from '../../contracts/datasets.js'
import type { Database } from '../../common/sqlite.js'
import type { Skip } from './ledger-index.js'
import type { StateWriter } from './writer.js'

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

export interface FlushFile { file: string, lines: string[] }

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

/** Lines of a segment's text without the skipped ranges. */
export function keptLines (text: string, skips: readonly Skip[] | null): string[] {
  const lines = text === '' ? [] : text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (skips === null || skips.length === 0) return lines
  const drop = new Uint8Array(lines.length)
  for (const [first, n] of skips) drop.fill(1, first, first + n)
  return lines.filter((_, i) => drop[i] === 0)
}

/** The ledger's skips of segments from..to (read from the ledger file attached to the reader). */
async function skipsOf (reader: Database, from: number, to: number): Promise<Map<number, Skip[]>> {
  const rows = await reader.all<{ segment: number, ranges: string }>('SELECT segment, ranges FROM ledger.skips WHERE segment BETWEEN ? AND ?', [from, to])
  return new Map(rows.map((r) => [r.segment, JSON.parse(r.ranges) as Skip[]]))
}

/** A flush's own copy of its segments' skips. */
export const flushSkips = (text: string | null): Map<number, Skip[]> =>
  new Map(Object.entries(text === null ? {} : JSON.parse(text) as Record<string, Skip[]>).map(([k, v]) => [Number(k), v]))

const skippedCount = (skips: readonly Skip[] | undefined): number => (skips ?? []).reduce((a, [, n]) => a + n, 0)

export class FlushLog {
  /** per dataset, the last segment id already claimed by a flush */
  private readonly claimed = new Map<DatasetName, number>()

  constructor (
    private readonly writer: StateWriter,
    private readonly reader: Database,
    private readonly gatewayId: string,
    private readonly split: { maxRecords: number, maxBytes: number }
  ) {}

  async load (datasets: readonly DatasetName[]): Promise<void> {
    for (const dataset of datasets) {
      const c = await this.reader.get<{ last: number | null }>('SELECT max(last_id) AS last FROM flushes WHERE dataset = ?', [dataset])
      this.claimed.set(dataset, c?.last ?? 0)
    }
  }

  claimedThrough (dataset: DatasetName): number { return this.claimed.get(dataset) ?? 0 }

  /** Claims the oldest waiting segments of a dataset up to segment upTo; undefined when none wait. */
  async claim (dataset: DatasetName, maxRecords: number, maxBytes: number, upTo: number): Promise<Flush | undefined> {
    return await this.writer.transaction(async (db) => {
      const after = this.claimedThrough(dataset)
      const segments = await db.all<{ id: number, records: number, bytes: number }>(
        'SELECT id, records, bytes FROM segments WHERE dataset = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?', [dataset, after, upTo, maxRecords])
      if (segments.length === 0) return undefined
      // indexed segments' skips never change: read from the ledger, then kept with the flush
      const skips = await skipsOf(this.reader, segments[0].id, segments[segments.length - 1].id)
      const offsets: Array<[number, number]> = []
      let records = 0
      let bytes = 0
      let last = after
      for (const s of segments) {
        if (records >= maxRecords || bytes >= maxBytes) break
        const kept = s.records - skippedCount(skips.get(s.id))
        if (kept > 0) offsets.push([s.id, records])
        records += kept
        // the skipped lines' bytes are not known here without reading them: an upper bound will do
        bytes += kept === s.records ? s.bytes : Math.round(s.bytes * kept / Math.max(1, s.records))
        last = s.id
      }
      const createdMs = Date.now()
      // unique: a dataset's first segment id is claimed once; the gateway id keeps gateways apart
      const name = `${dataset}-${createdMs}-${this.gatewayId}-${String(after + 1).padStart(10, '0')}`
      const own = Object.fromEntries([...skips].filter(([id]) => id <= last))
      // the split into part files is fixed at the claim too: a flush finished after a restart with
      // other --max-batch-* settings must write the very files it began with
      const { lastID } = await db.run(
        'INSERT INTO flushes (dataset, name, first_id, last_id, records, bytes, created_ms, offsets, skips, split) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [dataset, name, after + 1, last, records, bytes, createdMs, JSON.stringify(offsets), JSON.stringify(own), JSON.stringify(this.split)])
      this.claimed.set(dataset, last)
      return { id: lastID, dataset, name, firstId: after + 1, lastId: last, records, bytes, createdMs }
    })
  }

  /** The landing files of a flush: the same names and lines every time it is asked (a retry rewrites the same files). */
  async files (flush: Flush): Promise<FlushFile[]> {
    const rows = await this.reader.all<{ id: number, lines: string }>(
      'SELECT id, lines FROM segments WHERE dataset = ? AND id BETWEEN ? AND ? ORDER BY id', [flush.dataset, flush.firstId, flush.lastId])
    const row = await this.reader.get<{ skips: string | null, split: string | null }>('SELECT skips, split FROM flushes WHERE id = ?', [flush.id])
    const skips = flushSkips(row?.skips ?? null)
    const split = row?.split == null ? this.split : JSON.parse(row.split) as { maxRecords: number, maxBytes: number }
    const lines: string[] = []
    for (const r of rows) for (const l of keptLines(r.lines, skips.get(r.id) ?? null)) lines.push(l)
    // the claim's bytes bound the kept lines' bytes: within both limits the split is one part, and no
    // line needs measuring (the usual flush). A caller without the claim's figures gets the full split.
    if (lines.length === flush.records && flush.records <= split.maxRecords && flush.bytes <= split.maxBytes) return lines.length === 0 ? [] : [{ file: partFileName(flush, 0), lines }]
    return splitLines(lines, split.maxRecords, split.maxBytes).map((part, i) => ({ file: partFileName(flush, i), lines: part }))
  }

  /** The flush's files are published: remember where each part starts, for the ledger. */
  async complete (flush: Flush, files: readonly FlushFile[]): Promise<void> {
    const starts: number[] = []
    let at = 0
    for (const f of files) { starts.push(at); at += f.lines.length }
    // not durable: if a crash loses it, the flush is published again under the same names
    await this.writer.transaction(async (db) => await db.run('UPDATE flushes SET done_ms = ?, parts = ? WHERE id = ?', [Date.now(), JSON.stringify(starts), flush.id]), { durable: false })
  }

  /** Flushes claimed but not finished: a crash or a sink failure came between the claim and the files. */
  async unfinished (): Promise<Flush[]> {
    const rows = await this.reader.all<{ id: number, dataset: DatasetName, name: string, first_id: number, last_id: number, records: number, bytes: number, created_ms: number }>(
      'SELECT id, dataset, name, first_id, last_id, records, bytes, created_ms FROM flushes WHERE done_ms IS NULL ORDER BY id')
    return rows.map((r) => ({ id: r.id, dataset: r.dataset, name: r.name, firstId: r.first_id, lastId: r.last_id, records: r.records, bytes: r.bytes, createdMs: r.created_ms }))
  }
}
