// Where every landing record went: landing = trusted + filtered by reason, per dataset, checked before
// a run commits. A full run counts every record (sql/accounting_<dataset>.sql). An incremental run
// counts what changed: the previous run's counts, less the records of the customers (or trainers)
// whose standing changed, counted as they stood before, plus those records counted as they stand now,
// plus the new records of everyone else. The same SQL files do both: each classifies the records it
// is given one by one, so it is run over a scope (its input tables shadowed by CTEs of the same names).
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import { ACCOUNTING_QUERIES } from '../../contracts/jobs.js'
import { type TableName, landingTableOf, quarantineTableOf } from '../../contracts/lakehouse.js'
import type { SqlEngine } from '../engine/duckdb.js'
import { PipelineError } from '../errors.js'
import type { DatasetAccounting } from '../report.js'
import { loadSql } from '../sql.js'

/** The SQL's own counts by reason, `kept` included (kept beyond trusted are duplicates). */
export type RawCounts = Record<string, number>

/** The tables an accounting query reads, each as a query (absent: the view of that name). */
export type Scope = Partial<Record<'accelerometer_landing' | 'step_trainer_landing' | 'customer_landing' | 'customer_trusted' | 'customer_curated', string>>

export async function rawCounts (engine: SqlEngine, dataset: DatasetName, scope: Scope = {}): Promise<RawCounts> {
  const shadows = Object.entries(scope).map(([name, query]) => `${name} AS (${query})`)
  const sql = loadSql(ACCOUNTING_QUERIES[dataset])
  const rows = await engine.rows<{ reason: string, records: number }>(shadows.length === 0 ? sql : `WITH ${shadows.join(', ')} SELECT * FROM (${sql})`)
  return Object.fromEntries(rows.map((r) => [r.reason, Number(r.records)]))
}

/** Counts added to counts (`sign` -1 takes them away). */
export function addCounts (a: RawCounts, b: RawCounts, sign: 1 | -1 = 1): RawCounts {
  const out = { ...a }
  for (const [reason, n] of Object.entries(b)) out[reason] = (out[reason] ?? 0) + sign * n
  for (const [reason, n] of Object.entries(out)) if (n === 0) delete out[reason]
  return out
}

/** The raw counts a run report's accounting was made from (the inverse of settleAccounting). */
export function rawFromReport (dataset: DatasetName, a: DatasetAccounting): RawCounts {
  const raw: RawCounts = {}
  for (const [reason, n] of Object.entries(a.filtered)) if (reason !== 'erased' && reason !== 'duplicate') raw[reason] = n
  if (dataset === 'customer') raw.trusted = a.trusted
  else raw.kept = a.trusted + (a.filtered.duplicate ?? 0)
  for (const [reason, n] of Object.entries(raw)) if (n === 0) delete raw[reason]
  return raw
}

/**
 * A dataset's accounting from its raw counts, checked: landing (with the records tombstones took)
 * must equal trusted plus every reason, or the run is not committed.
 */
export function settleAccounting (dataset: DatasetName, raw: RawCounts, rowsOf: (t: TableName) => number, erased: number): DatasetAccounting {
  const landing = rowsOf(landingTableOf(dataset)) + erased
  const trusted = rowsOf(`${dataset}_trusted` as TableName)
  const filtered: Record<string, number> = erased > 0 ? { erased } : {}
  if (dataset === 'customer') {
    for (const [reason, n] of Object.entries(raw)) if (reason !== 'trusted') filtered[reason] = n
  } else {
    // rows that passed every rule but are not in trusted are the extra copies of exact duplicates
    const { kept = 0, ...rest } = raw
    Object.assign(filtered, rest, { duplicate: kept - trusted })
  }
  const sum = trusted + Object.values(filtered).reduce((a, b) => a + b, 0)
  if (sum !== landing || Object.values(filtered).some((n) => n < 0)) {
    throw new PipelineError('PIPE_ERR_ACCOUNTING',
      `${dataset}: landing ${landing} != trusted ${trusted} + filtered ${JSON.stringify(filtered)}; the tables were not committed`)
  }
  return { landing, trusted, filtered, quarantined: rowsOf(quarantineTableOf(dataset)) }
}

/** Every record counted. */
export async function accountFully (engine: SqlEngine, rowsOf: (t: TableName) => number, erasedOf: (d: DatasetName) => number): Promise<Record<DatasetName, DatasetAccounting>> {
  const result = {} as Record<DatasetName, DatasetAccounting>
  for (const dataset of DATASET_NAMES) result[dataset] = settleAccounting(dataset, await rawCounts(engine, dataset), rowsOf, erasedOf(dataset))
  return result
}

/** The views an incremental run leaves for the accounting (pipeline/zones/incremental.ts). */
export interface IncrementalAccountingInput {
  /** the previous run's accounting, as it committed it */
  previous: Record<DatasetName, DatasetAccounting>
  /** the customer landing table before this run (a query) */
  previousCustomers: string
  /** this run (its landing rows carry it as _run) */
  runId: number
}

/**
 * Counted from the previous run's figures. The phones and trainers whose standing may have changed,
 * and their landing rows, are what pipeline/zones/incremental.ts left (restanding_users and
 * restanding_serials, <landing>_restanding): the changed customers and anyone a new customer record
 * names; the changed serial numbers and those of changed customers' and new records (before and after).
 */
export async function accountIncrementally (
  engine: SqlEngine, input: IncrementalAccountingInput, rowsOf: (t: TableName) => number, erasedOf: (d: DatasetName) => number
): Promise<Record<DatasetName, DatasetAccounting>> {
  const before: Scope = {
    customer_landing: input.previousCustomers,
    customer_trusted: 'SELECT * FROM customer_trusted_previous',
    customer_curated: 'SELECT * FROM customer_curated_previous'
  }
  const result = {} as Record<DatasetName, DatasetAccounting>
  result.customer = settleAccounting('customer', await rawCounts(engine, 'customer'), rowsOf, erasedOf('customer'))
  for (const [dataset, key, restanding, column] of [
    ['accelerometer', '"user"', 'restanding_users', 'email'],
    ['step_trainer', 'serialNumber', 'restanding_serials', 'serialNumber']
  ] as const) {
    const landing = landingTableOf(dataset) as 'accelerometer_landing' | 'step_trainer_landing'
    const inScope = `${key} IN (SELECT ${column} FROM ${restanding})`
    // their records as they stood before (those an earlier run read), and as they stand now with
    // everyone else's new records; nobody's standing changed (new readings only): the new records alone
    const [{ n }] = await engine.rows<{ n: number }>(`SELECT count(*) AS n FROM ${restanding}`)
    const old = Number(n) === 0 ? {} : await rawCounts(engine, dataset, { ...before, [landing]: `SELECT * FROM ${landing}_restanding WHERE _run <> ${input.runId}` })
    const now = await rawCounts(engine, dataset, {
      [landing]: Number(n) === 0 ? `SELECT * FROM ${landing}_new` : `SELECT * FROM ${landing}_restanding UNION ALL SELECT * FROM ${landing}_new WHERE NOT ${inScope}`
    })
    const raw = addCounts(addCounts(rawFromReport(dataset, input.previous[dataset]), old, -1), now)
    result[dataset] = settleAccounting(dataset, raw, rowsOf, erasedOf(dataset))
  }
  return result
}
