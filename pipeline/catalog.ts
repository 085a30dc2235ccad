// The zone tables as the engine sees them: one view per table, by the seed's names, over exactly the
// files of the version being read. Used by a run (its inputs) and by `stedi query` (a snapshot).
import { DATASETS } from '../contracts/datasets.js'
import { QUARANTINE_COLUMNS, TABLES, TABLE_NAMES, type TableName, lineageColumns } from '../contracts/lakehouse.js'
import { type SqlEngine, sqlStringList } from './engine/duckdb.js'
import { quoteIdent, sqlType } from './landing/validate-sql.js'

type Column = [string, string]

const seedColumns = (dataset: keyof typeof DATASETS): Column[] => DATASETS[dataset].fields.map((f) => [f.name, sqlType(f)])

/** The columns of every table, for the empty version a table has before any data reaches it. */
export function tableColumns (table: TableName): Column[] {
  const spec = TABLES[table]
  switch (spec.zone) {
    case 'landing': return [...seedColumns(spec.dataset!), ...lineageColumns(spec.dataset!)]
    case 'quarantine': return [...QUARANTINE_COLUMNS]
    default:
      if (table === 'machine_learning_curated') return [...seedColumns('step_trainer'), ...seedColumns('accelerometer')]
      return seedColumns(spec.dataset!)
  }
}

/** A table's rows from these files (engine paths) as a query, with the table's columns; none: no rows. */
export function tableQuery (table: TableName, files: readonly string[]): string {
  return files.length > 0
    ? `SELECT ${tableColumns(table).map(([name]) => quoteIdent(name)).join(', ')} FROM read_parquet(${sqlStringList(files)})`
    : `SELECT ${tableColumns(table).map(([name, type]) => `CAST(NULL AS ${type}) AS ${quoteIdent(name)}`).join(', ')} WHERE false`
}

/** The view `name` (the table's own name unless given) over these files. */
export async function defineTableView (engine: SqlEngine, table: TableName, files: readonly string[], name: string = table): Promise<void> {
  await engine.exec(`CREATE OR REPLACE VIEW ${name} AS ${tableQuery(table, files)}`)
}

export async function defineAllViews (engine: SqlEngine, files: ReadonlyMap<TableName, readonly string[]>): Promise<void> {
  for (const table of TABLE_NAMES) await defineTableView(engine, table, files.get(table) ?? [])
}
