// What makes two deliveries "the same message": the device, its seq (or, without one, the content
// itself) and a hash of the content as the gateway understood it (its landing lines and which
// readings it refused for what). A redelivery repeats all three; a device that reuses a seq for
// other readings (a restart that counts from 0 again, two transports with separate counters)
// repeats the seq with another hash, and its readings land.

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
 * The content hash: 64 bits (two 32-bit FNV-1a lanes) of the lines joined by newlines and of the
 * refusals. It only has to tell apart messages that share a device and a seq (or reading time), so
 * a cryptographic hash would buy nothing, and cost a tenth of a message's whole budget.
 */
export function contentHash (lines: readonly string[], rejections: ContentOf['rejections']): string {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13)
    }
  }
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) feed('\n')
    feed(lines[i])
  }
  if (rejections.length > 0) feed('\u0000' + rejections.map((r) => `${String(r.index)}:${r.reason}`).join(','))
  return (a >>> 0).toString(36).padStart(7, '0') + (b >>> 0).toString(36).padStart(7, '0')
}

export function deliveryKey (message: ContentOf): DeliveryKey {
  const hash = contentHash(message.lines, message.rejections)
  return { dkey: message.seq !== null ? `s:${message.seq}` : `h:${hash}`, hash }
}
