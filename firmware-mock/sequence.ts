// The batch counter. Firmware that writes it to flash goes on after a restart; firmware that keeps
// it in RAM (cheaper: no flash wear per batch) starts again at 0, so over a device's life one seq
// can name several batches with different readings.
export const SEQ_PERSISTENCE = ['flash', 'ram'] as const
export type SeqPersistence = (typeof SEQ_PERSISTENCE)[number]

export interface Sequence {
  next: () => number
  /** what survives a power cycle */
  restart: () => void
}

export function createSequence (persistence: SeqPersistence): Sequence {
  let seq = 0
  return {
    next: () => seq++,
    restart: () => { if (persistence === 'ram') seq = 0 }
  }
}
