// Helpers for the Spark tests: run a job script as Glue or a user would, and compare two lakehouses
// table by table, row by row. The Spark tests never skip: without the environment they fail and
// say how to make it (`npm test` makes it before tap starts).
import os from 'node:os'
import path from 'node:path'
import { TABLE_NAMES, type TableName } from '../../contracts/lakehouse.js'
import { createDuckDbEngine, sqlStringList } from '../../pipeline/engine/duckdb.js'
import { sparkPython } from '../../pipeline/engine/spark.js'
import { StateStore } from '../../pipeline/state.js'
import { type CliResult, ROOT, spawnCollect } from './index.js'

/** Runs scripts/<name>.py with the Spark environment's Python, as a user or Glue would. */
export async function sparkScript (name: string, args: string[]): Promise<CliResult> {
  return await spawnCollect(sparkPython(), [path.join(ROOT, 'scripts', `${name}.py`), '--master', 'local[2]', '--driver-memory', '1g', ...args], { cwd: os.tmpdir() })
}

export interface TableDiff { table: TableName, rowsA: number, rowsB: number, onlyA: number, onlyB: number, sampleOnlyA: unknown[], sampleOnlyB: unknown[] }

/** The files of every table's current version, by table. */
export async function currentFiles (lakehouse: string): Promise<Map<TableName, string[]>> {
  const state = await StateStore.open(lakehouse, { create: false })
  try {
    const current = await state.currentVersions()
    return new Map(TABLE_NAMES.map((t) => [t, (current.get(t)?.files ?? []).map((f) => path.join(lakehouse, f))]))
  } finally {
    await state.close()
  }
}

/**
 * Every table of two lakehouses compared as multisets of rows (EXCEPT ALL both ways). Only `_run`
 * is left out: run numbers differ between engines; file, line, reason and raw text must match.
 */
export async function diffLakehouses (a: string, b: string): Promise<TableDiff[]> {
  const [filesA, filesB] = await Promise.all([currentFiles(a), currentFiles(b)])
  const engine = await createDuckDbEngine({ threads: 2, memoryLimitMb: 1000, tempDir: os.tmpdir() })
  try {
    const diffs: TableDiff[] = []
    for (const table of TABLE_NAMES) {
      const fa = filesA.get(table) ?? []
      const fb = filesB.get(table) ?? []
      const lineage = table.endsWith('_landing') || table.endsWith('_quarantine') ? ' EXCLUDE (_run)' : ''
      const source = (files: string[], other: string[]): string => {
        if (files.length > 0) return `SELECT *${lineage} FROM read_parquet(${sqlStringList(files)})`
        // an empty table: the other side's shape with no rows
        return other.length > 0 ? `${source(other, [])} WHERE false` : 'SELECT 1 AS none WHERE false'
      }
      const sa = source(fa, fb)
      const sb = source(fb, fa)
      const count = async (sql: string): Promise<number> => Number((await engine.rows<{ n: bigint }>(`SELECT count(*) AS n FROM (${sql})`))[0].n)
      const sample = async (sql: string): Promise<unknown[]> => await engine.rows(`${sql} LIMIT 3`)
      const onlyA = `(${sa}) EXCEPT ALL (${sb})`
      const onlyB = `(${sb}) EXCEPT ALL (${sa})`
      diffs.push({
        table,
        rowsA: await count(sa),
        rowsB: await count(sb),
        onlyA: await count(onlyA),
        onlyB: await count(onlyB),
        sampleOnlyA: await sample(onlyA),
        sampleOnlyB: await sample(onlyB)
      })
    }
    return diffs
  } finally {
    engine.close()
  }
}
