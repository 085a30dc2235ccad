// Pipeline state in SQLite (the sqlite3 package): which landing files were read, the run history,
// and every table version with its files and row count. A run holds one write transaction from
// start to commit: SQLite's lock is the "one run per lakehouse" guard (released by the OS if the
// process dies), and a run killed before its commit leaves no trace in the state.
import fs from 'node:fs/promises'
import path from 'node:path'
import { LAKEHOUSE_FORMAT_VERSION, STATE_DB, STATE_DIR, type TableName } from '../contracts/lakehouse.js'
import { type Database, isBusyError, openDatabase } from '../common/sqlite.js'
import { writeFileAtomic } from '../common/durable-fs.js'
import { PipelineError } from './errors.js'
import { loadSqlScript } from './sql.js'
import { IDENTITY_KINDS, type IdentityKind, type Tombstone } from '../contracts/privacy.js'
import type { DatasetName } from '../contracts/datasets.js'
import type { DatasetAccounting } from './report.js'
import type { RunAudit } from './privacy/audit.js'

export interface TableVersion {
  table: TableName
  version: number
  runId: number
  rows: number
  /** lakehouse-relative paths of the table's immutable files */
  files: string[]
}

export interface KnownFile { path: string, sha256: string, size: number, mtimeMs: number }

export interface NewLandingFile extends KnownFile {
  dataset: string
  records: number
  quarantined: number
}

/** Records a tombstone covered, per dataset: valid ones (filtered out as `erased`) and quarantined lines. */
export type ErasedCounts = Record<DatasetName, { records: number, quarantined: number }>

/** What the last run reported of its tables, for the next one to count on from (pipeline/zones). */
export interface CarriedFigures {
  accounting: Record<DatasetName, DatasetAccounting>
  crossCustomerPairs: number
  audit: RunAudit
}

/** A landing file retention deleted (its identity), with the run that read its rows. */
export interface RetiredFile { path: string, sha256: string, dataset: string, runId: number }

/** A landing file an erasure committed to rewrite: the identity its rewritten content will have. */
export interface PendingRewrite { path: string, identity: string }

export type RunStatus = 'ok' | 'unchanged' | 'erasure'

export interface RunRow {
  id: number
  startedAt: string
  finishedAt: string | null
  status: RunStatus | 'failed'
  options: Record<string, unknown>
  report: Record<string, unknown> | null
  error: string | null
}


export interface OpenStateOptions {
  /** create the lakehouse when it does not exist (writers); readers get PIPE_ERR_LAKEHOUSE_MISSING */
  create: boolean
  /** the lakehouse as messages name it, when the state is a local copy of one elsewhere (S3) */
  label?: string
}

export class StateStore {
  readonly lakehouseDir: string
  /** the lakehouse as messages name it */
  readonly label: string
  private readonly db: Database
  private inRun = false

  private constructor (lakehouseDir: string, db: Database, label: string) {
    this.lakehouseDir = lakehouseDir
    this.db = db
    this.label = label
  }

  /** true from beginRun until the run commits or aborts: only then may the run touch shared scratch */
  get holdsLock (): boolean {
    return this.inRun
  }

  static async open (lakehouseDir: string, options: OpenStateOptions): Promise<StateStore> {
    const root = path.resolve(lakehouseDir)
    const dbFile = path.join(root, STATE_DB)
    const hasState = await fs.stat(dbFile).then((s) => s.isFile(), () => false)
    if (!hasState) {
      const entries = await fs.readdir(root).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined
        if (err.code === 'ENOTDIR') return ['(a file)']
        throw err
      })
      if (!options.create || (entries !== undefined && entries.length > 0)) {
        if (entries === undefined) {
          throw new PipelineError('PIPE_ERR_LAKEHOUSE_MISSING',
            `no lakehouse at ${root}: run \`stedi pipeline run --lakehouse ${root}\` first`, { path: root })
        }
        throw new PipelineError('PIPE_ERR_NOT_A_LAKEHOUSE',
          `${root} is not a lakehouse (it is not empty and has no ${STATE_DB}): choose a new or empty folder`, { path: root })
      }
      await fs.mkdir(path.join(root, STATE_DIR), { recursive: true })
    }
    let db: Database
    try {
      db = await openDatabase(dbFile, { create: options.create, busyTimeoutMs: 5000 })
      await db.exec('PRAGMA synchronous = FULL')
      // only a new state needs the schema (a write, which would wait for a run holding the lock)
      const hasMeta = await db.get("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
      if (hasMeta === undefined && options.create) {
        await db.exec('PRAGMA journal_mode = WAL')
        await db.exec(loadSqlScript('state_schema'))
        await db.run('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', ['format_version', String(LAKEHOUSE_FORMAT_VERSION)])
      }
    } catch (err) {
      throw corrupt(dbFile, err)
    }
    const store = new StateStore(root, db, options.label ?? root)
    await store.checkFormat(dbFile)
    return store
  }

  private async checkFormat (dbFile: string): Promise<void> {
    let row: { value: string } | undefined
    try {
      row = await this.db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'format_version'")
    } catch (err) {
      await this.db.close()
      throw corrupt(dbFile, err)
    }
    if (row?.value !== String(LAKEHOUSE_FORMAT_VERSION)) {
      await this.db.close()
      throw new PipelineError('PIPE_ERR_LAKEHOUSE_VERSION',
        `lakehouse ${this.label} has format version ${row?.value ?? 'none'}, this stedi reads version ${LAKEHOUSE_FORMAT_VERSION}: ` +
        'use a new --lakehouse folder (the landing files are the source: a new lakehouse rebuilds from them)', { path: this.label })
    }
  }

  /**
   * Takes the lakehouse's write lock and opens the run. With waitMs = 0 a held lock fails at once
   * with PIPE_ERR_BUSY naming the holder; otherwise it waits up to waitMs.
   */
  async beginRun (options: Record<string, unknown>, waitMs: number): Promise<number> {
    const deadline = Date.now() + waitMs
    // SQLite's own busy wait would hide the holder; poll instead, so that waitMs = 0 fails at once
    await this.db.exec('PRAGMA busy_timeout = 0')
    for (;;) {
      try {
        await this.db.exec('BEGIN IMMEDIATE')
        break
      } catch (err) {
        if (!isBusyError(err)) throw corrupt(this.db.file, err)
        if (Date.now() >= deadline) throw await this.busyError()
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await this.db.exec('PRAGMA busy_timeout = 5000')
    this.inRun = true
    // a lakehouse made before erasure existed gains its tables here (every statement is IF NOT EXISTS)
    await this.db.exec(loadSqlScript('state_schema'))
    const startedAt = new Date().toISOString()
    const { lastID } = await this.db.run(
      "INSERT INTO runs (started_at, status, options) VALUES (?, 'running', ?)", [startedAt, JSON.stringify(options)])
    await writeFileAtomic(this.ownerFile(), JSON.stringify({ pid: process.pid, runId: lastID, startedAt }))
    return lastID
  }

  private ownerFile (): string {
    return path.join(this.lakehouseDir, STATE_DIR, 'run-owner.json')
  }

  private async busyError (): Promise<PipelineError> {
    const owner = await fs.readFile(this.ownerFile(), 'utf8').then((t) => JSON.parse(t) as { pid: number, startedAt: string }, () => undefined)
    const who = owner === undefined ? 'another process' : `process ${owner.pid} (since ${owner.startedAt})`
    return new PipelineError('PIPE_ERR_BUSY',
      `another pipeline run holds ${this.lakehouseDir}: ${who}; wait for it, or pass --wait to queue behind it`,
      { path: this.lakehouseDir })
  }

  async knownFiles (): Promise<{ byPath: Map<string, KnownFile>, identities: Set<string> }> {
    const rows = await this.db.all<{ path: string, sha256: string, size: number, mtime_ms: number, run_id: number }>(
      'SELECT path, sha256, size, mtime_ms, run_id FROM landing_files ORDER BY run_id')
    const byPath = new Map<string, KnownFile>()
    const identities = new Set<string>()
    for (const r of rows) {
      byPath.set(r.path, { path: r.path, sha256: r.sha256, size: r.size, mtimeMs: r.mtime_ms })
      identities.add(fileIdentity(r.path, r.sha256))
    }
    return { byPath, identities }
  }

  /** Per landing path, what its latest read found (records and quarantined lines). */
  async landingFileCounts (): Promise<Map<string, { records: number, quarantined: number }>> {
    const rows = await this.db.all<{ path: string, records: number, quarantined: number }>(
      'SELECT path, records, quarantined FROM landing_files ORDER BY run_id')
    return new Map(rows.map((r) => [r.path, { records: r.records, quarantined: r.quarantined }]))
  }

  async currentVersions (): Promise<Map<TableName, TableVersion>> {
    const rows = await this.db.all<{ table_name: TableName, version: number, run_id: number, rows: number, files: string }>(
      `SELECT v.table_name, v.version, v.run_id, v.rows, v.files FROM table_versions v
       JOIN (SELECT table_name, max(version) AS version FROM table_versions GROUP BY table_name) c
         ON c.table_name = v.table_name AND c.version = v.version`)
    return new Map(rows.map((r) => [r.table_name, toVersion(r)]))
  }

  /** Files of the current version and of the `keep` versions before it, per table: readers may still use them. */
  async retainedFiles (keep: number): Promise<Set<string>> {
    const rows = await this.db.all<{ files: string }>(
      `SELECT files FROM (
         SELECT files, row_number() OVER (PARTITION BY table_name ORDER BY version DESC) AS age FROM table_versions
       ) WHERE age <= ?`, [keep + 1])
    const files = new Set<string>()
    for (const r of rows) for (const f of JSON.parse(r.files) as string[]) files.add(f)
    return files
  }

  /** Every version a reader may still use (the current one and the `keep` before it), per table. */
  async retainedVersions (keep: number): Promise<TableVersion[]> {
    const rows = await this.db.all<{ table_name: TableName, version: number, run_id: number, rows: number, files: string }>(
      `SELECT table_name, version, run_id, rows, files FROM (
         SELECT *, row_number() OVER (PARTITION BY table_name ORDER BY version DESC) AS age FROM table_versions
       ) WHERE age <= ? ORDER BY table_name, version`, [keep + 1])
    return rows.map(toVersion)
  }

  /** The reports of erasures, newest first (they name tombstones by hash, never an identity). */
  async erasureReports (): Promise<Array<Record<string, unknown>>> {
    const rows = await this.db.all<{ report: string | null }>("SELECT report FROM runs WHERE status = 'erasure' ORDER BY id DESC")
    return rows.flatMap((r) => r.report === null ? [] : [JSON.parse(r.report) as Record<string, unknown>])
  }

  /** Inside a run: landing rewrites done (they leave the state at the run's commit). */
  async clearPendingRewrites (paths: readonly string[]): Promise<void> {
    for (const p of paths) await this.db.run('DELETE FROM pending_rewrites WHERE path = ?', [p])
  }

  /**
   * The figures of the run that made the current tables, for an incremental run to count on from:
   * undefined when there are none to trust (no such run, or an erasure changed the tables since).
   */
  async carriedFigures (): Promise<CarriedFigures | undefined> {
    const row = await this.db.get<{ status: string, report: string | null }>(
      "SELECT status, report FROM runs WHERE status IN ('ok', 'unchanged', 'erasure') ORDER BY id DESC LIMIT 1")
    if (row === undefined || row.status === 'erasure' || row.report === null) return undefined
    const report = JSON.parse(row.report) as { accounting?: CarriedFigures['accounting'] | null, warnings?: { crossCustomerPairs?: number | null }, audit?: CarriedFigures['audit'] }
    const pairs = report.warnings?.crossCustomerPairs
    if (report.accounting == null || typeof pairs !== 'number' || report.audit === undefined) return undefined
    return { accounting: report.accounting, crossCustomerPairs: pairs, audit: report.audit }
  }

  /** When the last run's next research consent comes due (epoch ms; null: none is dated ahead; undefined: not known). */
  async consentDueMs (): Promise<number | null | undefined> {
    const row = await this.db.get<{ report: string | null }>("SELECT report FROM runs WHERE status IN ('ok', 'unchanged') ORDER BY id DESC LIMIT 1")
    const due = row?.report == null ? undefined : (JSON.parse(row.report) as { consentDueMs?: number | null }).consentDueMs
    return typeof due === 'number' || due === null ? due : undefined
  }

  async lastOptions (): Promise<Record<string, unknown> | undefined> {
    const row = await this.db.get<{ options: string }>("SELECT options FROM runs WHERE status IN ('ok', 'unchanged') ORDER BY id DESC LIMIT 1")
    return row === undefined ? undefined : JSON.parse(row.options) as Record<string, unknown>
  }

  /** Whether erasure's tables exist (a lakehouse older than erasure, never run since, has none). */
  private async hasErasureTables (): Promise<boolean> {
    const row = await this.db.get("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'tombstones'")
    return row !== undefined
  }

  async tombstones (): Promise<Tombstone[]> {
    if (!await this.hasErasureTables()) return []
    const rows = await this.db.all<{ kind: IdentityKind, hash: string, erased_at: number }>('SELECT kind, hash, erased_at FROM tombstones ORDER BY kind, hash')
    return rows.filter((r) => IDENTITY_KINDS.includes(r.kind)).map((r) => ({ kind: r.kind, hash: r.hash, erasedAt: r.erased_at }))
  }

  async erasedCounts (): Promise<Partial<ErasedCounts>> {
    if (!await this.hasErasureTables()) return {}
    const rows = await this.db.all<{ dataset: DatasetName, records: number, quarantined: number }>('SELECT dataset, records, quarantined FROM erased_counts')
    return Object.fromEntries(rows.map((r) => [r.dataset, { records: r.records, quarantined: r.quarantined }]))
  }

  async pendingRewrites (): Promise<PendingRewrite[]> {
    if (!await this.hasErasureTables()) return []
    return await this.db.all<PendingRewrite>('SELECT path, identity FROM pending_rewrites ORDER BY path')
  }

  /** Inside a run: the landing files retention deleted, whose rows only the lakehouse still holds. */
  async retiredFiles (): Promise<RetiredFile[]> {
    return await this.db.all<RetiredFile>(
      `SELECT r.path, r.sha256, l.dataset, l.run_id AS runId FROM retired_landing_files r
       JOIN landing_files l ON l.path = r.path AND l.sha256 = r.sha256 ORDER BY r.path, l.run_id`)
  }

  /** How many landing files retention deleted (0 on a lakehouse that never ran with it). */
  async retiredCount (): Promise<number> {
    const exists = await this.db.get("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'retired_landing_files'")
    if (exists === undefined) return 0
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM retired_landing_files'))?.n ?? 0
  }

  async getMeta (key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]))?.value
  }

  /** Inside a run: the tombstones join the state at the run's commit (a later erasure of the same identity moves its time on). */
  async addTombstones (tombstones: readonly Tombstone[], keyFingerprint: string): Promise<void> {
    for (const t of tombstones) {
      await this.db.run(
        `INSERT INTO tombstones (kind, hash, erased_at) VALUES (?, ?, ?)
         ON CONFLICT (kind, hash) DO UPDATE SET erased_at = max(erased_at, excluded.erased_at)`, [t.kind, t.hash, t.erasedAt])
    }
    await this.db.run("INSERT INTO meta (key, value) VALUES ('privacy_key_fingerprint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [keyFingerprint])
  }

  /**
   * Frees the space of deleted rows and folds the log into the database file, so that nothing an
   * erasure deleted survives in free pages or the write-ahead log. Outside a run (VACUUM cannot run
   * in a transaction); waits for a run holding the lock.
   */
  async compact (): Promise<void> {
    await this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    await this.db.exec('VACUUM')
    await this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  }

  /** Records what the run produced and commits: the single moment the new versions become current. */
  async commitRun (runId: number, input: {
    status: RunStatus
    fullRefresh: boolean
    files: NewLandingFile[]
    versions: TableVersion[]
    report: Record<string, unknown>
    /** existing versions whose files an erasure rewrote (same version number, new files and row count) */
    replaced?: TableVersion[]
    /** records a tombstone covered in this run, added to the totals (a full refresh starts them again) */
    erased?: Partial<ErasedCounts>
    /** landing rewrites to remember (set) or that are done (clear) */
    pending?: { set?: PendingRewrite[], clear?: string[] }
    /** landing files (path and identity) this run retires: deleted after the commit */
    retired?: ReadonlyArray<{ path: string, sha256: string }>
  }): Promise<void> {
    if (input.fullRefresh) {
      // a retired file's rows are carried into the rebuilt landing: it stays read
      await this.db.run(`DELETE FROM landing_files WHERE NOT EXISTS (
        SELECT 1 FROM retired_landing_files r WHERE r.path = landing_files.path AND r.sha256 = landing_files.sha256)`)
      await this.db.run('DELETE FROM erased_counts')
    }
    for (const v of input.replaced ?? []) {
      await this.db.run('UPDATE table_versions SET files = ?, rows = ? WHERE table_name = ? AND version = ?',
        [JSON.stringify(v.files), v.rows, v.table, v.version])
    }
    for (const [dataset, n] of Object.entries(input.erased ?? {})) {
      if (n.records === 0 && n.quarantined === 0) continue
      await this.db.run(
        `INSERT INTO erased_counts (dataset, records, quarantined) VALUES (?, ?, ?)
         ON CONFLICT (dataset) DO UPDATE SET records = records + excluded.records, quarantined = quarantined + excluded.quarantined`,
        [dataset, n.records, n.quarantined])
    }
    for (const p of input.pending?.set ?? []) {
      await this.db.run('INSERT INTO pending_rewrites (path, identity) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET identity = excluded.identity', [p.path, p.identity])
    }
    for (const p of input.pending?.clear ?? []) await this.db.run('DELETE FROM pending_rewrites WHERE path = ?', [p])
    for (const f of input.files) {
      await this.db.run(
        `INSERT INTO landing_files (path, sha256, dataset, size, mtime_ms, run_id, records, quarantined)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (path, sha256) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms`,
        [f.path, f.sha256, f.dataset, f.size, f.mtimeMs, runId, f.records, f.quarantined])
    }
    const retiredAt = new Date().toISOString()
    for (const f of input.retired ?? []) {
      await this.db.run('INSERT INTO retired_landing_files (path, sha256, retired_at) VALUES (?, ?, ?) ON CONFLICT (path, sha256) DO NOTHING',
        [f.path, f.sha256, retiredAt])
    }
    for (const v of input.versions) {
      await this.db.run('INSERT INTO table_versions (table_name, version, run_id, rows, files) VALUES (?, ?, ?, ?, ?)',
        [v.table, v.version, runId, v.rows, JSON.stringify(v.files)])
    }
    await this.db.run('UPDATE runs SET finished_at = ?, status = ?, report = ? WHERE id = ?',
      [new Date().toISOString(), input.status, JSON.stringify(input.report), runId])
    await this.db.exec('COMMIT')
    this.inRun = false
  }

  /**
   * A copy of the state as last committed, into a new file. VACUUM INTO reads as any reader does: a
   * run holding the lock (the state is in WAL mode) neither waits for it nor holds it up.
   */
  async copyTo (file: string): Promise<void> {
    try {
      await this.db.run('VACUUM INTO ?', [file])
    } catch (err) {
      throw corrupt(this.db.file, err)
    }
  }

  /** Folds the write-ahead log into the database file, so that the file alone is the whole state (to copy it elsewhere). */
  async checkpoint (): Promise<void> {
    await this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  }

  /** Rolls the run back (nothing it did becomes current) and records that it failed. */
  async abortRun (runId: number, options: Record<string, unknown>, error: string): Promise<void> {
    if (!this.inRun) return
    await this.db.exec('ROLLBACK')
    this.inRun = false
    await this.db.run("INSERT INTO runs (id, started_at, finished_at, status, options, error) VALUES (?, ?, ?, 'failed', ?, ?)",
      [runId, new Date().toISOString(), new Date().toISOString(), JSON.stringify(options), error]).catch(() => undefined)
  }

  async runs (limit: number): Promise<RunRow[]> {
    return (await this.db.all<RunRecord>('SELECT * FROM runs ORDER BY id DESC LIMIT ?', [limit])).map(toRun)
  }

  /** One run of the history, or undefined (the privacy audit reads the options and start of the run that built a table). */
  async run (id: number): Promise<RunRow | undefined> {
    const r = await this.db.get<RunRecord>('SELECT * FROM runs WHERE id = ?', [id])
    return r === undefined ? undefined : toRun(r)
  }

  /** The landing files of a dataset the state records as read, with the run that read each. */
  /** The landing files of a dataset the state records as read, with the run that recorded each (an erasure records the rewritten content of a file read before). */
  async landingFilesRead (dataset: DatasetName): Promise<Array<{ path: string, sha256: string, runId: number, byErasure: boolean }>> {
    const rows = await this.db.all<{ path: string, sha256: string, runId: number, status: string | null }>(
      `SELECT f.path, f.sha256, f.run_id AS runId, r.status FROM landing_files f LEFT JOIN runs r ON r.id = f.run_id
       WHERE f.dataset = ? ORDER BY f.run_id, f.path`, [dataset])
    return rows.map((r) => ({ path: r.path, sha256: r.sha256, runId: r.runId, byErasure: r.status === 'erasure' }))
  }

  async close (): Promise<void> {
    if (this.inRun) {
      await this.db.exec('ROLLBACK').catch(() => undefined)
      this.inRun = false
    }
    await this.db.close()
  }
}

export const fileIdentity = (relPath: string, sha256: string): string => `${relPath}\u0000${sha256}`

interface RunRecord { id: number, started_at: string, finished_at: string | null, status: RunRow['status'], options: string, report: string | null, error: string | null }

function toRun (r: RunRecord): RunRow {
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    options: JSON.parse(r.options) as Record<string, unknown>,
    report: r.report === null ? null : JSON.parse(r.report) as Record<string, unknown>,
    error: r.error
  }
}

function toVersion (r: { table_name: TableName, version: number, run_id: number, rows: number, files: string }): TableVersion {
  return { table: r.table_name, version: r.version, runId: r.run_id, rows: r.rows, files: JSON.parse(r.files) as string[] }
}

function corrupt (file: string, err: unknown): PipelineError {
  return new PipelineError('PIPE_ERR_STATE_CORRUPT',
    `cannot read pipeline state ${file} (${(err as Error).message}): restore it, or point --lakehouse at a new folder to rebuild from landing`,
    { path: file, cause: err })
}
