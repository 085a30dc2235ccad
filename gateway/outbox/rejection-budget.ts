// How much a device may write into the rejection ledger. Each refused reading of a message used to
// be one row with a detail quoting the device's own text, so a device within its rate could write
// megabytes a second into the state disk. Now a detail is truncated, a message itemizes its first
// few refusals, and each device has a token bucket of itemized rows; whatever is over is still
// counted (metrics, and rejection_totals by device, reason and hour), just not itemized.
import { createRateLimiter } from '../ingest/rate-limit.js'
import type { ItemizedRejection } from './message-entry.js'

export interface RejectionLimits {
  /** characters of a rejection's detail kept in the ledger */
  readonly detailChars: number
  /** refusals itemized per message; the rest of the message's are counted */
  readonly perMessage: number
  /** itemized rows per device per second, sustained, and the burst above it */
  readonly perDevicePerSecond: number
  readonly perDeviceBurst: number
}

export const REJECTION_LIMITS: RejectionLimits = Object.freeze({ detailChars: 160, perMessage: 10, perDevicePerSecond: 5, perDeviceBurst: 1000 })

export interface Refusal { index: number | null, ts: number | null, reason: string, detail: string }

export interface RejectionBudget {
  /** which of a message's refusals are itemized, and the readings of the others by reason (a whole-message refusal counts all the message's readings) */
  itemize: (device: string, refusals: readonly Refusal[], readings: number) => { items: ItemizedRejection[], counted: Record<string, number> }
}

export function truncateDetail (detail: string, chars: number): string {
  if (detail.length <= chars) return detail
  // never cut a surrogate pair in two: the ledger's text must stay valid Unicode
  let end = chars - 1
  const code = detail.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return detail.slice(0, end) + '…'
}

export function createRejectionBudget (limits: RejectionLimits = REJECTION_LIMITS): RejectionBudget {
  const bucket = createRateLimiter(limits.perDevicePerSecond, limits.perDeviceBurst)
  return {
    itemize: (device, refusals, readings) => {
      const items: ItemizedRejection[] = []
      const counted: Record<string, number> = {}
      for (const r of refusals) {
        if (items.length < limits.perMessage && bucket.reserve(device, 1) === 0) {
          items.push([r.index, r.ts, r.reason, truncateDetail(r.detail, limits.detailChars)])
        } else {
          counted[r.reason] = (counted[r.reason] ?? 0) + (r.index === null ? readings : 1)
        }
      }
      return { items, counted }
    }
  }
}
