// How a message is written into its segment's message list: compact arrays, since there is one per
// message on the ack path. The ledger (deliveries, rejections) is built from these entries later.
export const ENTRY_KIND = Object.freeze({
  /** acknowledged, with a key: gets a delivery row (or counts as a redelivery of one) */
  delivery: 0,
  /** not acknowledged (rate limit, full outbox): only its refusal is recorded */
  refused: 1,
  /** acknowledged, but nothing to keep and no seq to recognise it by: only its rejections are recorded */
  rejectedOnly: 2,
  /** a redelivery recognised at the ack (its original still waited): it only counts as one more delivery */
  repeat: 3
} as const)
export type EntryKind = (typeof ENTRY_KIND)[keyof typeof ENTRY_KIND]

/** [index in the batch (null: the whole message), reading time, reason, detail (truncated)] */
export type ItemizedRejection = [number | null, number | null, string, string]

export interface MessageEntry {
  kind: EntryKind
  device: string
  dkey: string
  hash: string
  seq: number | null
  /** first line in the segment, and how many (0 when the message kept no record) */
  firstLine: number
  records: number
  /** UTF-8 byte offset and length of those lines in the segment text */
  byteStart: number
  byteLen: number
  minTs: number | null
  maxTs: number | null
  readings: number
  rejections: ItemizedRejection[]
  /** rejections over the per-device cap: counted by reason, not itemized */
  counted: Record<string, number>
  /** the keys, made once (never stored) */
  full?: string
  same?: string
}

// [kind, device (an index into the segment's device list), hash, seq, firstLine, records, byteStart,
//  byteLen, minTs, maxTs, readings, rejections (0 when none), counted (0 when none)]; dkey is derived
type Packed = [EntryKind, number, string, number | null, number, number, number, number, number | null, number | null, number, ItemizedRejection[] | 0, Record<string, number> | 0]

function hasKeys (o: Record<string, number>): boolean {
  for (const _ in o) return true
  return false
}

export function packEntries (entries: readonly MessageEntry[]): string {
  const devices: string[] = []
  const index = new Map<string, number>()
  const m = entries.map((e): Packed => {
    let d = index.get(e.device)
    if (d === undefined) { d = devices.push(e.device) - 1; index.set(e.device, d) }
    const counted = hasKeys(e.counted) ? e.counted : 0
    return [e.kind, d, e.hash, e.seq, e.firstLine, e.records, e.byteStart, e.byteLen, e.minTs, e.maxTs, e.readings, e.rejections.length > 0 ? e.rejections : 0, counted]
  })
  return JSON.stringify({ d: devices, m })
}

export function unpackEntries (text: string): MessageEntry[] {
  const { d, m } = JSON.parse(text) as { d: string[], m: Packed[] }
  return m.map(([kind, device, hash, seq, firstLine, records, byteStart, byteLen, minTs, maxTs, readings, rejections, counted]) =>
    ({ kind, device: d[device], dkey: seq !== null ? `s:${seq}` : `h:${hash}`, hash, seq, firstLine, records, byteStart, byteLen, minTs, maxTs, readings, rejections: rejections === 0 ? [] : rejections, counted: counted === 0 ? {} : counted }))
}

/** The identity of a delivery in the dedup index and the pending set (made once per entry). */
export function fullKey (e: Pick<MessageEntry, 'device' | 'dkey' | 'hash' | 'full'>): string {
  return e.full ?? (e.full = `${e.device}\u0000${e.dkey}\u0000${e.hash}`)
}
