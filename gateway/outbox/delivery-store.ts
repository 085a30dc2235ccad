// Where the ledger keeps deliveries, in two shapes chosen for what each costs to write:
// - a message with a seq (a batch) is one row of `deliveries`, found by device and seq;
// - messages without one (single readings, customer records) are kept in `delivery_groups`: one row
//   per device and segment, its members a JSON list, found by device and reading time. A device
//   sending single readings as fast as it may writes one row per group commit, not one per reading,
//   which is what lets single readings flow at the broker's pace.
// Finding a content-keyed delivery: the store remembers the last RECENT_KEYS it wrote, and for each
// device the latest reading time of what it no longer remembers (loaded from the ledger the first
// time a device is seen). A reading later than that can only repeat a remembered one: no query at
// all, which is the common case. Otherwise it reads at most CANDIDATE_GROUPS groups, the first that
// end at or after its time (the right one first for a redelivery); a device whose readings jump back
// and forth in time may see an old duplicate land again (the trusted zone removes it).
import type { Database } from '../../common/sqlite.js'
import type { MessageEntry } from './message-entry.js'
import { sqlLiteral } from './writer.js'

const CANDIDATE_GROUPS = 8
const RECENT_KEYS = 200_000

/** A member of a delivery group: [hash, minTs, maxTs, firstLine, records, byteStart, byteLen, count]. */
export type GroupMember = [string, number | null, number | null, number | null, number, number | null, number | null, number]

/** A delivery already in the ledger: a row, or a member of a group. */
export interface Known { hash: string, row?: number, group?: { id: number, index: number } }

/** Deliveries that may be the same message share this: the device and seq, or without a seq, the first reading time. */
export const sameKey = (device: string, seq: number | null, minTs: number | null): string =>
  seq !== null ? `${device}\u0000s${seq}` : `${device}\u0000t${String(minTs)}`

/** sameKey of an entry, made once. */
export const sameKeyOf = (e: MessageEntry): string => e.same ?? (e.same = sameKey(e.device, e.seq, e.minTs))

/** A new delivery to write: its message, where it sits, and whether its seq was used before. */
export interface NewDelivery { entry: MessageEntry, segment: number, receivedMs: number, conflict: boolean, count: number }

type Found = Map<string, Known[]>
const add = (found: Found, k: string, known: Known): void => { const list = found.get(k); if (list === undefined) found.set(k, [known]); else list.push(known) }

export class DeliveryStore {
  /** content keys written by this process, oldest first, with where they are */
  private readonly recent = new Map<string, { device: string, ts: number, known: Known[] }>()
  /** per device: the latest reading time among content-keyed deliveries not in `recent` */
  private readonly floors = new Map<string, number>()

  private constructor (private nextGroupId: number) {}

  static async open (db: Database): Promise<DeliveryStore> {
    const top = await db.get<{ id: number | null }>('SELECT max(id) AS id FROM delivery_groups')
    return new DeliveryStore((top?.id ?? 0) + 1)
  }

  /** The ledger's deliveries for these messages' keys, by sameKey. */
  async find (db: Database, entries: readonly MessageEntry[]): Promise<Found> {
    const found: Found = new Map()
    const seqKeys = new Map<string, [string, number]>()
    const timeKeys = new Map<string, [string, number | null]>()
    for (const e of entries) {
      if (e.seq !== null) seqKeys.set(sameKeyOf(e), [e.device, e.seq])
      else timeKeys.set(sameKeyOf(e), [e.device, e.minTs])
    }
    if (seqKeys.size > 0) {
      const rows = await db.all<{ id: number, device: string, seq: number, hash: string }>(
        `SELECT d.id, d.device, d.seq, d.hash FROM json_each(?) k
         JOIN deliveries d ON d.device = k.value->>0 AND d.seq = k.value->>1`, [JSON.stringify([...seqKeys.values()])])
      for (const r of rows) add(found, sameKey(r.device, r.seq, null), { hash: r.hash, row: r.id })
    }
    if (timeKeys.size === 0) return found
    await this.loadFloors(db, new Set([...timeKeys.values()].map(([device]) => device)))
    const asked: Array<[string, number | null]> = []
    for (const [k, [device, ts]] of timeKeys) {
      if (ts !== null && ts > this.floors.get(device)!) {
        for (const known of this.recent.get(k)?.known ?? []) add(found, k, known)
      } else {
        asked.push([device, ts])
      }
    }
    if (asked.length === 0) return found
    // the groups that may hold a key; each is parsed once however many keys it may hold
    const candidates = await db.all<{ id: number }>(
      `SELECT c.id FROM json_each(?) k
       JOIN delivery_groups c ON c.id IN (
         SELECT id FROM delivery_groups WHERE device = k.value->>0 AND max_ts >= k.value->>1 ORDER BY max_ts LIMIT ${CANDIDATE_GROUPS})
       WHERE c.min_ts <= k.value->>1
       UNION
       SELECT c.id FROM json_each(?) k JOIN delivery_groups c ON c.device = k.value->>0 AND c.min_ts IS NULL`,
      [JSON.stringify(asked.filter((k) => k[1] !== null)), JSON.stringify(asked.filter((k) => k[1] === null))])
    const groups = candidates.length === 0
      ? []
      : await db.all<{ id: number, device: string, members: string }>(
        'SELECT id, device, members FROM delivery_groups WHERE id IN (SELECT value FROM json_each(?))', [JSON.stringify(candidates.map((c) => c.id))])
    const wanted = new Set(asked.map(([device, ts]) => sameKey(device, null, ts)))
    for (const g of groups) {
      (JSON.parse(g.members) as GroupMember[]).forEach((m, index) => {
        const k = sameKey(g.device, null, m[1])
        if (wanted.has(k)) add(found, k, { hash: m[0], group: { id: g.id, index } })
      })
    }
    return found
  }

  private async loadFloors (db: Database, devices: Set<string>): Promise<void> {
    const unknown = [...devices].filter((d) => !this.floors.has(d))
    if (unknown.length === 0) return
    const rows = await db.all<{ device: string, m: number | null }>(
      'SELECT value AS device, (SELECT max(max_ts) FROM delivery_groups WHERE device = value) AS m FROM json_each(?)', [JSON.stringify(unknown)])
    // a device the store knows nothing of: any time may repeat something of it in the ledger
    for (const r of rows) this.floors.set(r.device, r.m ?? -Infinity)
    if (this.floors.size > 1_000_000) this.floors.clear()
  }

  /** The statements that write new deliveries: rows for those with a seq, one group per device and segment for the others. */
  write (deliveries: readonly NewDelivery[]): string[] {
    const statements: string[] = []
    const rows: unknown[][] = []
    const groups = new Map<string, { id: number, device: string, segment: number | null, receivedMs: number, members: GroupMember[] }>()
    for (const { entry: e, segment, receivedMs, conflict, count } of deliveries) {
      const kept = e.records > 0
      if (e.seq !== null) {
        rows.push([e.device, e.seq, e.hash, kept ? segment : null, kept ? e.firstLine : null, e.records,
          kept ? e.byteStart : null, kept ? e.byteLen : null, e.minTs, e.maxTs, receivedMs, conflict ? 1 : 0, count])
        continue
      }
      const gk = `${segment}\u0000${e.device}`
      let g = groups.get(gk)
      if (g === undefined) { g = { id: this.nextGroupId++, device: e.device, segment: kept ? segment : null, receivedMs, members: [] }; groups.set(gk, g) }
      if (kept) g.segment = segment
      const index = g.members.push([e.hash, e.minTs, e.maxTs, kept ? e.firstLine : null, e.records, kept ? e.byteStart : null, kept ? e.byteLen : null, count]) - 1
      this.remember(e, { hash: e.hash, group: { id: g.id, index } })
    }
    if (rows.length > 0) {
      statements.push(
        `INSERT INTO deliveries (device, seq, hash, segment, first_line, records, byte_start, byte_len, min_ts, max_ts, received_ms, conflict, count)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, value->>11, value->>12
         FROM json_each(${sqlLiteral(JSON.stringify(rows))})`)
    }
    if (groups.size > 0) {
      const out = [...groups.values()].map((g) => {
        let min: number | null = null
        let max: number | null = null
        for (const m of g.members) {
          if (m[1] !== null && (min === null || m[1] < min)) min = m[1]
          if (m[2] !== null && (max === null || m[2] > max)) max = m[2]
        }
        return [g.id, g.device, g.segment, min, max, g.receivedMs, JSON.stringify(g.members)]
      })
      statements.push(
        `INSERT INTO delivery_groups (id, device, segment, min_ts, max_ts, received_ms, members)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(${sqlLiteral(JSON.stringify(out))})`)
    }
    return statements
  }

  /** A step's statements failed: ids handed out for it are given out again. */
  forget (): void { this.recent.clear(); this.floors.clear() }

  private remember (e: MessageEntry, known: Known): void {
    if (e.minTs === null) return
    const k = sameKeyOf(e)
    const r = this.recent.get(k)
    if (r !== undefined) { r.known.push(known); return }
    this.recent.set(k, { device: e.device, ts: e.minTs, known: [known] })
    if (this.recent.size > RECENT_KEYS) {
      const [oldest, o] = this.recent.entries().next().value as [string, { device: string, ts: number }]
      this.recent.delete(oldest)
      // what is forgotten is still in the ledger: later times of this device need no query
      const floor = this.floors.get(o.device)
      if (floor !== undefined && o.ts > floor) this.floors.set(o.device, o.ts)
    }
  }
}

/** The statements that count further deliveries of known messages. */
export function countAgain (again: ReadonlyMap<Known, number>): string[] {
  const statements: string[] = []
  const rows: Array<[number, number]> = []
  for (const [known, n] of again) {
    if (known.row !== undefined) rows.push([known.row, n])
    // a redelivery of a message without seq is rare: one statement each will do
    else if (known.group !== undefined) {
      const path = sqlLiteral(`$[${known.group.index}][7]`)
      statements.push(`UPDATE delivery_groups SET members = json_set(members, ${path}, json_extract(members, ${path}) + ${n}) WHERE id = ${known.group.id}`)
    }
  }
  if (rows.length > 0) statements.push(`UPDATE deliveries SET count = count + j.value->>1 FROM json_each(${sqlLiteral(JSON.stringify(rows))}) j WHERE deliveries.id = j.value->>0`)
  return statements
}
