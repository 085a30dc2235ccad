// Readings accepted per second, by dataset, over the last few minutes: a ring of per-second slots
// (900 by default, 15 minutes), each stamped with its second so that a quiet second reads 0 without
// a timer clearing it. Memory is fixed: datasets x seconds numbers.
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'

export interface RateHistory {
  readonly seconds: number
  /** n readings of the dataset accepted at nowMs */
  record: (dataset: DatasetName, n: number, nowMs?: number) => void
  /** per dataset, one count per second, oldest first; the last is the second of nowMs (still filling) */
  series: (nowMs?: number) => { endsAtMs: number, series: Record<DatasetName, number[]> }
}

export function createRateHistory (options: { seconds?: number, now?: () => number } = {}): RateHistory {
  const seconds = options.seconds ?? 900
  const now = options.now ?? Date.now
  const rings = new Map<DatasetName, { counts: Float64Array, stamps: Float64Array }>(
    DATASET_NAMES.map((d) => [d, { counts: new Float64Array(seconds), stamps: new Float64Array(seconds).fill(-1) }]))
  return {
    seconds,
    record: (dataset, n, nowMs = now()) => {
      const ring = rings.get(dataset)
      if (ring === undefined) return
      const second = Math.floor(nowMs / 1000)
      const slot = second % seconds
      if (ring.stamps[slot] !== second) { ring.stamps[slot] = second; ring.counts[slot] = 0 }
      ring.counts[slot] += n
    },
    series: (nowMs = now()) => {
      const last = Math.floor(nowMs / 1000)
      const series = {} as Record<DatasetName, number[]>
      for (const [dataset, ring] of rings) {
        const out = new Array<number>(seconds)
        for (let i = 0; i < seconds; i++) {
          const second = last - seconds + 1 + i
          const slot = second % seconds
          out[i] = ring.stamps[slot] === second ? ring.counts[slot] : 0
        }
        series[dataset] = out
      }
      return { endsAtMs: last * 1000, series }
    }
  }
}
