// The ramp's knee: the highest acknowledged rate a step held before the first step whose p99
// latency or error rate passed its threshold. A knee is stated only when a threshold was crossed:
// a ramp that never crossed one found no knee, only a rate the gateway held (the knee is higher).
import { formatNumber } from './format.js'
import type { WindowStats } from './recorder.js'

export interface KneeThresholds { p99Ms: number, errorRate: number }

export interface Knee {
  /** the highest acknowledged readings/s of a step before the crossing (0 when the first step crossed) */
  readingsPerSecond: number
  /** offered readings/s of that step: devices that wait for each acknowledgement slow down instead of crossing a threshold */
  offered: number
  /** p99 latency of that step, ms */
  p99Ms: number
  /** offered readings/s of the first step that crossed a threshold; null when none did */
  crossedAt: number | null
  /** what the crossing step measured, and which thresholds it passed */
  crossing: { by: Array<'p99' | 'errors'>, p99Ms: number, errorRate: number } | null
  thresholds: KneeThresholds
}

export interface RampStep { offered: number, seconds: number, window: WindowStats }

const round2 = (n: number): number => Math.round(n * 100) / 100

export function findKnee (steps: readonly RampStep[], thresholds: KneeThresholds): Knee {
  const knee: Knee = { readingsPerSecond: 0, offered: 0, p99Ms: 0, crossedAt: null, crossing: null, thresholds }
  for (const { offered, seconds, window: w } of steps) {
    const errorRate = w.messages === 0 ? 0 : w.errors / w.messages
    const by = [...(w.p99 > thresholds.p99Ms ? ['p99' as const] : []), ...(errorRate > thresholds.errorRate ? ['errors' as const] : [])]
    if (by.length > 0) return { ...knee, crossedAt: offered, crossing: { by, p99Ms: round2(w.p99), errorRate: round2(errorRate * 10_000) / 10_000 } }
    const held = Math.round(w.readings / seconds)
    if (held > knee.readingsPerSecond) Object.assign(knee, { readingsPerSecond: held, offered, p99Ms: round2(w.p99) })
  }
  return knee
}

const ms = (n: number): string => `${formatNumber(n, 2)} ms`
const percent = (ratio: number): string => `${formatNumber(ratio * 100, 2)}%`

/** One sentence, for the terminal and the HTML report alike; it says "knee" only when a threshold was crossed. */
export function describeKnee (k: Knee): string {
  const held = `${formatNumber(k.readingsPerSecond)} readings/s of ${formatNumber(k.offered)} offered (p99 ${ms(k.p99Ms)})`
  if (k.crossedAt === null || k.crossing === null) {
    return `thresholds (p99 ${ms(k.thresholds.p99Ms)}, errors ${percent(k.thresholds.errorRate)}) never crossed; the highest rate held was ${held}`
  }
  const c = k.crossing
  const passed = [
    ...(c.by.includes('p99') ? [`p99 ${ms(k.thresholds.p99Ms)} (p99 ${ms(c.p99Ms)})`] : []),
    ...(c.by.includes('errors') ? [`errors ${percent(k.thresholds.errorRate)} (errors ${percent(c.errorRate)})`] : [])
  ].join(' and ')
  const offered = `${formatNumber(k.crossedAt)} readings/s offered`
  return k.readingsPerSecond === 0
    ? `knee below the first step: ${offered} already passed ${passed}`
    : `knee at ${held}: the next step, ${offered}, passed ${passed}`
}
