// A token bucket per device: readings per second sustained, a burst above it. One device sending
// too fast waits (MQTT) or is told to retry (HTTP 429); the others are not slowed.
export interface RateLimiter {
  /** takes n tokens and returns 0, or takes none and returns the ms until n fit (Infinity: never, n exceeds the burst) */
  reserve: (device: string, n: number, nowMs?: number) => number
}

export function createRateLimiter (readingsPerSecond: number, burst: number): RateLimiter {
  const buckets = new Map<string, { tokens: number, at: number }>()
  return {
    reserve: (device, n, nowMs = Date.now()) => {
      if (n > burst) return Infinity
      let b = buckets.get(device)
      if (b === undefined) {
        b = { tokens: burst, at: nowMs }
        buckets.set(device, b)
        // a fleet of millions of devices must not grow this map forever: forget full buckets
        if (buckets.size > 100_000) for (const [k, v] of buckets) if (v.tokens >= burst && k !== device) buckets.delete(k)
      }
      b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * readingsPerSecond)
      b.at = nowMs
      // tokens are taken only when all fit: a device that waits and asks again is not charged twice
      if (b.tokens >= n) { b.tokens -= n; return 0 }
      return Math.ceil(((n - b.tokens) / readingsPerSecond) * 1000)
    }
  }
}
