// The device's store of batches not yet acknowledged, kept in flash so that it survives a restart.
// Bounded: when full the oldest batch goes, and its readings are counted as dropped (a real device
// has only so much flash).
export interface Batch { seq: number, readings: Array<Record<string, unknown>> }

export interface BatchBuffer {
  push: (batch: Batch) => void
  peek: () => Batch | undefined
  /** the batch now on the wire (or none): a full buffer never drops it, since its PUBACK may be on the way */
  sending: (batch: Batch | undefined) => void
  /** this batch was acknowledged: it leaves the buffer */
  acknowledge: (batch: Batch) => void
  size: () => number
  readonly dropped: { batches: number, readings: number }
  readings: () => number
}

/** onDrop is told of each batch given up for room */
export function createBatchBuffer (maxBatches: number, onDrop?: (batch: Batch) => void): BatchBuffer {
  const items: Batch[] = []
  const dropped = { batches: 0, readings: 0 }
  let onWire: Batch | undefined
  return {
    push: (batch) => {
      items.push(batch)
      while (items.length > Math.max(maxBatches, onWire !== undefined && items.includes(onWire) ? 2 : 1)) {
        const at = items[0] === onWire ? 1 : 0
        const [old] = items.splice(at, 1)
        dropped.batches++
        dropped.readings += old.readings.length
        onDrop?.(old)
      }
    },
    peek: () => items[0],
    sending: (batch) => { onWire = batch },
    // by identity, not position: the acknowledged batch may no longer be the head
    acknowledge: (batch) => { const i = items.indexOf(batch); if (i !== -1) items.splice(i, 1); if (onWire === batch) onWire = undefined },
    size: () => items.length,
    dropped,
    readings: () => items.reduce((a, b) => a + b.readings.length, 0)
  }
}
