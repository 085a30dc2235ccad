// Durations as people write them on a command line: 500ms, 30s, 5m, 1h, 30d, or a bare number of ms.
const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDurationMs (text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
  if (match == null) return undefined
  const value = Number(match[1]) * UNITS_MS[match[2] ?? 'ms']
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined
}

export function formatDurationMs (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}
