// What makes two deliveries "the same message": the device, its seq (or, without one, the content
// itself) and a hash of the content as the gateway understood it (its landing lines and which
// readings it refused for what). A redelivery repeats all three; a device that reuses a seq for
// other readings (a restart that counts from 0 again, two transports with separate counters)
// repeats the seq with another hash, and its readings land.
import { createHash } from 'node:crypto'

/** Above this many characters the content is hashed with SHA-1 (native) rather than in JavaScript. */
const NATIVE_FROM_CHARS = 512

export interface ContentOf {
  seq: number | null
  lines: readonly string[]
  rejections: ReadonlyArray<{ index: number | null, reason: string }>
}

export interface DeliveryKey {
  /** `s:<seq>` for a batch, `h:<hash>` for a message without seq */
  dkey: string
  /** 64 bits of the content (contentHash) */
  hash: string
}

/**
 * The content hash of the lines joined by newlines (joined, if given, is that text) and of the refusals. It only has to tell apart
 * messages that share a device and a seq (or reading time): 64 bits of two FNV-1a lanes for a short
 * message (a native hash call would cost more than the reading), SHA-1 cut to 96 bits for a long one.
 */
export function contentHash (lines: readonly string[], rejections: ContentOf['rejections'], joined?: string): string {
  let length = lines.length
  for (const line of lines) length += line.length
  // a batch's text is hashed faster by the native code (whose call costs more than a reading's hash)
  if (length > NATIVE_FROM_CHARS) {
    const h = createHash('sha1').update(joined ?? lines.join('\n'))
    if (rejections.length > 0) h.update('\u0000' + rejections.map((r) => `${String(r.index)}:${r.reason}`).join(','))
    return h.digest('base64url').slice(0, 16)
  }
  // FNV-1a, two lanes, inline (a closure per call cost as much as the hashing); the same values as ever,
  // since the ledger of a running state holds them
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) {
      a = Math.imul(a ^ 10, 0x01000193)
      b = Math.imul(b ^ 10, 0x01000193) ^ (b >>> 13)
    }
    const s = lines[i]
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13)
    }
  }
  if (rejections.length > 0) {
    const s = '\u0000' + rejections.map((r) => `${String(r.index)}:${r.reason}`).join(',')
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13)
    }
  }
  return (a >>> 0).toString(36).padStart(7, '0') + (b >>> 0).toString(36).padStart(7, '0')
}

/** joined: the lines joined by newlines, when the caller has made that text already */
export function deliveryKey (message: ContentOf, joined?: string): DeliveryKey {
  const hash = contentHash(message.lines, message.rejections, joined)
  return { dkey: message.seq !== null ? `s:${message.seq}` : `h:${hash}`, hash }
}
