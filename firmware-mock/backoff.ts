// Reconnect delays: exponential with full jitter, capped, so that a fleet dropped at once does not
// come back at once.
export interface Backoff { next: () => number, reset: () => void }

export function createBackoff (options: { baseMs: number, maxMs: number, random: () => number }): Backoff {
  let attempt = 0
  return {
    next: () => {
      const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** attempt++)
      return Math.round(ceiling / 2 + (options.random() * ceiling) / 2)
    },
    reset: () => { attempt = 0 }
  }
}
