// The ingest side of erasure: what a tombstone covers in a message is taken out before the message
// reaches the outbox, so an erased customer's readings are acknowledged (the device stops sending
// them) but never written anywhere: no segment, no landing file, no ledger row with the identity.
// Readings dated after the erasure (a customer who registered again, a resold trainer) go on.
import type { TombstoneMatcher } from '../../contracts/privacy.js'
import type { AcceptRequest } from '../outbox/outbox.js'
import { identityOfDevice, lineTime, namesErased } from './identity.js'

export const ERASED_DETAIL = 'the detail named an erased identity'

export interface Filtered {
  /** what is left to keep; undefined when the whole message was erased */
  request: AcceptRequest | undefined
  /** readings taken out */
  erased: number
}

export function filterErased (matcher: TombstoneMatcher, req: AcceptRequest): Filtered {
  if (matcher.size === 0) return { request: req, erased: 0 }
  const id = identityOfDevice(req.device)
  const at = id === undefined ? undefined : matcher.erasedAt(id.kind, id.value)
  // another identity's refusal may quote an erased one (a payload naming somebody else's user)
  const rejections = req.rejections.map((r) => namesErased(matcher, r.detail) ? { ...r, detail: ERASED_DETAIL } : r)
  if (at === undefined || id === undefined) return { request: { ...req, rejections }, erased: 0 }
  const covered = (ts: number | null): boolean => ts === null || ts <= at
  // a refusal of the whole message has no date of its own: the message is the erased identity's
  if (rejections.some((r) => r.index === null && covered(r.ts))) return { request: undefined, erased: req.readings }
  const lines: string[] = []
  let minTs: number | null = null
  let maxTs: number | null = null
  for (const line of req.lines) {
    const ts = lineTime(line, id.timeField)
    if (covered(ts)) continue
    lines.push(line)
    if (minTs === null || ts! < minTs) minTs = ts
    if (maxTs === null || ts! > maxTs) maxTs = ts
  }
  const kept = rejections.filter((r) => !covered(r.ts))
  const erased = (req.lines.length - lines.length) + (rejections.length - kept.length)
  if (erased === 0) return { request: { ...req, rejections }, erased: 0 }
  if (lines.length === 0 && kept.length === 0) return { request: undefined, erased }
  return { request: { ...req, lines, rejections: kept, minTs, maxTs, readings: req.readings - erased }, erased }
}
