// Takes every covered record out of the outbox and the ledger. The outbox's positions stay valid:
// messages, ledger rows and flushes point at lines by number and by byte, so an erased line is
// overwritten with a blank of the same length ({} and spaces) and marked as a skip of its segment
// (it never lands), rather than cut out and every pointer after it moved. Each step is its own
// transaction and finds nothing more to do when run again: a run cut short is finished by the next.
// Each step takes its turn on the writers like any other write: the ack path goes on in between.
import type { DatasetName } from '../../contracts/datasets.js'
import type { TombstoneMatcher } from '../../contracts/privacy.js'
import type { Database } from '../../common/sqlite.js'
import type { Skip } from '../outbox/ledger-index.js'
import { packEntries, unpackEntries } from '../outbox/message-entry.js'
import { ERASED_DETAIL } from './ingest-filter.js'
import { deviceErasedAt, namesErased } from './identity.js'
import { type ErasurePlaces, emptyPlaces } from './receipt.js'

const CHUNK = 500

export interface ScrubResult {
  places: ErasurePlaces
  /** per dataset, records and bytes blanked out in segments no flush has claimed yet (no longer waiting) */
  unclaimed: Map<DatasetName, { records: number, bytes: number }>
}

/** Runs work in a transaction of its own on one file's write connection (taking turns with the gateway's other writes). */
export type Transaction = <T>(work: (db: Database) => Promise<T>) => Promise<T>
export interface Writers { outbox: Transaction, ledger: Transaction }

/** Disjoint, sorted ranges covering both lists. */
export function mergeSkips (a: readonly Skip[], b: readonly Skip[]): Skip[] {
  const all = [...a, ...b].filter(([, n]) => n > 0).sort((x, y) => x[0] - y[0])
  const out: Skip[] = []
  for (const [first, n] of all) {
    const last = out[out.length - 1]
    if (last !== undefined && first <= last[0] + last[1]) last[1] = Math.max(last[1], first + n - last[0])
    else out.push([first, n])
  }
  return out
}

const toRanges = (lines: readonly number[]): Skip[] => mergeSkips([], lines.map((i) => [i, 1]))

function covered (matcher: TombstoneMatcher, dataset: DatasetName, line: string): boolean {
  if (line.trim() === '') return false
  let record: unknown
  try { record = JSON.parse(line) } catch { return namesErased(matcher, line) }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return namesErased(matcher, line)
  return matcher.coversRecord(dataset, record as Record<string, unknown>)
}

const blank = (bytes: number): string => bytes >= 2 ? '{}' + ' '.repeat(bytes - 2) : ' '.repeat(bytes)

/** Rows that may hold a covered record: the only ones scrubState needs to read again. */
export interface Candidates { segments: number[], messages: number[], rejections: number[] }

/**
 * Finds the candidates through any connection that sees both files (the running gateway's reader:
 * its ledger is attached), without holding a writer: the slow part (parsing every line) then
 * does not hold up the ack path. Only rows already there can hold a covered record: what is
 * committed later went through the ingest filter.
 */
export async function findCandidates (db: Database, matcher: TombstoneMatcher): Promise<Candidates> {
  const found: Candidates = { segments: [], messages: [], rejections: [] }
  for (let after = 0; ;) {
    const rows = await db.all<{ id: number, dataset: DatasetName, lines: string }>('SELECT id, dataset, lines FROM segments WHERE id > ? ORDER BY id LIMIT ?', [after, CHUNK])
    if (rows.length === 0) break
    after = rows[rows.length - 1].id
    for (const r of rows) if (r.lines.split('\n').some((l) => covered(matcher, r.dataset, l))) found.segments.push(r.id)
  }
  for (let after = 0; ;) {
    const rows = await db.all<{ segment: number, messages: string }>('SELECT segment, messages FROM segment_messages WHERE segment > ? ORDER BY segment LIMIT ?', [after, CHUNK])
    if (rows.length === 0) break
    after = rows[rows.length - 1].segment
    for (const r of rows) {
      if (unpackEntries(r.messages).some((e) => deviceErasedAt(matcher, e.device) !== undefined || e.rejections.some((j) => namesErased(matcher, j[3])))) found.messages.push(r.segment)
    }
  }
  for (let after = 0; ;) {
    const rows = await db.all<{ id: number, detail: string }>('SELECT id, detail FROM rejections WHERE id > ? ORDER BY id LIMIT 5000', [after])
    if (rows.length === 0) break
    after = rows[rows.length - 1].id
    for (const r of rows) if (namesErased(matcher, r.detail)) found.rejections.push(r.id)
  }
  return found
}

/** Scrubs the state; `only` limits the reading of lines and details to rows findCandidates named. */
export async function scrubState (tx: Writers, matcher: TombstoneMatcher, only?: Candidates): Promise<ScrubResult> {
  const within = (ids: number[] | undefined, column: string): [string, unknown[]] =>
    ids === undefined ? ['', []] : [` AND ${column} IN (SELECT value FROM json_each(?))`, [JSON.stringify(ids)]]
  const places = emptyPlaces()
  const unclaimed = new Map<DatasetName, { records: number, bytes: number }>()
  // pages freed from here on are zeroed: a deleted row leaves no copy in the file
  await tx.outbox(async (db) => await db.exec('PRAGMA secure_delete = ON'))
  await tx.ledger(async (db) => await db.exec('PRAGMA secure_delete = ON'))

  // 1. segment lines
  const claimedThrough = new Map<string, number>()
  for (const r of await tx.outbox(async (outbox) => await outbox.all<{ dataset: string, last: number | null }>('SELECT dataset, max(last_id) AS last FROM flushes GROUP BY dataset'))) claimedThrough.set(r.dataset, r.last ?? 0)
  for (let after = 0; ;) {
    const rows = await tx.outbox(async (outbox) => await outbox.all<{ id: number, dataset: DatasetName, lines: string }>(`SELECT id, dataset, lines FROM segments WHERE id > ?${within(only?.segments, 'id')[0]} ORDER BY id LIMIT ?`, [after, ...within(only?.segments, 'id')[1], CHUNK]))
    if (rows.length === 0) break
    after = rows[rows.length - 1].id
    for (const row of rows) {
      const lines = row.lines.split('\n')
      const hit: number[] = []
      let bytes = 0
      for (let i = 0; i < lines.length; i++) {
        if (!covered(matcher, row.dataset, lines[i])) continue
        hit.push(i)
        const size = Buffer.byteLength(lines[i])
        bytes += size + 1
        lines[i] = blank(size)
      }
      if (hit.length === 0) continue
      const ranges = toRanges(hit)
      // the skips first: a run cut between the two finds the lines again and merges the same ranges
      await tx.ledger(async (ledger) => {
        const old = await ledger.get<{ ranges: string }>('SELECT ranges FROM skips WHERE segment = ?', [row.id])
        await ledger.run('INSERT OR REPLACE INTO skips (segment, ranges) VALUES (?, ?)', [row.id, JSON.stringify(mergeSkips(old === undefined ? [] : JSON.parse(old.ranges) as Skip[], ranges))])
      })
      await tx.outbox(async (outbox) => {
        // a claimed flush not yet landed keeps its own copy of its segments' skips
        const flushes = await outbox.all<{ id: number, skips: string | null }>(
          'SELECT id, skips FROM flushes WHERE dataset = ? AND first_id <= ? AND last_id >= ? AND done_ms IS NULL', [row.dataset, row.id, row.id])
        for (const f of flushes) {
          const own = f.skips === null ? {} : JSON.parse(f.skips) as Record<string, Skip[]>
          own[String(row.id)] = mergeSkips(own[String(row.id)] ?? [], ranges)
          await outbox.run('UPDATE flushes SET skips = ? WHERE id = ?', [JSON.stringify(own), f.id])
          places.flushes.rewritten++
        }
        await outbox.run('UPDATE segments SET lines = ? WHERE id = ?', [lines.join('\n'), row.id])
      })
      places.segments.rewritten++
      places.segments.records += hit.length
      if (row.id > (claimedThrough.get(row.dataset) ?? 0)) {
        const u = unclaimed.get(row.dataset) ?? { records: 0, bytes: 0 }
        u.records += hit.length
        u.bytes += bytes
        unclaimed.set(row.dataset, u)
      }
    }
  }

  // 2. the message lists (who sent what): entries of erased identities go, quoted ones are redacted
  for (let after = 0; ;) {
    const rows = await tx.outbox(async (outbox) => await outbox.all<{ segment: number, messages: string }>(`SELECT segment, messages FROM segment_messages WHERE segment > ?${within(only?.messages, 'segment')[0]} ORDER BY segment LIMIT ?`, [after, ...within(only?.messages, 'segment')[1], CHUNK]))
    if (rows.length === 0) break
    after = rows[rows.length - 1].segment
    const changed: Array<[string, number]> = []
    for (const row of rows) {
      const entries = unpackEntries(row.messages)
      let dirty = false
      const kept = entries.filter((e) => {
        const at = deviceErasedAt(matcher, e.device)
        const before = e.rejections.length
        e.rejections = e.rejections.filter(([, ts]) => at === undefined || (ts !== null && ts > at))
        if (e.rejections.length !== before) dirty = true
        for (const r of e.rejections) if (namesErased(matcher, r[3])) { r[3] = ERASED_DETAIL; dirty = true }
        if (at === undefined) return true
        const gone = (e.maxTs === null || e.maxTs <= at) && e.rejections.length === 0
        if (gone) { dirty = true; places.segmentMessages.messages++ }
        return !gone
      })
      if (dirty) changed.push([packEntries(kept), row.segment])
    }
    if (changed.length > 0) {
      await tx.outbox(async (outbox) => { for (const c of changed) await outbox.run('UPDATE segment_messages SET messages = ? WHERE segment = ?', c) })
      places.segmentMessages.rewritten += changed.length
    }
  }

  // 3. the ledger: delivery rows and groups (the dedup keys), itemized and counted refusals
  const devices = await tx.ledger(async (ledger) => await ledger.all<{ device: string }>(
    'SELECT device FROM deliveries UNION SELECT device FROM delivery_groups UNION SELECT device FROM rejections UNION SELECT device FROM rejection_totals'))
  const erasedDevices: Array<[string, number]> = []
  for (const { device } of devices) {
    const at = deviceErasedAt(matcher, device)
    if (at !== undefined) erasedDevices.push([device, at])
  }
  const keys = JSON.stringify(erasedDevices)
  await tx.ledger(async (ledger) => {
    if (erasedDevices.length > 0) {
      places.deliveries.removed += (await ledger.run(`DELETE FROM deliveries WHERE id IN (SELECT d.id FROM json_each(?) k JOIN deliveries d ON d.device = k.value->>0
        WHERE d.max_ts IS NULL OR d.max_ts <= k.value->>1)`, [keys])).changes
      places.deliveryGroups.removed += (await ledger.run(`DELETE FROM delivery_groups WHERE id IN (SELECT d.id FROM json_each(?) k JOIN delivery_groups d ON d.device = k.value->>0
        WHERE d.max_ts IS NULL OR d.max_ts <= k.value->>1)`, [keys])).changes
      places.rejections.removed += (await ledger.run(`DELETE FROM rejections WHERE id IN (SELECT d.id FROM json_each(?) k JOIN rejections d ON d.device = k.value->>0
        WHERE d.ts IS NULL OR d.ts <= k.value->>1)`, [keys])).changes
      places.rejectionTotals.removed += (await ledger.run(`DELETE FROM rejection_totals WHERE (device, reason, hour_ms) IN (SELECT t.device, t.reason, t.hour_ms FROM json_each(?) k
        JOIN rejection_totals t ON t.device = k.value->>0 WHERE t.hour_ms <= k.value->>1)`, [keys])).changes
    }
    // another device's refusal may quote an erased identity (a payload naming somebody else)
    const quoted: number[] = []
    for (let after = 0; ;) {
      const rows = await ledger.all<{ id: number, detail: string }>(`SELECT id, detail FROM rejections WHERE id > ?${within(only?.rejections, 'id')[0]} ORDER BY id LIMIT 5000`, [after, ...within(only?.rejections, 'id')[1]])
      if (rows.length === 0) break
      after = rows[rows.length - 1].id
      for (const r of rows) if (namesErased(matcher, r.detail)) quoted.push(r.id)
    }
    if (quoted.length > 0) {
      places.rejections.redacted += (await ledger.run('UPDATE rejections SET detail = ? WHERE id IN (SELECT value FROM json_each(?))', [ERASED_DETAIL, JSON.stringify(quoted)])).changes
    }
  })
  return { places, unclaimed }
}
