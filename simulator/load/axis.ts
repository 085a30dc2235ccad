// The report's axes: ticks from 0 in steps of 1, 2 or 5 times a power of ten, so that a reader
// interpolates at a glance (0, 2,000, 4,000 rather than 0, 1,627, 3,254), and a time axis in the
// unit the run's length reads best in.
import { formatTick, stepDecimals } from './format.js'

/** The smallest 1-2-5 step that splits 0..max into at most `count` intervals. */
function niceStep (max: number, count: number): number {
  const raw = max / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const m = [1, 2, 5, 10].find((x) => x * magnitude >= raw * (1 - 1e-9))!
  return Number((m * magnitude).toPrecision(12))
}

/** 0, step, 2 step … up to the first multiple of the step at or above max (at least [0, 1]). */
export function niceTicks (max: number, count = 5): number[] {
  if (!Number.isFinite(max) || max <= 0) return [0, 1]
  const step = niceStep(max, count)
  const d = stepDecimals(step)
  const ticks = [0]
  // rounded to the step's decimals: 3 x 0.1 is 0.3 here, not 0.30000000000000004
  for (let i = 1; ticks.at(-1)! < max * (1 - 1e-9); i++) ticks.push(Number((i * step).toFixed(d)))
  return ticks
}

export type TimeUnit = 's' | 'min' | 'h'

// up to five minutes in seconds, up to five hours in minutes, then hours
const TIME_UNITS: Array<{ unit: TimeUnit, s: number, upToS: number }> = [
  { unit: 's', s: 1, upToS: 300 },
  { unit: 'min', s: 60, upToS: 5 * 3600 },
  { unit: 'h', s: 3600, upToS: Infinity }
]

/** Ticks over 0..maxS seconds: where each is (in seconds) and its label in the chosen unit. */
export function timeAxis (maxS: number): { unit: TimeUnit, ticks: Array<{ s: number, label: string }> } {
  const { unit, s } = TIME_UNITS.find((u) => maxS <= u.upToS)!
  const ticks = niceTicks(maxS / s)
  const step = ticks[1] - ticks[0]
  return { unit, ticks: ticks.map((v) => ({ s: v * s, label: formatTick(v, step) })) }
}
