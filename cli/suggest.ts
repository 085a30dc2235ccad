// "did you mean": the command closest to what was typed, by edit distance, when it is close enough
// to be a typo (`stedi pipline run` -> `stedi pipeline run`) rather than another command altogether.

/** Levenshtein distance: insertions, deletions and substitutions, each 1. */
export function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/**
 * The name among `names` (of one or more words) closest to the start of argv, if within one typo in
 * four letters and two at most; names are compared with as many words of argv as they have.
 */
export function suggestCommand (argv: readonly string[], names: readonly string[]): string | undefined {
  let best: { name: string, distance: number } | undefined
  for (const name of names) {
    const words = name.split(' ').length
    if (argv.length < words) continue
    const typed = argv.slice(0, words).join(' ')
    const distance = editDistance(typed, name)
    if (distance > 0 && distance <= Math.min(2, Math.max(1, Math.floor(name.length / 4))) && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}
