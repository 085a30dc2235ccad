// Where the ledger keeps deliveries, in two shapes chosen for what each costs to write:
// - a message with a seq (a batch) is one row of `deliveries`, found by device and seq;
// - messages without one (single readings, customer records) are kept in `delivery_groups`: one row
//   per device and segment, its members a JSON list, found by device and reading time. A device
//   sending single readings as fast as it may writes one row per group commit, not one per reading,
//   which is what lets single readings flow at the broker's pace.
// Finding a content-keyed delivery: the store keeps, for each device, the latest reading time in
// its delivery groups (loaded from the ledger the first time a device is seen, raised as groups are
// written). A reading later than that cannot repeat anything: no query and nothing remembered per
// message, which is the common case (a device's clock moves forward). Otherwise it reads at most
// CANDIDATE_GROUPS groups, the first that end at or after its time (the right one first for a
// redelivery); a device whose readings jump back and forth in time may see an old duplicate land
// again (the trusted zone removes it).
import type { Database } from '../../common/sqlite.js'
import type { MessageEntry } from './message-entry.js'
import { sqlLiteral } from './writer.js'

const CANDIDATE_GROUPS = 8
/** devices whose latest reading time is kept; past it the map starts over (times are loaded again) */
const MAX_FLOORS = 1_000_000

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
  /** per device: the latest reading time among its content-keyed deliveries in the ledger (-Infinity: none) */
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
    let unknownDevices: Set<string> | undefined
    for (const e of entries) {
      if (e.seq !== null) seqKeys.set(sameKeyOf(e), [e.device, e.seq])
      else if (!this.floors.has(e.device)) (unknownDevices ??= new Set()).add(e.device)
    }
    if (seqKeys.size > 0) {
      const rows = await db.all<{ id: number, device: string, seq: number, hash: string }>(
        `SELECT d.id, d.device, d.seq, d.hash FROM json_each(?) k
         JOIN deliveries d ON d.device = k.value->>0 AND d.seq = k.value->>1`, [JSON.stringify([...seqKeys.values()])])
      for (const r of rows) add(found, sameKey(r.device, r.seq, null), { hash: r.hash, row: r.id })
    }
    if (unknownDevices !== undefined) await this.loadFloors(db, unknownDevices)
    let asked: Map<string, [string, number | null]> | undefined
    for (const e of entries) {
      if (e.seq !== null) continue
      // later than anything of this device in the ledger: it can only be new
      if (e.minTs !== null && e.minTs > (this.floors.get(e.device) ?? Infinity)) continue
      (asked ??= new Map()).set(sameKeyOf(e), [e.device, e.minTs])
    }
    if (asked === undefined) return found
    const keys = [...asked.values()]
    // the groups that may hold a key; each is parsed once however many keys it may hold
    const candidates = await db.all<{ id: number }>(
      `SELECT c.id FROM json_each(?) k
       JOIN delivery_groups c ON c.id IN (
         SELECT id FROM delivery_groups WHERE device = k.value->>0 AND max_ts >= k.value->>1 ORDER BY max_ts LIMIT ${CANDIDATE_GROUPS})
       WHERE c.min_ts <= k.value->>1
       UNION
       SELECT c.id FROM json_each(?) k JOIN delivery_groups c ON c.device = k.value->>0 AND c.min_ts IS NULL`,
      [JSON.stringify(keys.filter((k) => k[1] !== null)), JSON.stringify(keys.filter((k) => k[1] === null))])
    const groups = candidates.length === 0
      ? []
      : await db.all<{ id: number, device: string, members: string }>(
        'SELECT id, device, members FROM delivery_groups WHERE id IN (SELECT value FROM json_each(?))', [JSON.stringify(candidates.map((c) => c.id))])
    for (const g of groups) {
      (JSON.parse(g.members) as GroupMember[]).forEach((m, index) => {
        const k = sameKey(g.device, null, m[1])
        if (asked.has(k)) add(found, k, { hash: m[0], group: { id: g.id, index } })
      })
    }
    return found
  }

  private async loadFloors (db: Database, devices: Set<string>): Promise<void> {
    const unknown = [...devices]
    const rows = await db.all<{ device: string, m: number | null }>(
      'SELECT value AS device, (SELECT max(max_ts) FROM delivery_groups WHERE device = value) AS m FROM json_each(?)', [JSON.stringify(unknown)])
    // a device the store knows nothing of: any time may repeat something of it in the ledger
    for (const r of rows) this.floors.set(r.device, r.m ?? -Infinity)
    if (this.floors.size > MAX_FLOORS) this.floors.clear()
  }

  /** The statements that write new deliveries: rows for those with a seq, one group per device and segment for the others. */
  write (deliveries: readonly NewDelivery[]): string[] {
    const statements: string[] = []
    const rows: unknown[][] = []
    type Group = { id: number, device: string, segment: number | null, receivedMs: number, members: GroupMember[] }
    const groups: Group[] = []
    // deliveries come in segment order: a group per device of the segment at hand
    let groupsOfSegment = new Map<string, Group>()
    let segmentAtHand = NaN
    for (const { entry: e, segment, receivedMs, conflict, count } of deliveries) {
      const kept = e.records > 0
      if (e.seq !== null) {
        rows.push([e.device, e.seq, e.hash, kept ? segment : null, kept ? e.firstLine : null, e.records,
          kept ? e.byteStart : null, kept ? e.byteLen : null, e.minTs, e.maxTs, receivedMs, conflict ? 1 : 0, count])
        continue
      }
      if (segment !== segmentAtHand) { segmentAtHand = segment; groupsOfSegment = new Map() }
      let g = groupsOfSegment.get(e.device)
      if (g === undefined) {
        g = { id: this.nextGroupId++, device: e.device, segment: kept ? segment : null, receivedMs, members: [] }
        groupsOfSegment.set(e.device, g)
        groups.push(g)
      }
      if (kept) g.segment = segment
      g.members.push([e.hash, e.minTs, e.maxTs, kept ? e.firstLine : null, e.records, kept ? e.byteStart : null, kept ? e.byteLen : null, count])
    }
    if (rows.length > 0) {
      statements.push(
        `INSERT INTO deliveries (device, seq, hash, segment, first_line, records, byte_start, byte_len, min_ts, max_ts, received_ms, conflict, count)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, value->>11, value->>12
         FROM json_each(${sqlLiteral(JSON.stringify(rows))})`)
    }
    if (groups.length > 0) {
      const out = groups.map((g) => {
        let min: number | null = null
        let max: number | null = null
        for (const m of g.members) {
          if (m[1] !== null && (min === null || m[1] < min)) min = m[1]
          if (m[2] !== null && (max === null || m[2] > max)) max = m[2]
        }
        // a device's later readings are compared with this from now on (a device not loaded yet is read from the ledger)
        const floor = this.floors.get(g.device)
        if (floor !== undefined && max !== null && max > floor) this.floors.set(g.device, max)
        return [g.id, g.device, g.segment, min, max, g.receivedMs, JSON.stringify(g.members)]
      })
      statements.push(
        `INSERT INTO delivery_groups (id, device, segment, min_ts, max_ts, received_ms, members)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(${sqlLiteral(JSON.stringify(out))})`)
    }
    return statements
  }

  /** A step's statements failed, or an erasure removed deliveries: what the store knows is read again. */
  forget (): void { this.floors.clear() }
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
