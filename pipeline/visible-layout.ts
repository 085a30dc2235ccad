// What readers outside the pipeline (Athena, Spark, pyarrow, a person with DuckDB) see of a table:
// one file name per file of the current version, in the table's folder. A landing or quarantine table
// is its parts (`part-r<run>…`); a trusted or curated table is a base file, `data.parquet`, and the
// deltas incremental runs appended since the base was written (`delta-v<version>-r<run>….parquet`).
//
// A folder cannot change all at once, so the order of the changes is what keeps a reader whole: a
// version only ever extends the one before it (new deltas or parts) or replaces it by a new base
// (a full build, a consent change, a compaction). Deltas and parts are named in the order they were
// written, so removing the unwanted ones newest first walks back through earlier whole versions, the
// base is then swapped in one rename, and new deltas or parts are added oldest first. A reader
// listing the folder at any moment sees a whole version: the new one, the old one, or an older one.
import path from 'node:path'
import { TABLES, type TableName } from '../contracts/lakehouse.js'

export const DATA_FILE = 'data.parquet'

/** The visible name of each file of a version, in the version's order. */
export function visibleNames (table: TableName, files: readonly string[]): Array<[name: string, canonical: string]> {
  if (TABLES[table].appendOnly) return files.map((f) => [path.posix.basename(f), f])
  return files.map((f, i) => [i === 0 ? DATA_FILE : path.posix.basename(f), f])
}

export interface PublicationStep {
  action: 'remove' | 'place'
  name: string
  /** the file to place (for place) */
  canonical?: string
}

/**
 * The steps that turn what a folder shows into the version's files. `shown` maps each visible
 * name to the file it shows now (undefined when that is not known, e.g. a stray copy).
 */
export function publicationSteps (table: TableName, files: readonly string[], shown: ReadonlyMap<string, string | undefined>): PublicationStep[] {
  const desired = new Map(visibleNames(table, files))
  const stale = [...shown.keys()].filter((name) => !desired.has(name) || (name !== DATA_FILE && shown.get(name) !== desired.get(name)))
  const steps: PublicationStep[] = []
  // newest first: what is left is always an earlier whole version
  for (const name of stale.sort().reverse()) steps.push({ action: 'remove', name })
  const base = desired.get(DATA_FILE)
  if (base !== undefined && shown.get(DATA_FILE) !== base) steps.push({ action: 'place', name: DATA_FILE, canonical: base })
  // oldest first: each addition is the next version
  const added = [...desired].filter(([name, canonical]) => name !== DATA_FILE && (stale.includes(name) || shown.get(name) !== canonical))
  for (const [name, canonical] of added.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) steps.push({ action: 'place', name, canonical })
  return steps
}
