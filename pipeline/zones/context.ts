// What the zone jobs of a run work with: the engine (with every landing and quarantine view defined
// over this run's versions), where files go, the versions current before the run, and its options.
import type { TableName } from '../../contracts/lakehouse.js'
import type { SqlEngine } from '../engine/duckdb.js'
import type { TableVersion } from '../state.js'

export interface ZoneContext {
  engine: SqlEngine
  runId: number
  /** a lakehouse-relative path as the engine reads and writes it */
  uri: (rel: string) => string
  /** a new file of a table, for this run */
  newFile: (table: TableName, kind: 'base' | 'delta') => string
  /** every table's version before this run */
  current: ReadonlyMap<TableName, TableVersion>
  /** this run's new landing part of each dataset's landing table, when it wrote one */
  newLandingParts: ReadonlyMap<TableName, string>
  /**
   * whether any customer's trusted row may differ from the previous run's: there are new customer
   * records, or a research consent dated in the future has come due since
   */
  customersMayChange: boolean
}

/** What the jobs made: the new versions of their tables (a table left as it was has none) and the files written. */
export interface ZoneResult {
  versions: TableVersion[]
  written: string[]
}

/**
 * The column each trusted readings file is sorted by: Parquet statistics on it let a later run read
 * only the time span its new readings need (zones/incremental.ts, the *_near_* views). The other
 * tables are never read by time span, and are written as they come (sorting the machine-learning
 * table cost a cold x30 run half a second and 170 MB).
 */
export const SORT_COLUMN: Readonly<Partial<Record<TableName, string>>> = Object.freeze({
  accelerometer_trusted: '"timestamp"',
  step_trainer_trusted: 'sensorReadingTime'
})

/**
 * Writes a query's rows (sorted, for a readings table) as a table file; returns how many. `keptInOrder`: rows of another
 * query that are in order already (a base's kept rows), written first as they come, the sorted ones
 * after them: sorting a whole table again to drop a few rows would cost more than the rest of a run.
 */
export async function writeTableFile (ctx: ZoneContext, table: TableName, query: string, file: string, keptInOrder?: string): Promise<number> {
  const column = SORT_COLUMN[table]
  const sorted = column === undefined ? query : `SELECT * FROM (${query}) ORDER BY ${column}`
  const [{ Count: rows }] = await ctx.engine.rows<{ Count: number }>(
    `COPY (${keptInOrder === undefined ? sorted : `${keptInOrder} UNION ALL (${sorted})`}) TO ${sqlPath(ctx, file)} (FORMAT parquet)`)
  return Number(rows)
}

const sqlPath = (ctx: ZoneContext, rel: string): string => `'${ctx.uri(rel).replaceAll("'", "''")}'`
