// The device's store of batches not yet acknowledged, kept in flash so that it survives a restart.
// Bounded: when full the oldest batch goes, and its readings are counted as dropped (a real device
// has only so much flash).
export interface Batch { seq: number, readings: Array<Record<string, unknown>> }

export interface BatchBuffer {
  push: (batch: Batch) => void
  peek: () => Batch | undefined
  /** the head was acknowledged */
  shift: () => void
  size: () => number
  readonly dropped: { batches: number, readings: number }
  readings: () => number
}

/** onDrop is told of each batch given up for room */
export function createBatchBuffer (maxBatches: number, onDrop?: (batch: Batch) => void): BatchBuffer {
  const items: Batch[] = []
  const dropped = { batches: 0, readings: 0 }
  return {
    push: (batch) => {
      items.push(batch)
      while (items.length > maxBatches) {
        const old = items.shift()!
        dropped.batches++
        dropped.readings += old.readings.length
        onDrop?.(old)
      }
    },
    peek: () => items[0],
    shift: () => { items.shift() },
    size: () => items.length,
    dropped,
    readings: () => items.reduce((a, b) => a + b.readings.length, 0)
  }
}
