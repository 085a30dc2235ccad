// Fault injection for tests: each is a probability per published batch (or a switch).
export interface Faults {
  /** close the connection right after sending a batch, before its PUBACK */
  dropConnection?: number
  /** send a batch twice */
  duplicatePublish?: number
  /** send a batch whose payload is cut short */
  corruptPayload?: number
  /** send one batch under another device's topic (the gateway closes the connection) */
  impersonate?: number
  /** send readings with out-of-range values (negative distance, timestamps in seconds) */
  outOfRange?: number
  /** device clock offset from true time (ms); readings carry the skewed time */
  clockSkewMs?: number
  /**
   * power-cycle the device, per reading taken (a power cut strikes at any reading, not only
   * between batches): it keeps what is in flash and loses what is in RAM (device.ts)
   */
  restart?: number
}

export const chance = (p: number | undefined, random: () => number): boolean => p !== undefined && p > 0 && random() < p
