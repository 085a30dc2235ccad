// Batches (messages with a seq) accepted but not yet in the ledger's index, so that a redelivery
// arriving meanwhile is recognised at once. Entries leave when their segment is indexed (the index
// answers from then on). Messages without a seq (single readings) are not kept here: a key per
// reading would cost the ack path more than the rare redelivery it saves, and the ledger recognises
// a repeated reading before it lands anyway.
import { ENTRY_KIND, type MessageEntry, fullKey } from './message-entry.js'

export class PendingKeys {
  private readonly keys = new Set<string>()
  private readonly bySegment = new Map<number, string[]>()

  has (key: string): boolean { return this.keys.has(key) }

  add (segment: number, entries: readonly MessageEntry[]): void {
    const keys: string[] = []
    for (const e of entries) {
      if (e.kind !== ENTRY_KIND.delivery || e.seq === null) continue
      const k = fullKey(e)
      this.keys.add(k)
      keys.push(k)
    }
    if (keys.length > 0) this.bySegment.set(segment, keys)
  }

  /** The segment's deliveries are in the index now. */
  release (segment: number): void {
    for (const k of this.bySegment.get(segment) ?? []) this.keys.delete(k)
    this.bySegment.delete(segment)
  }

  get size (): number { return this.keys.size }
}
