// What became of a device's message (by seq) or of its readings at one time: where each delivery
// landed (file and line, from the flush's layout, without reading the files), still waiting, or
// refused and why. Every query is bounded: its cost follows the size of the answer, not of the
// ledger, whatever a device has sent.
import type { DatasetName } from '../../contracts/datasets.js'
import type { Database } from '../../common/sqlite.js'
import type { GroupMember } from './delivery-store.js'
import { ENTRY_KIND, unpackEntries } from './message-entry.js'
import { flushSkips, keptLines, partFileName } from './flushes.js'

export const LOOKUP_LIMITS = Object.freeze({
  /** deliveries, readings and rejections in one answer at most (the answer says when it was cut) */
  deliveries: 100,
  readings: 1000,
  rejections: 100,
  /** a timestamp lookup reads at most this many of the device's deliveries (and groups) around it */
  timeScan: 200,
  /** lines of deliveries read at most for one answer: a device whose batches each span years cannot
   *  make an empty answer cost more than this */
  lines: 5000
})

interface DeliveryRow { id: number, device: string, seq: number | null, hash: string, segment: number | null, first_line: number | null, records: number, byte_start: number | null, byte_len: number | null, received_ms: number, count: number, conflict: number }
interface FlushRow { id: number, name: string, first_id: number, last_id: number, done_ms: number | null, offsets: string | null, parts: string | null, skips: string | null }

export type LookupKey = { seq: number } | { timestamp: number }

export interface LookupDeps {
  reader: Database
  dataset: DatasetName
  /** last segment id whose messages are in the ledger (later ones are read from their message lists) */
  indexedThrough: number
  /** the previous release's flushes have no layout: their files are recomputed (bounded by one flush) */
  legacyFiles: (flush: { id: number, name: string, firstId: number, lastId: number }) => Promise<Array<{ file: string, lines: string[] }>>
}

const iso = (ms: number): string => new Date(ms).toISOString()

export async function lookup (deps: LookupDeps, device: string, by: LookupKey): Promise<Record<string, unknown>> {
  const { reader } = deps
  let truncated = false
  const deliveries = 'seq' in by
    ? await reader.all<DeliveryRow>('SELECT * FROM deliveries WHERE device = ? AND seq = ? ORDER BY id LIMIT ?', [device, by.seq, LOOKUP_LIMITS.deliveries + 1])
    : await reader.all<DeliveryRow>(
      `SELECT * FROM (SELECT * FROM deliveries WHERE device = ? AND min_ts <= ? ORDER BY min_ts DESC LIMIT ?)
       WHERE max_ts >= ? ORDER BY id LIMIT ?`, [device, by.timestamp, LOOKUP_LIMITS.timeScan, by.timestamp, LOOKUP_LIMITS.deliveries + 1])
  if ('timestamp' in by) {
    // messages without a seq are kept as members of delivery groups
    const groups = await reader.all<{ id: number, segment: number | null, received_ms: number, members: string }>(
      `SELECT id, segment, received_ms, members FROM (SELECT * FROM delivery_groups WHERE device = ? AND max_ts >= ? ORDER BY max_ts LIMIT ?)
       WHERE min_ts <= ? ORDER BY id`, [device, by.timestamp, LOOKUP_LIMITS.timeScan, by.timestamp])
    for (const g of groups) {
      for (const m of JSON.parse(g.members) as GroupMember[]) {
        if (m[1] === null || m[2] === null || m[1] > by.timestamp || m[2] < by.timestamp) continue
        deliveries.push({ id: g.id, device, seq: null, hash: m[0], segment: m[3] === null ? null : g.segment, first_line: m[3], records: m[4], byte_start: m[5], byte_len: m[6], received_ms: g.received_ms, count: m[7], conflict: 0 })
      }
    }
    deliveries.sort((a, b) => a.received_ms - b.received_ms)
  }
  if (deliveries.length > LOOKUP_LIMITS.deliveries) { deliveries.length = LOOKUP_LIMITS.deliveries; truncated = true }

  const readings: unknown[] = []
  const flushCache = new Map<number, FlushRow | undefined>()
  // a time's digits must appear in a line for the line to hold it: most lines are passed over unparsed
  const digits = 'timestamp' in by ? String(by.timestamp) : ''
  let linesRead = 0
  for (const d of deliveries) {
    if (d.segment === null || readings.length >= LOOKUP_LIMITS.readings) continue
    if (linesRead >= LOOKUP_LIMITS.lines) { truncated = true; break }
    const lines = await deliveryLines(reader, d)
    linesRead += lines.length
    const flush = await flushOf(reader, deps.dataset, d.segment, flushCache)
    const at = flush?.done_ms != null ? await landedAt(reader, deps, flush, d) : undefined
    lines.forEach((line, k) => {
      if (digits !== '' && !line.includes(digits)) return
      const record = JSON.parse(line) as Record<string, unknown>
      if ('timestamp' in by && record.timestamp !== by.timestamp && record.sensorReadingTime !== by.timestamp) return
      if (readings.length >= LOOKUP_LIMITS.readings) { truncated = true; return }
      readings.push({
        record,
        status: at !== undefined ? 'landed' : flush !== undefined ? 'landing' : 'accepted',
        file: at?.(k) ?? null,
        receivedAt: iso(d.received_ms),
        ...(d.conflict === 1 ? { seqConflict: true } : {})
      })
    })
  }
  // deliveries committed but not yet in the ledger: their segments' message lists (a few, recent)
  const waiting = await reader.all<{ segment: number, messages: string, received_ms: number }>(
    'SELECT segment, messages, received_ms FROM segment_messages WHERE segment > ? AND dataset = ? ORDER BY segment LIMIT 256', [deps.indexedThrough, deps.dataset])
  const waitingRejections: unknown[] = []
  for (const w of waiting) {
    for (const e of unpackEntries(w.messages)) {
      if (e.device !== device) continue
      const matches = 'seq' in by ? e.seq === by.seq : (e.minTs !== null && e.minTs <= by.timestamp && (e.maxTs ?? 0) >= by.timestamp)
      if (matches && e.kind === ENTRY_KIND.delivery && e.records > 0 && readings.length < LOOKUP_LIMITS.readings) {
        const text = await reader.get<{ part: Buffer }>('SELECT substr(CAST(lines AS BLOB), ?, ?) AS part FROM segments WHERE id = ?', [e.byteStart + 1, e.byteLen, w.segment])
        for (const line of keptLines(text?.part.toString('utf8') ?? '', null)) {
          const record = JSON.parse(line) as Record<string, unknown>
          if ('timestamp' in by && record.timestamp !== by.timestamp && record.sensorReadingTime !== by.timestamp) continue
          readings.push({ record, status: 'accepted', file: null, receivedAt: iso(w.received_ms) })
        }
      }
      for (const [index, ts, reason, detail] of e.rejections) {
        if ('seq' in by ? e.seq === by.seq : ts === by.timestamp) waitingRejections.push({ index, seq: e.seq, timestamp: ts, reason, detail, acknowledged: e.kind !== ENTRY_KIND.refused, receivedAt: iso(w.received_ms) })
      }
    }
  }

  const [where, value] = 'seq' in by ? ['seq', by.seq] : ['ts', by.timestamp]
  const rejected = await reader.all<{ seq: number | null, idx: number | null, ts: number | null, reason: string, detail: string, received_ms: number, acknowledged: number }>(
    `SELECT seq, idx, ts, reason, detail, received_ms, acknowledged FROM rejections WHERE device = ? AND ${where} = ? ORDER BY id LIMIT ?`, [device, value, LOOKUP_LIMITS.rejections + 1])
  if (rejected.length > LOOKUP_LIMITS.rejections) { rejected.pop(); truncated = true }
  const counted = await reader.all<{ reason: string, n: number }>(
    'SELECT reason, sum(count) AS n FROM rejection_totals WHERE device = ? GROUP BY reason ORDER BY reason', [device])
  const first = deliveries[0]
  const batch = 'seq' in by && first !== undefined
    ? { deliveries: first.count, accepted: first.records, ...(deliveries.length > 1 ? { seqConflicts: deliveries.length - 1 } : {}) }
    : 'seq' in by && readings.length > 0 ? { deliveries: 1, accepted: readings.length } : null
  return {
    device,
    ...by,
    ...('seq' in by ? { batch } : {}),
    readings,
    rejected: [
      ...rejected.map((j) => ({ index: j.idx, seq: j.seq, timestamp: j.ts, reason: j.reason, detail: j.detail, acknowledged: j.acknowledged === 1, receivedAt: iso(j.received_ms) })),
      ...waitingRejections
    ],
    ...(counted.length > 0 ? { notItemized: Object.fromEntries(counted.map((c) => [c.reason, c.n])) } : {}),
    ...(truncated ? { truncated: true } : {})
  }
}

async function deliveryLines (reader: Database, d: DeliveryRow): Promise<string[]> {
  if (d.byte_start !== null && d.byte_len !== null) {
    // only this delivery's bytes of the segment
    const row = await reader.get<{ part: Buffer }>('SELECT substr(CAST(lines AS BLOB), ?, ?) AS part FROM segments WHERE id = ?', [d.byte_start + 1, d.byte_len, d.segment])
    return keptLines(row?.part.toString('utf8') ?? '', null)
  }
  // a delivery of the previous release: its segment's lines (one group commit at most)
  const row = await reader.get<{ lines: string }>('SELECT lines FROM segments WHERE id = ?', [d.segment])
  return keptLines(row?.lines ?? '', null).slice(d.first_line ?? 0, (d.first_line ?? 0) + d.records)
}

async function flushOf (reader: Database, dataset: DatasetName, segment: number, cache: Map<number, FlushRow | undefined>): Promise<FlushRow | undefined> {
  if (!cache.has(segment)) {
    cache.set(segment, await reader.get<FlushRow>(
      'SELECT id, name, first_id, last_id, done_ms, offsets, parts, skips FROM flushes WHERE dataset = ? AND last_id >= ? AND first_id <= ? ORDER BY last_id LIMIT 1',
      [dataset, segment, segment]))
  }
  return cache.get(segment)
}

/** For a landed delivery: the file of its k-th line. */
async function landedAt (reader: Database, deps: LookupDeps, flush: FlushRow, d: DeliveryRow): Promise<((k: number) => string | null) | undefined> {
  if (flush.offsets === null || flush.parts === null) {
    const files = await deps.legacyFiles({ id: flush.id, name: flush.name, firstId: flush.first_id, lastId: flush.last_id })
    const lines = await deliveryLines(reader, d)
    return (k) => files.find((f) => f.lines.includes(lines[k]))?.file ?? null
  }
  const offsets = JSON.parse(flush.offsets) as Array<[number, number]>
  const parts = JSON.parse(flush.parts) as number[]
  const segmentStart = offsets.find(([s]) => s === d.segment)?.[1]
  if (segmentStart === undefined) return undefined
  const skips = flushSkips(flush.skips).get(d.segment!) ?? []
  // lines skipped before this delivery in its segment move it up in the output
  const before = skips.filter(([first]) => first < (d.first_line ?? 0)).reduce((a, [, n]) => a + n, 0)
  const start = segmentStart + (d.first_line ?? 0) - before
  return (k) => {
    const line = start + k
    let part = 0
    while (part + 1 < parts.length && parts[part + 1] <= line) part++
    return partFileName(flush, part)
  }
}
