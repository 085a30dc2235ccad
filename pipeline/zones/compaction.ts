// Landing and quarantine tables grow by one part per run that reads something new: with a run every
// ten seconds, thousands of parts a day, and every reader (a full refresh, a consent change reaching
// back over a customer's readings, verify, Athena) opens them all. Past MAX_PARTS parts, a run merges
// its newest MERGED parts into one: recent parts are small, so a merge is cheap, and a merged part is
// merged again only after many more runs; a table keeps at most MAX_PARTS parts. Rows, and their
// lineage (_run, _file, _line), are carried as they are.
import { sqlString, sqlStringList, type SqlEngine } from '../engine/duckdb.js'
import { PipelineError } from '../errors.js'
import type { TableVersion } from '../state.js'

export const MAX_PARTS = 16
const MERGED = 8

/** The version with its newest parts merged when it has too many; the merged file is `file` (lakehouse-relative). */
export async function compactParts (engine: SqlEngine, version: TableVersion, file: string, uri: (rel: string) => string): Promise<{ version: TableVersion, written?: string }> {
  if (version.files.length <= MAX_PARTS) return { version }
  const keep = version.files.slice(0, version.files.length - MERGED)
  const merge = version.files.slice(version.files.length - MERGED)
  const [{ Count: rows }] = await engine.rows<{ Count: number }>(`COPY (SELECT * FROM read_parquet(${sqlStringList(merge.map(uri))})) TO ${sqlString(uri(file))} (FORMAT parquet)`)
  const [{ n }] = await engine.rows<{ n: number }>(`SELECT sum(num_rows) AS n FROM parquet_file_metadata(${sqlStringList(merge.map(uri))})`)
  // a merge that lost or gained a row must not be committed
  if (Number(rows) !== Number(n)) throw new PipelineError('PIPE_ERR_ENGINE', `compacting ${version.table}: ${String(rows)} rows written of ${String(n)}; nothing was committed`)
  return { version: { ...version, files: [...keep, file] }, written: file }
}

