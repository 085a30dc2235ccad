// One gateway per state folder. Two gateways on one outbox would both say ready and the second
// would fail every publish; so the first holds an exclusive SQLite lock on `owner.lock` for as long
// as it runs (the OS releases it if the process dies, so a crash never leaves a stale lock), and
// writes who it is beside it, so the second can name the holder and exit.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { type Database, isBusyError, openDatabase } from '../../common/sqlite.js'
import { GatewayError } from '../errors.js'

export interface StateLock { release: () => Promise<void> }

export interface Holder { pid: number, host: string, since: string, ports?: Record<string, number> }

const LOCK_FILE = 'owner.lock'
const HOLDER_FILE = 'owner.json'

export async function acquireStateLock (stateDir: string): Promise<StateLock & { describe: (ports: Record<string, number>) => Promise<void> }> {
  await fs.mkdir(stateDir, { recursive: true })
  const db: Database = await openDatabase(path.join(stateDir, LOCK_FILE), { busyTimeoutMs: 0 })
  try {
    // rollback journal and exclusive locking mode: the lock is taken by the first write and kept
    await db.exec('PRAGMA journal_mode = DELETE; PRAGMA locking_mode = EXCLUSIVE;')
    await db.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY, pid INTEGER)')
    await db.exec('BEGIN EXCLUSIVE')
    await db.run('INSERT OR REPLACE INTO owner (id, pid) VALUES (1, ?)', [process.pid])
  } catch (err) {
    await db.close().catch(() => undefined)
    if (!isBusyError(err)) throw new GatewayError('GW_ERR_STATE', `cannot lock the gateway state in ${stateDir}: ${(err as Error).message}`, { cause: err })
    const holder = await fs.readFile(path.join(stateDir, HOLDER_FILE), 'utf8').then((t) => JSON.parse(t) as Holder, () => undefined)
    const who = holder === undefined
      ? 'another process'
      : `gateway pid ${holder.pid} on ${holder.host} since ${holder.since}${holder.ports !== undefined ? ` (${Object.entries(holder.ports).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`
    throw new GatewayError('GW_ERR_STATE_BUSY', `the gateway state ${stateDir} is in use by ${who}: one gateway per --state folder`)
  }
  const holderFile = path.join(stateDir, HOLDER_FILE)
  const write = async (holder: Holder): Promise<void> => { await fs.writeFile(holderFile, JSON.stringify(holder) + '\n') }
  const base: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() }
  await write(base)
  let released = false
  return {
    describe: async (ports) => { await write({ ...base, ports }) },
    release: async () => {
      if (released) return
      released = true
      await fs.rm(holderFile, { force: true })
      await db.exec('ROLLBACK').catch(() => undefined)
      await db.close()
    }
  }
}
