// Durations as people write them on a command line: 500ms, 30s, 5m, 1h, 2d. A bare number is
// refused rather than read as milliseconds: "--every 5" meant 5 minutes to whoever typed it, and
// running the pipeline every 5 ms instead is the kind of surprise an operator cannot trust.
const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export type DurationErrorCode = 'DURATION_ERR_NO_UNIT' | 'DURATION_ERR_INVALID'

export class DurationError extends Error {
  readonly code: DurationErrorCode
  constructor (code: DurationErrorCode, message: string) {
    super(message)
    this.name = 'DurationError'
    this.code = code
  }
}

/** The duration in whole milliseconds (> 0); throws a DurationError naming what to write instead. */
export function parseDuration (text: string): number {
  const trimmed = text.trim()
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) throw new DurationError('DURATION_ERR_NO_UNIT', `${trimmed}: add a unit, such as ${trimmed}s or ${trimmed}m`)
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(trimmed)
  const value = match == null ? NaN : Number(match[1]) * UNITS_MS[match[2]]
  if (!Number.isFinite(value) || Math.round(value) <= 0) throw new DurationError('DURATION_ERR_INVALID', `${text}: not a duration; write a number and a unit (ms, s, m, h, d), such as 30s`)
  return Math.round(value)
}

/** As parseDuration, but undefined for anything it refuses (a bare number too). */
export function parseDurationMs (text: string): number | undefined {
  try {
    return parseDuration(text)
  } catch (err) {
    if (err instanceof DurationError) return undefined
    throw err
  }
}

export function formatDurationMs (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}
