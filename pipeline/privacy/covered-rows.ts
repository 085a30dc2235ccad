// Finds and removes the rows of a zone table file that a tombstone covers. The identities are few
// (a table has a handful of distinct emails and serial numbers per file), so they are hashed here,
// in JavaScript, with the one keyed hash of contracts/privacy.ts, and the file is filtered by a join
// on the matched values: no hash runs per row in SQL.
import { TABLES, type TableName } from '../../contracts/lakehouse.js'
import { ERASURE_FIELDS, type IdentityKind, type TombstoneMatcher } from '../../contracts/privacy.js'
import { type SqlEngine, sqlString } from '../engine/duckdb.js'

export interface IdentityColumn { column: string, kind: IdentityKind, time: string }

/** The columns of a table that hold an identity, each with the column that dates its row. */
export function identityColumnsOf (table: TableName): IdentityColumn[] {
  const spec = TABLES[table]
  if (spec.zone === 'quarantine') return []
  const datasets = spec.dataset === undefined ? (['step_trainer', 'accelerometer'] as const) : [spec.dataset]
  return datasets.flatMap((d) => ERASURE_FIELDS[d].match.map(([column, kind]) => ({ column, kind, time: ERASURE_FIELDS[d].time })))
}

export interface CoveredRows {
  /** rows the tombstones cover, and rows left */
  dropped: number
  kept: number
  /** covered rows per landing file (tables with lineage) */
  droppedByFile: Map<string, number>
}

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`
let nextMatchTable = 0

/**
 * Writes `target` as `source` without the covered rows and says how many went; writes nothing and
 * returns undefined when no row is covered.
 */
export async function removeCoveredRows (
  engine: SqlEngine, matcher: TombstoneMatcher, table: TableName, source: string, target: string
): Promise<CoveredRows | undefined> {
  if (matcher.size === 0) return undefined
  const read = `read_parquet(${sqlString(source)})`
  const matches: Array<[column: string, value: string, erasedAt: number | null]> = []
  const columns = identityColumnsOf(table)
  for (const c of columns) {
    const values = await engine.rows<{ v: string }>(`SELECT DISTINCT ${q(c.column)} AS v FROM ${read} WHERE ${q(c.column)} IS NOT NULL`)
    for (const { v } of values) {
      const at = matcher.erasedAt(c.kind, v)
      if (at !== undefined) matches.push([c.column, v, at])
    }
  }
  const quarantine = TABLES[table].zone === 'quarantine'
  if (quarantine) {
    for (const { v } of await engine.rows<{ v: string }>(`SELECT DISTINCT raw AS v FROM ${read} WHERE raw IS NOT NULL`)) {
      if (matcher.coversRaw(v)) matches.push(['raw', v, null])
    }
  }
  if (matches.length === 0) return undefined

  const m = `erase_match_${nextMatchTable++}`
  await engine.exec(`CREATE TEMP TABLE ${m} (col VARCHAR, value VARCHAR, erased_at BIGINT)`)
  try {
    for (let i = 0; i < matches.length; i += 500) {
      const chunk = matches.slice(i, i + 500)
      await engine.exec(`INSERT INTO ${m} VALUES ${chunk.map(([c, v, at]) => `(${sqlString(c)}, ${sqlString(v)}, ${at ?? 'NULL'})`).join(', ')}`)
    }
    const covered = [
      ...columns.map((c) => `EXISTS (SELECT 1 FROM ${m} m WHERE m.col = ${sqlString(c.column)} AND m.value = t.${q(c.column)}
                         AND (t.${q(c.time)} IS NULL OR t.${q(c.time)} <= m.erased_at))`),
      ...(quarantine ? [`t.raw IN (SELECT value FROM ${m} WHERE col = 'raw')`] : [])
    ].join(' OR ')
    const hasFile = quarantine || TABLES[table].zone === 'landing'
    const counts = await engine.rows<{ file: string | null, dropped: number, n: number }>(
      `SELECT ${hasFile ? '_file' : 'NULL'} AS file, count(*) FILTER (WHERE ${covered}) AS dropped, count(*) AS n FROM ${read} t GROUP BY 1`)
    const dropped = counts.reduce((a, r) => a + Number(r.dropped), 0)
    const total = counts.reduce((a, r) => a + Number(r.n), 0)
    if (dropped === 0) return undefined
    await engine.exec(`COPY (SELECT * FROM ${read} t WHERE NOT (${covered})) TO ${sqlString(target)} (FORMAT parquet)`)
    const droppedByFile = new Map<string, number>()
    for (const r of counts) if (r.file !== null && Number(r.dropped) > 0) droppedByFile.set(r.file, Number(r.dropped))
    return { dropped, kept: total - dropped, droppedByFile }
  } finally {
    await engine.exec(`DROP TABLE IF EXISTS ${m}`)
  }
}
