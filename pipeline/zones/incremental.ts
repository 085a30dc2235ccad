// The zone jobs of a run with new landing rows, touching only what is new. Each table follows its
// seed job's rule exactly; the incremental path only decides which rows to look at:
// - customer_trusted is recomputed whole (a few rows per customer), and compared with the previous
//   version: the customers whose trusted row changed (a withdrawal, a grant, a superseding record, a
//   consent dated in the future that has come due) are judged anew, downstream, over all their rows;
// - every other trusted or curated table keeps its previous rows, adds the new landing rows that pass
//   and are not there yet, and for changed customers (their serial numbers, downstream of curated)
//   replaces their rows with a recomputation from landing;
// - a table only grows: a delta file appended to its version; one that loses rows, or has gathered
//   MAX_DELTAS deltas, is written again as one base file.
// The result is the same rows as the full jobs (pipeline/zones/full.ts) over the same landing; the
// tests hold the two to it through sequences of runs, and `stedi pipeline verify` checks it on a
// lakehouse. The SQL is in sql/incremental_*.sql.
import type { TableName } from '../../contracts/lakehouse.js'
import { defineTableView } from '../catalog.js'
import { loadSql } from '../sql.js'
import type { TableVersion } from '../state.js'
import { type ZoneContext, type ZoneResult, writeTableFile } from './context.js'

/** Past this many deltas a table is written again as one base file (readers open every file of a version). */
export const MAX_DELTAS = 32

/** What the run judged anew and what it added and removed, for the reports that follow the jobs. */
export interface IncrementalScope {
  /** customers whose trusted row changed (table changed_customers) */
  changedCustomers: number
  /** serial numbers whose curated owners changed (table changed_serials) */
  changedSerials: number
  /** machine-learning rows removed (view ml_removed) and added (table ml_added) */
  mlRemoved: number
  mlAdded: number
}

export interface IncrementalResult extends ZoneResult { scope: IncrementalScope }

const JOB_TABLES = ['customer_trusted', 'accelerometer_trusted', 'customer_curated', 'step_trainer_trusted', 'machine_learning_curated'] as const

export async function promoteIncrementally (ctx: ZoneContext, hooks: { lap?: (name: string) => void } = {}): Promise<IncrementalResult> {
  const { engine } = ctx
  const lap = hooks.lap ?? (() => {})
  const versions: TableVersion[] = []
  const written: string[] = []
  const count = async (from: string): Promise<number> => Number((await engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${from}`))[0].n)
  const prev = (table: TableName): TableVersion => ctx.current.get(table)!

  for (const table of JOB_TABLES) await defineView(ctx, `${table}_previous`, table, prev(table).files)
  for (const dataset of ['customer', 'accelerometer', 'step_trainer'] as const) {
    const landing = `${dataset}_landing` as TableName
    const part = ctx.newLandingParts.get(landing)
    await defineView(ctx, `${landing}_new`, landing, part === undefined ? [] : [part])
  }

  // 1. customer_trusted, whole, and who changed (nobody, when no record is new and no consent came due)
  if (ctx.customersMayChange) {
    await engine.exec(`CREATE OR REPLACE TEMP TABLE customer_trusted_next AS ${loadSql('customer_landing_to_trusted')}`)
    await engine.exec('CREATE OR REPLACE VIEW customer_trusted AS SELECT * FROM customer_trusted_next')
    await engine.exec(`CREATE OR REPLACE TEMP TABLE changed_customers AS ${loadSql('incremental_customer_changes')}`)
  } else {
    await engine.exec('CREATE OR REPLACE VIEW customer_trusted AS SELECT * FROM customer_trusted_previous')
    await engine.exec('CREATE OR REPLACE TEMP TABLE changed_customers AS SELECT email FROM customer_trusted_previous WHERE false')
  }
  const changedCustomers = await count('changed_customers')
  // whose readings may count otherwise now (a changed trusted row, or a new record: known now), read
  // from landing once, for their trusted rows and for the accounting
  await engine.exec(`CREATE OR REPLACE TEMP TABLE restanding_users AS
    SELECT email FROM changed_customers UNION SELECT email FROM customer_landing_new`)
  await restanding(ctx, 'accelerometer_landing', '"user"', 'restanding_users', 'email')
  await settle(ctx, 'customer_trusted', changedCustomers > 0 ? { rewrite: 'SELECT * FROM customer_trusted_next' } : undefined, versions, written)
  lap('job:customer_landing_to_trusted')

  // 2. accelerometer_trusted
  await promoteReadings(ctx, { table: 'accelerometer_trusted', added: 'accelerometer_added', time: '"timestamp"', key: '"user"', changed: ['changed_customers', 'email', changedCustomers] }, versions, written)
  lap('job:accelerometer_landing_to_trusted_zone')

  // 3. customer_curated, whole, and which trainers' owners changed
  await engine.exec(`CREATE OR REPLACE TEMP TABLE customer_curated_next AS ${loadSql('incremental_customer_curated')}`)
  await engine.exec('CREATE OR REPLACE VIEW customer_curated AS SELECT * FROM customer_curated_next')
  await engine.exec(`CREATE OR REPLACE TEMP TABLE changed_serials AS ${loadSql('incremental_curated_changes')}`)
  const changedSerials = await count('changed_serials')
  // the trainers: curated owners changed, or a changed customer's or a new record's serial (before and after)
  await engine.exec(`CREATE OR REPLACE TEMP TABLE restanding_serials AS
    SELECT serialNumber FROM changed_serials
    UNION SELECT serialNumber FROM customer_landing_new
    UNION SELECT serialNumber FROM customer_trusted_previous WHERE email IN (SELECT email FROM changed_customers)
    UNION SELECT serialNumber FROM customer_trusted WHERE email IN (SELECT email FROM changed_customers)`)
  await restanding(ctx, 'step_trainer_landing', 'serialNumber', 'restanding_serials', 'serialNumber')
  await settle(ctx, 'customer_curated', changedSerials > 0 ? { rewrite: 'SELECT * FROM customer_curated_next' } : undefined, versions, written)
  lap('job:customer_trusted_to_curated')

  // 4. step_trainer_trusted
  await promoteReadings(ctx, { table: 'step_trainer_trusted', added: 'step_trainer_added', time: 'sensorReadingTime', key: 'serialNumber', changed: ['changed_serials', 'serialNumber', changedSerials] }, versions, written)
  lap('job:trainer_landing_to_trusted')

  // 5. machine_learning_curated: the pairs of added readings, and no pair of a changed customer's or trainer's old rows
  await engine.exec(`CREATE OR REPLACE VIEW accelerometer_trusted_near_trainer_added AS ${await near(ctx, 'accelerometer_trusted', '"timestamp"', 'step_trainer_added', 'sensorReadingTime')}`)
  await engine.exec(`CREATE OR REPLACE VIEW step_trainer_kept_near_added AS SELECT * FROM (${await near(ctx, 'step_trainer_trusted_previous', 'sensorReadingTime', 'accelerometer_added', '"timestamp"')})
    WHERE serialNumber NOT IN (SELECT serialNumber FROM changed_serials)`)
  await engine.exec(`CREATE OR REPLACE TEMP TABLE ml_added AS ${loadSql('incremental_machine_learning_added')}`)
  const removedWhere = '(serialNumber IN (SELECT serialNumber FROM changed_serials) OR "user" IN (SELECT email FROM changed_customers))'
  await engine.exec(`CREATE OR REPLACE VIEW ml_removed AS SELECT * FROM machine_learning_curated_previous WHERE ${changedCustomers + changedSerials > 0 ? removedWhere : 'false'}`)
  const mlRemoved = changedCustomers + changedSerials > 0 ? await count('ml_removed') : 0
  await extend(ctx, 'machine_learning_curated', 'ml_added',
    mlRemoved > 0 ? `SELECT * FROM machine_learning_curated_previous WHERE NOT ${removedWhere}` : undefined, versions, written)
  const mlAdded = await count('ml_added')
  lap('job:trainer_trusted_to_curated')

  return { versions, written, scope: { changedCustomers, changedSerials, mlRemoved, mlAdded } }
}

/** `<landing>_restanding`: the landing rows whose key is in the table of keys (none read when it is empty). */
async function restanding (ctx: ZoneContext, landing: string, key: string, keys: string, column: string): Promise<void> {
  const [{ n }] = await ctx.engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${keys}`)
  await ctx.engine.exec(`CREATE OR REPLACE TEMP TABLE ${landing}_restanding AS
    SELECT * FROM ${Number(n) === 0 ? `${landing}_new WHERE false` : `${landing} WHERE ${key} IN (SELECT ${column} FROM ${keys})`}`)
}

/** The readings of one trusted table (its rule in sql/incremental_<dataset>_added.sql, whose output is `added`). */
interface Readings {
  table: 'accelerometer_trusted' | 'step_trainer_trusted'
  added: string
  /** the time column, and the column that names whose readings they are */
  time: string
  key: string
  /** the table of changed keys, its column, and how many */
  changed: [table: string, column: string, count: number]
}

/**
 * A trusted readings table: the new landing rows that pass, and for the changed customers (or
 * trainers) every row again, their old ones removed (the table is then written again whole).
 */
async function promoteReadings (ctx: ZoneContext, r: Readings, versions: TableVersion[], written: string[]): Promise<void> {
  const dataset = r.table.replace(/_trusted$/, '')
  const [changedTable, changedColumn, changed] = r.changed
  const isChanged = `${r.key} IN (SELECT ${changedColumn} FROM ${changedTable})`
  await ctx.engine.exec(`CREATE OR REPLACE VIEW ${r.table}_near_new AS ${await near(ctx, `${r.table}_previous`, r.time, `${dataset}_landing_new`, r.time)}`)
  await ctx.engine.exec(`CREATE OR REPLACE TEMP TABLE ${r.added} AS ${loadSql(`incremental_${r.added}`)}`)
  const [{ n }] = changed === 0 ? [{ n: 0 }] : await ctx.engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${r.table}_previous WHERE ${isChanged}`)
  await extend(ctx, r.table, r.added, Number(n) > 0 ? `SELECT * FROM ${r.table}_previous WHERE NOT ${isChanged}` : undefined, versions, written)
}

/**
 * The rows of `from` whose `column` lies within the time span of `of`'s `ofColumn`, as a query. The
 * bounds are written in as constants: DuckDB then skips every Parquet row group outside them (the
 * table files are sorted by that column), which is what keeps a small run from reading a big table.
 */
async function near (ctx: ZoneContext, from: string, column: string, of: string, ofColumn: string): Promise<string> {
  const [span] = await ctx.engine.rows<{ lo: number | bigint | null, hi: number | bigint | null }>(`SELECT min(${ofColumn}) AS lo, max(${ofColumn}) AS hi FROM ${of}`)
  if (span.lo === null || span.hi === null) return `SELECT * FROM ${from} WHERE false`
  return `SELECT * FROM ${from} WHERE ${column} BETWEEN ${String(span.lo)} AND ${String(span.hi)}`
}

/**
 * The next version of a table that gains `added`'s rows: a delta file on the previous version, or,
 * when rows go (`kept` names the rows that stay) or the deltas are many, one new base file. A table
 * that neither gains nor loses keeps its version.
 */
async function extend (ctx: ZoneContext, table: TableName, added: string, kept: string | undefined, versions: TableVersion[], written: string[]): Promise<void> {
  const prev = ctx.current.get(table)!
  const [{ n }] = await ctx.engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${added}`)
  const gained = Number(n)
  if (kept === undefined && gained === 0) {
    await defineTableView(ctx.engine, table, prev.files.map(ctx.uri))
    return
  }
  let version: TableVersion
  if (kept !== undefined || prev.files.length - 1 >= MAX_DELTAS) {
    const file = ctx.newFile(table, 'base')
    const rows = await writeTableFile(ctx, table, `SELECT * FROM ${added}`, file, kept ?? `SELECT * FROM ${table}_previous`)
    version = { table, version: prev.version + 1, runId: ctx.runId, rows, files: [file] }
  } else {
    const file = ctx.newFile(table, 'delta')
    const rows = await writeTableFile(ctx, table, `SELECT * FROM ${added}`, file)
    version = { table, version: prev.version + 1, runId: ctx.runId, rows: prev.rows + rows, files: [...prev.files, file] }
  }
  versions.push(version)
  written.push(version.files[version.files.length - 1])
  await defineTableView(ctx.engine, table, version.files.map(ctx.uri))
}

/** A whole-table job's next version: written again when it changed, else the previous one stays. */
async function settle (ctx: ZoneContext, table: TableName, change: { rewrite: string } | undefined, versions: TableVersion[], written: string[]): Promise<void> {
  const prev = ctx.current.get(table)!
  if (change === undefined) return
  const file = ctx.newFile(table, 'base')
  const rows = await writeTableFile(ctx, table, change.rewrite, file)
  versions.push({ table, version: prev.version + 1, runId: ctx.runId, rows, files: [file] })
  written.push(file)
}

/** A view named `name` with `table`'s columns over these lakehouse files (empty when there are none). */
async function defineView (ctx: ZoneContext, name: string, table: TableName, files: readonly string[]): Promise<void> {
  await defineTableView(ctx.engine, table, files.map(ctx.uri), name)
}
