// The outbox's one write connection. SQLite lets one transaction write at a time; the group
// commits of the ack path, the ledger indexer, flush claims and pruning take turns here, each in
// its own short transaction, so that none of them holds the others back for long.
// A call into the sqlite3 package costs a round trip to its worker thread (about 0.1 ms here), so
// the hot paths send a whole transaction as one script: values go in as SQL literals of JSON text
// that the gateway made itself (sqlLiteral escapes them).
import type { Database } from '../../common/sqlite.js'

/** A text as an SQL string literal. */
export const sqlLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`

export class StateWriter {
  private lock: Promise<unknown> = Promise.resolve()
  /** the connection opens with synchronous = FULL */
  private durable = true
  constructor (readonly db: Database) {}

  /** Runs work alone on the connection (no transaction of its own). */
  async exclusive<T> (work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work)
    this.lock = run.catch(() => undefined)
    return await run
  }

  /**
   * Runs work in one IMMEDIATE transaction, alone on the connection; rolls back if it throws.
   * durable: false commits without waiting for the disk. That is safe for work that can be redone
   * from what is durable (the ledger index, a flush's completion, pruning): in WAL mode the log is
   * written in order, so the next durable commit makes it durable too, and a crash before that
   * loses only work that is then done again. It saves the ack path an fsync it would otherwise
   * queue behind.
   */
  async transaction<T> (work: (db: Database) => Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
    return await this.exclusive(async () => {
      await this.db.exec(`${this.syncPragma(options.durable ?? true)}BEGIN IMMEDIATE`)
      try {
        const result = await work(this.db)
        await this.db.exec('COMMIT')
        return result
      } catch (err) {
        await this.db.exec('ROLLBACK').catch(() => undefined)
        throw err
      }
    })
  }

  /** Runs statements as one transaction in one call; the caller holds the connection (exclusive). */
  async script (statements: readonly string[], options: { durable?: boolean } = {}): Promise<void> {
    if (statements.length === 0) return
    try {
      await this.db.exec(`${this.syncPragma(options.durable ?? true)}BEGIN IMMEDIATE;\n${statements.join(';\n')};\nCOMMIT`)
    } catch (err) {
      await this.db.exec('ROLLBACK').catch(() => undefined)
      throw err
    }
  }

  /** Resolves when everything queued so far has run. */
  async idle (): Promise<void> { await this.lock }

  private syncPragma (durable: boolean): string {
    if (durable === this.durable) return ''
    this.durable = durable
    return `PRAGMA synchronous = ${durable ? 'FULL' : 'NORMAL'};\n`
  }
}
