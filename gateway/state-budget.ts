// The state folder's size, kept within its budget. Landed data goes after the retention window as
// usual; when the database grows past --max-state-bytes anyway (a flood of refusals, a long
// retention), the oldest landed data goes early, down to 80% of the budget, and the shortened
// retention shows in /metrics. If even that cannot make room (what waits to land is never
// deleted), new readings are refused unacknowledged and readiness fails, naming the figures.
import type { Logger } from '../common/logger.js'
import type { Outbox } from './outbox/outbox.js'

export interface StateBudget {
  start: () => void
  stop: () => void
  /** check now (tests; the timer calls it) */
  check: () => Promise<void>
  full: () => boolean
  usedBytes: () => number
  retentionMs: () => number
  problem: () => string | undefined
}

const CHECK_EVERY_MS = 5_000
const PRUNE_EVERY_MS = 600_000
const MB = 1024 * 1024

export function createStateBudget (deps: { outbox: Outbox, maxBytes: number, retentionMs: number, logger: Logger }): StateBudget {
  const { outbox, maxBytes, logger } = deps
  let used = 0
  let retention = deps.retentionMs
  let full = false
  let lastPrune = 0
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  const check = async (): Promise<void> => {
    const now = Date.now()
    if (now - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now
      await outbox.prune(now - deps.retentionMs)
      retention = deps.retentionMs
    }
    used = (await outbox.usage()).usedBytes
    // the older half of what landed first, then the older half of the rest, ..., at last all of it
    const oldest = used > maxBytes ? await outbox.oldestLandedMs() : undefined
    for (let round = 1; oldest !== undefined && used > maxBytes * 0.8 && round <= 8; round++) {
      const cutoff = round === 8 ? now + 1 : now - (now - oldest) / 2 ** round
      await outbox.prune(cutoff)
      retention = Math.max(0, Math.min(retention, now - cutoff))
      used = (await outbox.usage()).usedBytes
    }
    if (retention < deps.retentionMs) logger.warn({ usedMb: Math.round(used / MB), budgetMb: Math.round(maxBytes / MB), retentionS: Math.round(retention / 1000) }, 'state over its budget: landed readings kept for a shorter time')
    full = used > maxBytes
  }

  const tick = (): void => {
    running ??= check().catch((err: unknown) => { logger.error({ err: (err as Error).message }, 'state budget check failed') }).finally(() => { running = undefined })
  }

  return {
    start: () => { tick(); timer = setInterval(tick, CHECK_EVERY_MS); timer.unref() },
    stop: () => { if (timer !== undefined) clearInterval(timer) },
    check: async () => { tick(); await running },
    full: () => full,
    usedBytes: () => used,
    retentionMs: () => retention,
    problem: () => full ? `the state uses ${Math.round(used / MB)} MB of its ${Math.round(maxBytes / MB)} MB budget and nothing landed is left to remove: new readings are refused until the outbox drains` : undefined
  }
}
