// What erasure means, for every place that applies it (gateway, embedded pipeline, Spark jobs):
// which record fields identify a customer, which field dates a record, and the keyed hash that a
// tombstone holds instead of the value. scripts/stedi_spark/privacy.py is the same in Python; a
// test holds the two to the same hashes.
import { createHmac } from 'node:crypto'
import type { DatasetName } from './datasets.js'

export const IDENTITY_KINDS = ['email', 'serial'] as const
export type IdentityKind = (typeof IDENTITY_KINDS)[number]

/**
 * The keyed hash of an identity: HMAC-SHA256(key, `<kind>:<value>`), lowercase hex. Keyed, so that
 * a tombstone cannot be tested against a list of known emails by whoever reads the state; the kind
 * is inside, so that an email and a serial number never share a hash.
 */
export function identityHash (key: Uint8Array, kind: IdentityKind, value: string): string {
  return createHmac('sha256', key).update(`${kind}:${value}`, 'utf8').digest('hex')
}

/** Names the key without revealing it: stored beside tombstones so that a run with another key is refused. */
export function keyFingerprint (key: Uint8Array): string {
  return createHmac('sha256', key).update('stedi-privacy-key-fingerprint', 'utf8').digest('hex').slice(0, 16)
}

/** An erased identity: covers that identity's records dated at or before `erasedAt` (epoch ms). */
export interface Tombstone {
  readonly kind: IdentityKind
  readonly hash: string
  readonly erasedAt: number
}

export interface ErasureFields {
  /** record fields whose exact value identifies a customer, and the kind of identity each is */
  readonly match: ReadonlyArray<readonly [field: string, kind: IdentityKind]>
  /**
   * the field that dates a record: a tombstone covers records dated at or before its erasure, so a
   * customer who registers again later, or the next owner of a resold trainer, is not silenced.
   * A record without a date is covered.
   */
  readonly time: string
}

export const ERASURE_FIELDS: Readonly<Record<DatasetName, ErasureFields>> = Object.freeze({
  customer: Object.freeze({ match: Object.freeze([['email', 'email'] as const]), time: 'lastUpdateDate' }),
  accelerometer: Object.freeze({ match: Object.freeze([['user', 'email'] as const]), time: 'timestamp' }),
  step_trainer: Object.freeze({ match: Object.freeze([['serialNumber', 'serial'] as const]), time: 'sensorReadingTime' })
})

/**
 * Columns of the zone tables that hold an identity (a row holding an erased one goes). Landing and
 * trusted tables carry their dataset's fields; the machine-learning table holds both a trainer's
 * serial number and a phone's user: a row pairing an erased customer's trainer with somebody
 * else's phone goes too.
 */
export const IDENTITY_COLUMNS: ReadonlyArray<readonly [column: string, kind: IdentityKind]> = Object.freeze([
  ['email', 'email'], ['user', 'email'], ['serialNumber', 'serial']
] as const)

/**
 * The JSON string literals of a line that could not be read as a record (a quarantined line): each
 * is tested as an email and as a serial number, so a malformed line that names an erased customer
 * goes as well. Exact values only: `"bob@x.com"` never matches inside `"ann.bob@x.com"`.
 */
export function stringLiterals (raw: string): string[] {
  const out: string[] = []
  for (const m of raw.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    let value = m[1]
    if (value.includes('\\')) {
      try { value = JSON.parse(`"${value}"`) as string } catch { /* kept as written */ }
    }
    out.push(value)
  }
  return out
}

/** Matches values against a set of tombstones (one hash per value and kind, cached: a dataset has few distinct identities). */
export class TombstoneMatcher {
  private readonly byKey = new Map<string, number>()
  private readonly cache = new Map<string, number | null>()

  constructor (private readonly key: Uint8Array, tombstones: Iterable<Tombstone>) {
    for (const t of tombstones) {
      const k = `${t.kind}:${t.hash}`
      this.byKey.set(k, Math.max(this.byKey.get(k) ?? -Infinity, t.erasedAt))
    }
  }

  get size (): number { return this.byKey.size }

  /** the erasure time covering this identity, or undefined */
  erasedAt (kind: IdentityKind, value: string): number | undefined {
    if (this.byKey.size === 0) return undefined
    const c = `${kind}:${value}`
    let at = this.cache.get(c)
    if (at === undefined) {
      at = this.byKey.get(`${kind}:${identityHash(this.key, kind, value)}`) ?? null
      this.cache.set(c, at)
    }
    return at ?? undefined
  }

  /** whether a record of a dataset (a parsed object) is covered by a tombstone */
  coversRecord (dataset: DatasetName, record: Record<string, unknown>): boolean {
    const spec = ERASURE_FIELDS[dataset]
    for (const [field, kind] of spec.match) {
      const value = record[field]
      if (typeof value !== 'string') continue
      const at = this.erasedAt(kind, value)
      if (at === undefined) continue
      const time = record[spec.time]
      if (typeof time !== 'number' || time <= at) return true
    }
    return false
  }

  /** whether a line that is not a readable record names an erased identity */
  coversRaw (raw: string): boolean {
    if (this.byKey.size === 0) return false
    return stringLiterals(raw).some((v) => IDENTITY_KINDS.some((k) => this.erasedAt(k, v) !== undefined))
  }
}
