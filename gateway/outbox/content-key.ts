// What makes two deliveries "the same message": the device, its seq (or, without one, the content
// itself) and a hash of the content as the gateway understood it (its landing lines and which
// readings it refused for what). A redelivery repeats all three; a device that reuses a seq for
// other readings (a restart that counts from 0 again, two transports with separate counters)
// repeats the seq with another hash, and its readings land.
import { createHash } from 'node:crypto'

export interface ContentOf {
  seq: number | null
  lines: readonly string[]
  rejections: ReadonlyArray<{ index: number | null, reason: string }>
}

export interface DeliveryKey {
  /** `s:<seq>` for a batch, `h:<hash>` for a message without seq */
  dkey: string
  /** base64url SHA-1 of the content */
  hash: string
}

/**
 * The content hash. Without refusals it is the hash of the lines joined by newlines, which is what
 * the previous release keyed single readings by, so its ledger keeps deduplicating after an upgrade.
 */
export function contentHash (lines: readonly string[], rejections: ContentOf['rejections']): string {
  const h = createHash('sha1').update(lines.join('\n'))
  if (rejections.length > 0) h.update('\u0000' + rejections.map((r) => `${String(r.index)}:${r.reason}`).join(','))
  return h.digest('base64url')
}

export function deliveryKey (message: ContentOf): DeliveryKey {
  const hash = contentHash(message.lines, message.rejections)
  return { dkey: message.seq !== null ? `s:${message.seq}` : `h:${hash}`, hash }
}
