// What an erasure did, place by place: counts and file names only, never an email or serial number.
export interface ErasureReceipt {
  keyFingerprint: string
  tombstones: { added: number, total: number }
  places: {
    /** outbox segments (waiting or kept after landing): rewritten, and the records blanked out */
    segments: { rewritten: number, records: number }
    /** per-segment message lists: rewritten, and the messages taken out */
    segmentMessages: { rewritten: number, messages: number }
    /** claimed flushes not yet landed, told to skip the erased lines */
    flushes: { rewritten: number }
    /** ledger: delivery rows and groups (the dedup keys), itemized refusals and their counts */
    deliveries: { removed: number }
    deliveryGroups: { removed: number }
    rejections: { removed: number, redacted: number }
    rejectionTotals: { removed: number }
  }
  /** each SQLite file of the state, compacted: no deleted byte left in free pages or the log */
  files: Array<{ file: string, bytesBefore: number, bytesAfter: number }>
  durationMs: number
  /** of which the outbox's writers were held (commits and acknowledgements waited) */
  lockedMs: number
}

export type ErasurePlaces = ErasureReceipt['places']

export const emptyPlaces = (): ErasurePlaces => ({
  segments: { rewritten: 0, records: 0 },
  segmentMessages: { rewritten: 0, messages: 0 },
  flushes: { rewritten: 0 },
  deliveries: { removed: 0 },
  deliveryGroups: { removed: 0 },
  rejections: { removed: 0, redacted: 0 },
  rejectionTotals: { removed: 0 }
})
