// A promise face for the sqlite3 package (async, off the main thread), shared by the pipeline's
// state store and the gateway's outbox. One connection per Database; statements run in order.
import sqlite3 from 'sqlite3'

export interface RunResult { changes: number, lastID: number }

export interface Database {
  readonly file: string
  run: (sql: string, params?: unknown[]) => Promise<RunResult>
  get: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T | undefined>
  all: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>
  exec: (sql: string) => Promise<void>
  close: () => Promise<void>
}

export interface OpenOptions {
  /** create the file when missing (default true) */
  create?: boolean
  readOnly?: boolean
  /** how long a statement waits for another connection's lock; 0 fails at once with SQLITE_BUSY */
  busyTimeoutMs?: number
}

export async function openDatabase (file: string, options: OpenOptions = {}): Promise<Database> {
  const { create = true, readOnly = false, busyTimeoutMs = 5000 } = options
  const mode = readOnly
    ? sqlite3.OPEN_READONLY
    : sqlite3.OPEN_READWRITE | (create ? sqlite3.OPEN_CREATE : 0)
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const handle: sqlite3.Database = new sqlite3.Database(file, mode, (err) => {
      if (err != null) reject(err)
      else resolve(handle)
    })
  })
  db.configure('busyTimeout', busyTimeoutMs)
  return {
    file,
    run: async (sql, params = []) => await new Promise((resolve, reject) => {
      db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err != null) reject(err)
        else resolve({ changes: this.changes, lastID: this.lastID })
      })
    }),
    get: async <T>(sql: string, params: unknown[] = []) => await new Promise<T | undefined>((resolve, reject) => {
      db.get(sql, params, (err: Error | null, row: T | undefined) => { if (err != null) reject(err); else resolve(row) })
    }),
    all: async <T>(sql: string, params: unknown[] = []) => await new Promise<T[]>((resolve, reject) => {
      db.all(sql, params, (err: Error | null, rows: T[]) => { if (err != null) reject(err); else resolve(rows) })
    }),
    exec: async (sql) => await new Promise((resolve, reject) => {
      db.exec(sql, (err) => { if (err != null) reject(err); else resolve() })
    }),
    close: async () => await new Promise((resolve, reject) => {
      db.close((err) => { if (err != null) reject(err); else resolve() })
    })
  }
}

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock. */
export function isBusyError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}
