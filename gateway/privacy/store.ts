// The gateway's tombstones, in their own small file (privacy.sqlite in the state folder) beside the
// fingerprint of the key that made them: hashes only, never an email or serial number. Written
// before anything is scrubbed, so that an erasure cut short is finished by the next call, and so
// that a restarted gateway drops an erased customer's readings from its first message on.
import path from 'node:path'
import { IDENTITY_KINDS, type Tombstone } from '../../contracts/privacy.js'
import { type Database, openDatabase } from '../../common/sqlite.js'
import { GatewayError } from '../errors.js'

export const PRIVACY_FILE = 'privacy.sqlite'

const TABLES = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (
  kind TEXT NOT NULL,
  hash TEXT NOT NULL,
  erased_at INTEGER NOT NULL,
  PRIMARY KEY (kind, hash)
) WITHOUT ROWID;
`

export interface PrivacyStore {
  readonly db: Database
  /** the fingerprint of the key the tombstones were made with, undefined while there are none */
  fingerprint: () => Promise<string | undefined>
  tombstones: () => Promise<Tombstone[]>
  /** adds tombstones (a later erasedAt of one identity wins); returns how many were new or moved */
  add: (tombstones: readonly Tombstone[], fingerprint: string) => Promise<number>
  close: () => Promise<void>
}

export async function openPrivacyStore (stateDir: string): Promise<PrivacyStore> {
  const db = await openDatabase(path.join(stateDir, PRIVACY_FILE))
  try {
    await db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; ${TABLES}`)
  } catch (err) {
    await db.close().catch(() => undefined)
    throw new GatewayError('GW_ERR_STATE', `cannot open ${path.join(stateDir, PRIVACY_FILE)}: ${(err as Error).message}`, { cause: err })
  }
  return {
    db,
    fingerprint: async () => (await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'key_fingerprint'"))?.value,
    tombstones: async () => (await db.all<{ kind: Tombstone['kind'], hash: string, erased_at: number }>('SELECT kind, hash, erased_at FROM tombstones'))
      .map((r) => ({ kind: r.kind, hash: r.hash, erasedAt: r.erased_at })),
    add: async (tombstones, fingerprint) => {
      await db.exec('BEGIN IMMEDIATE')
      try {
        await db.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('key_fingerprint', ?)", [fingerprint])
        const { changes } = await db.run(
          `INSERT INTO tombstones (kind, hash, erased_at) SELECT value->>0, value->>1, value->>2 FROM json_each(?) WHERE true
           ON CONFLICT (kind, hash) DO UPDATE SET erased_at = excluded.erased_at WHERE excluded.erased_at > tombstones.erased_at`,
          [JSON.stringify(tombstones.map((t) => [t.kind, t.hash, t.erasedAt]))])
        await db.exec('COMMIT')
        return changes
      } catch (err) {
        await db.exec('ROLLBACK').catch(() => undefined)
        throw err
      }
    },
    close: async () => { await db.close() }
  }
}

/** Why a list of tombstones cannot be taken, or undefined: kinds, 64-hex hashes, whole epoch-ms times. */
export function tombstonesProblem (value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return 'tombstones must be a non-empty array'
  if (value.length > 100_000) return 'at most 100000 tombstones at once'
  for (const [i, t] of value.entries()) {
    const o = t as Record<string, unknown>
    if (typeof o !== 'object' || o === null) return `tombstones[${i}] must be an object`
    if (!(IDENTITY_KINDS as readonly unknown[]).includes(o.kind)) return `tombstones[${i}].kind must be one of ${IDENTITY_KINDS.join(', ')}`
    if (typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash)) return `tombstones[${i}].hash must be 64 lowercase hex digits (identityHash)`
    if (typeof o.erasedAt !== 'number' || !Number.isSafeInteger(o.erasedAt) || o.erasedAt < 0) return `tombstones[${i}].erasedAt must be epoch ms`
  }
  return undefined
}
