// Two versions of a table compared as multisets of rows. Each row, as the catalog reads a version's
// files, is hashed: DuckDB's 64-bit hash of its values, each cast to the column's type in the
// catalog, so that a file written with another integer width still compares by value. A version's
// fingerprint is its row count and the sum of its row hashes (order does not matter, a row
// delivered twice counts twice); equal fingerprints are equal tables but for a chance of about one
// in 2^64. Only when they differ are the hashes counted one by one (about four times the work of a
// sum) to say how many rows each side has more of, and which.
import { type TableName } from '../../contracts/lakehouse.js'
import { defineTableView, tableColumns } from '../catalog.js'
import { type Row, type SqlEngine, sqlString } from '../engine/duckdb.js'
import { quoteIdent } from '../landing/validate-sql.js'

/**
 * Lineage columns left out of the comparison: `_run` (which run read a record) differs by
 * construction, the recomputation reads everything in one run; `_line` (a record's line in its file)
 * shifts when an erasure rewrites a landing file without the erased lines, while the rows already in
 * the lakehouse keep theirs. `_file` is compared.
 */
export const LEFT_OUT_COLUMNS = ['_run', '_line'] as const

export function comparedColumns (table: TableName): Array<[string, string]> {
  return tableColumns(table).filter(([name]) => !(LEFT_OUT_COLUMNS as readonly string[]).includes(name))
}

const rowHash = (table: TableName): string => `hash(${comparedColumns(table).map(([n, type]) => `CAST(${quoteIdent(n)} AS ${type})`).join(', ')})`

export interface Fingerprint {
  rows: number
  /** the sum of the row hashes, exact (a 128-bit integer, as text) */
  hashSum: string
}

export async function fingerprint (engine: SqlEngine, table: TableName, files: readonly string[]): Promise<Fingerprint> {
  await defineTableView(engine, table, files)
  const [f] = await engine.rows<{ rows: number, hashSum: string | null }>(
    `SELECT count(*) AS "rows", CAST(sum(CAST(${rowHash(table)} AS HUGEINT)) AS VARCHAR) AS hashSum FROM ${table}`)
  return { rows: Number(f.rows), hashSum: f.hashSum ?? '0' }
}

/** Writes `(h, n)`: each distinct row hash of the version made of `files` and how many rows have it. */
export async function writeRowHashes (engine: SqlEngine, table: TableName, files: readonly string[], out: string): Promise<void> {
  await defineTableView(engine, table, files)
  await engine.exec(`COPY (SELECT ${rowHash(table)} AS h, CAST(count(*) AS BIGINT) AS n FROM ${table} GROUP BY ALL) TO ${sqlString(out)} (FORMAT parquet)`)
}

export interface TableDiff {
  current: number
  recomputed: number
  /** rows (counted with their copies) the current version has more of than the recomputation */
  onlyCurrent: number
  onlyRecomputed: number
}

export async function diffRowHashes (engine: SqlEngine, current: string, recomputed: string): Promise<TableDiff> {
  const [d] = await engine.rows<TableDiff>(`
    SELECT CAST(coalesce(sum(c.n), 0) AS BIGINT) AS "current", CAST(coalesce(sum(r.n), 0) AS BIGINT) AS recomputed,
           CAST(coalesce(sum(greatest(coalesce(c.n, 0) - coalesce(r.n, 0), 0)), 0) AS BIGINT) AS onlyCurrent,
           CAST(coalesce(sum(greatest(coalesce(r.n, 0) - coalesce(c.n, 0), 0)), 0) AS BIGINT) AS onlyRecomputed
    FROM read_parquet(${sqlString(current)}) c FULL JOIN read_parquet(${sqlString(recomputed)}) r ON c.h = r.h`)
  return { current: Number(d.current), recomputed: Number(d.recomputed), onlyCurrent: Number(d.onlyCurrent), onlyRecomputed: Number(d.onlyRecomputed) }
}

/** Up to `limit` rows of a version (its files and hash counts) that it has more of than the other version. */
export async function extraRows (engine: SqlEngine, table: TableName, files: readonly string[], own: string, other: string, limit: number): Promise<Row[]> {
  if (limit === 0) return []
  await defineTableView(engine, table, files)
  const columns = comparedColumns(table).map(([n]) => quoteIdent(n)).join(', ')
  return await engine.rows(`
    WITH extra AS (
      SELECT o.h FROM read_parquet(${sqlString(own)}) o LEFT JOIN read_parquet(${sqlString(other)}) x ON o.h = x.h WHERE o.n > coalesce(x.n, 0)
    )
    SELECT ${columns} FROM (SELECT ${columns}, ${rowHash(table)} AS _h FROM ${table}) WHERE _h IN (SELECT h FROM extra) LIMIT ${limit}`)
}
