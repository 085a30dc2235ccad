// One run at a time on an S3 lakehouse. S3 has no lock, and a process that dies cannot release one,
// so the lock is a lease: an object (`_state/lease.json`) created only if absent (If-None-Match: *),
// naming its holder and when it expires. The holder renews it well before then, each renewal a write
// conditional on the ETag it last wrote (If-Match), so a holder that was taken over learns it at its
// next renewal. Another run finding a live lease is refused at once (exit 3) or waits (--wait); one
// finding an expired lease (its holder died) takes it over, again with If-Match, so that of two
// runs racing for it one wins. Expiry is judged on the taker's clock against the holder's: the
// duration (60 s by default) is far above the skew of clocks kept by NTP.
import crypto from 'node:crypto'
import os from 'node:os'
import { PipelineError } from '../errors.js'
import type { Bucket } from './bucket.js'

export interface LeaseTiming {
  /** how long a lease lasts without renewal: a killed run's lakehouse is free again after this (ms) */
  durationMs: number
  /** how often the holder renews (ms); a third of the duration leaves two renewals to fail */
  renewEveryMs: number
  /** how often a waiting run looks again (ms) */
  pollMs: number
}

export const DEFAULT_LEASE_MS = 60_000

export function leaseTiming (durationMs: number): LeaseTiming {
  return { durationMs, renewEveryMs: Math.max(100, Math.floor(durationMs / 3)), pollMs: Math.min(1000, Math.max(50, Math.floor(durationMs / 10))) }
}

interface LeaseBody { holder: string, pid: number, host: string, since: string, expiresAt: number, released?: boolean }

export class Lease {
  private etag: string
  private expiresAt: number
  private timer: NodeJS.Timeout | undefined
  private renewing: Promise<void> = Promise.resolve()
  private lostReason: string | undefined

  private constructor (
    private readonly bucket: Bucket, private readonly key: string, private readonly body: LeaseBody,
    private readonly timing: LeaseTiming, etag: string
  ) {
    this.etag = etag
    this.expiresAt = body.expiresAt
  }

  /** A short id of this holder, unique per run: it goes into the names of the files the run writes. */
  get token (): string {
    return this.body.holder.slice(0, 8)
  }

  static async acquire (bucket: Bucket, key: string, where: string, timing: LeaseTiming, waitMs: number): Promise<Lease> {
    const deadline = Date.now() + waitMs
    const body: LeaseBody = { holder: crypto.randomUUID(), pid: process.pid, host: os.hostname(), since: new Date().toISOString(), expiresAt: 0 }
    for (;;) {
      body.expiresAt = Date.now() + timing.durationMs
      const created = await bucket.put(key, JSON.stringify(body), { ifNoneMatch: '*' })
      if (created !== undefined) return new Lease(bucket, key, body, timing, created).start()
      const found = await bucket.getText(key)
      if (found !== undefined) {
        const other = parseBody(found.text)
        if (other === undefined || other.released === true || other.expiresAt < Date.now()) {
          body.expiresAt = Date.now() + timing.durationMs
          const taken = await bucket.put(key, JSON.stringify(body), { ifMatch: found.etag })
          if (taken !== undefined) return new Lease(bucket, key, body, timing, taken).start()
        } else if (Date.now() >= deadline) {
          throw new PipelineError('PIPE_ERR_BUSY',
            `another pipeline run holds ${where}: process ${other.pid} on ${other.host} (since ${other.since}; its lease runs to ` +
            `${new Date(other.expiresAt).toISOString()} unless renewed); wait for it, or pass --wait to queue behind it`, { path: where })
        }
      }
      // gone meanwhile, or another taker won the race: look again
      await new Promise((resolve) => setTimeout(resolve, found === undefined ? 0 : timing.pollMs))
    }
  }

  private start (): this {
    this.timer = setInterval(() => { this.renewing = this.renewing.then(async () => await this.renewOnce()) }, this.timing.renewEveryMs)
    this.timer.unref()
    return this
  }

  private async renewOnce (): Promise<void> {
    if (this.lostReason !== undefined) return
    if (Date.now() >= this.expiresAt) { this.lostReason = 'it expired before a renewal got through'; return }
    const next = { ...this.body, expiresAt: Date.now() + this.timing.durationMs }
    let etag: string | undefined
    try {
      etag = await this.bucket.put(this.key, JSON.stringify(next), { ifMatch: this.etag })
    } catch {
      return // S3 unreachable for a moment: the next renewal tries again, and expiry is checked above
    }
    if (etag === undefined) { this.lostReason = 'another run took it over'; return }
    this.etag = etag
    this.expiresAt = next.expiresAt
  }

  /** Renews now and fails when the lease is no longer this run's: called before the commit and before deleting. */
  async confirm (): Promise<void> {
    this.renewing = this.renewing.then(async () => await this.renewOnce())
    await this.renewing
    if (this.lostReason !== undefined) {
      throw new PipelineError('PIPE_ERR_LEASE_LOST', `this run lost its lease on the lakehouse (${this.lostReason}); nothing was committed: run again`)
    }
  }

  /** Frees the lakehouse for the next run at once (best effort: otherwise the lease expires). */
  async release (): Promise<void> {
    clearInterval(this.timer)
    await this.renewing
    if (this.lostReason !== undefined) return
    await this.bucket.put(this.key, JSON.stringify({ ...this.body, expiresAt: 0, released: true }), { ifMatch: this.etag }).catch(() => undefined)
  }
}

function parseBody (text: string): LeaseBody | undefined {
  try {
    const body = JSON.parse(text) as LeaseBody
    return typeof body.expiresAt === 'number' ? body : undefined
  } catch {
    return undefined
  }
}
