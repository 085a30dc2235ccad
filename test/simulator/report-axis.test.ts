// The load-test report's axes and figures: ticks in 1-2-5 steps from 0 past the largest value, a
// time axis in the unit the run's length reads best in, and every figure with thousands separators.
import t from 'tap'
import { niceTicks, timeAxis } from '../../simulator/load/axis.js'
import { formatNumber, formatTick } from '../../simulator/load/format.js'

const isOneTwoFive = (step: number): boolean => {
  const mantissa = step / 10 ** Math.floor(Math.log10(step))
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9)
}

t.test('niceTicks: 0 to the first step at or above the maximum, the step 1, 2 or 5 times a power of ten', async (t) => {
  t.same(niceTicks(8_137), [0, 2000, 4000, 6000, 8000, 10_000])
  t.same(niceTicks(100), [0, 20, 40, 60, 80, 100])
  t.same(niceTicks(101), [0, 50, 100, 150])
  t.same(niceTicks(3.7), [0, 1, 2, 3, 4])
  t.same(niceTicks(0.42), [0, 0.1, 0.2, 0.3, 0.4, 0.5], 'fractions without float noise (0.30000000000000004)')
  t.same(niceTicks(0), [0, 1], 'nothing to draw still gives an axis')
  t.same(niceTicks(-3), [0, 1])
  t.same(niceTicks(Number.NaN), [0, 1])
  // any maximum: a 1-2-5 step, at most 6 intervals, the last tick covers the maximum
  for (const max of [1, 7, 9.99, 12, 55, 99, 250, 999, 1001, 31_415, 65_474, 1e6 + 1, 0.003]) {
    const ticks = niceTicks(max)
    const step = ticks[1] - ticks[0]
    t.ok(isOneTwoFive(Number(step.toPrecision(12))), `${max}: step ${step}`)
    t.ok(ticks.length - 1 <= 6 && ticks.length - 1 >= 2, `${max}: ${ticks.length - 1} intervals`)
    t.ok(ticks.at(-1)! >= max && ticks.at(-2)! < max, `${max}: the top tick ${ticks.at(-1)} is the first at or above it`)
  }
})

t.test('timeAxis: seconds for short runs, minutes, then hours; 1-2-5 steps in that unit', async (t) => {
  const short = timeAxis(24)
  t.equal(short.unit, 's')
  t.same(short.ticks.map((x) => x.s), [0, 5, 10, 15, 20, 25])
  t.same(short.ticks.map((x) => x.label), ['0', '5', '10', '15', '20', '25'])
  const hour = timeAxis(3600)
  t.equal(hour.unit, 'min')
  t.same(hour.ticks.map((x) => x.label), ['0', '20', '40', '60'])
  t.same(hour.ticks.map((x) => x.s), [0, 1200, 2400, 3600], 'ticks in seconds, labels in the unit')
  const day = timeAxis(86_400)
  t.equal(day.unit, 'h')
  t.same(day.ticks.map((x) => x.label), ['0', '5', '10', '15', '20', '25'])
  t.equal(timeAxis(300).unit, 's', 'five minutes still in seconds')
  t.equal(timeAxis(301).unit, 'min')
})

t.test('formatNumber: thousands separators, decimals only as needed, n/a for what is missing', async (t) => {
  t.equal(formatNumber(1_234_567), '1,234,567')
  t.equal(formatNumber(999), '999')
  t.equal(formatNumber(-12_000), '-12,000')
  t.equal(formatNumber(65_474.4), '65,474', 'whole by default')
  t.equal(formatNumber(1234.567, 2), '1,234.57')
  t.equal(formatNumber(0.5, 2), '0.5', 'no trailing zeros')
  t.equal(formatNumber(3, 2), '3')
  t.equal(formatNumber(null), 'n/a')
  t.equal(formatNumber(undefined), 'n/a')
  t.equal(formatNumber(Number.NaN), 'n/a')
  t.equal(formatNumber(-0.001), '0', 'no sign on what rounds to zero')
})

t.test('formatTick: as many decimals as the step has, the same on every tick of an axis', async (t) => {
  t.same([0, 0.5, 1, 1.5].map((v) => formatTick(v, 0.5)), ['0.0', '0.5', '1.0', '1.5'])
  t.same([0, 2000, 10_000].map((v) => formatTick(v, 2000)), ['0', '2,000', '10,000'])
  t.same([0, 0.02, 0.04].map((v) => formatTick(v, 0.02)), ['0.00', '0.02', '0.04'])
})
