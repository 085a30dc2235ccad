// Figures as the load-test report prints them: thousands separators always, and one fixed locale
// (en-US) so that a report reads the same, and parses the same, on every machine.
const formatters = new Map<string, Intl.NumberFormat>()

function formatter (minDecimals: number, maxDecimals: number): Intl.NumberFormat {
  const k = `${minDecimals}/${maxDecimals}`
  let f = formatters.get(k)
  if (f === undefined) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: minDecimals, maximumFractionDigits: maxDecimals })
    formatters.set(k, f)
  }
  return f
}

/** 1,234,567; up to maxDecimals decimals, without trailing zeros; n/a for a missing value. */
export function formatNumber (n: number | null | undefined, maxDecimals = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a'
  return noNegativeZero(formatter(0, maxDecimals).format(n))
}

// -0.001 rounded to whole prints -0: a reader sees a sign where there is none
const noNegativeZero = (s: string): string => s.replace(/^-(?=0(\.0+)?$)/, '')

/** The decimals a 1-2-5 step needs: 0.5 has one, 0.02 two, 2,000 none. */
export function stepDecimals (step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
}

/** A tick's label: every tick of an axis with its step's decimals (0.0, 0.5, 1.0). */
export function formatTick (value: number, step: number): string {
  const d = stepDecimals(step)
  return noNegativeZero(formatter(d, d).format(value))
}
