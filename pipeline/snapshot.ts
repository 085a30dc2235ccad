// A reader's view of the lakehouse: the table versions current at the moment it opened, with their
// files (immutable, and kept for a few versions after they stop being current), the row counts
// `stedi counts` prints, and read-only SQL over them for `stedi query`.
import os from 'node:os'
import path from 'node:path'
import { TABLE_NAMES, type TableName } from '../contracts/lakehouse.js'
import { defineAllViews } from './catalog.js'
import { createDuckDbEngine } from './engine/duckdb.js'
import { PipelineError } from './errors.js'
import { type Counts, countsFromRows } from './report.js'
import { StateStore, type TableVersion } from './state.js'
import { versionPaths } from './storage.js'

export interface Snapshot {
  lakehouseDir: string
  versions: Map<TableName, TableVersion>
}

export async function openSnapshot (lakehouseDir: string): Promise<Snapshot> {
  const state = await StateStore.open(lakehouseDir, { create: false })
  try {
    const versions = await state.currentVersions()
    if (versions.size === 0) {
      throw new PipelineError('PIPE_ERR_LAKEHOUSE_MISSING',
        `lakehouse ${state.lakehouseDir} has no committed run yet: run \`stedi pipeline run\` first`, { path: state.lakehouseDir })
    }
    return { lakehouseDir: state.lakehouseDir, versions }
  } finally {
    await state.close()
  }
}

export function snapshotCounts (snapshot: Snapshot): Counts {
  return countsFromRows(new Map([...snapshot.versions].map(([table, v]) => [table, v.rows])))
}

export interface QueryResult { columns: string[], rows: unknown[][] }

export async function querySnapshot (snapshot: Snapshot, sql: string, options: { memoryLimitMb?: number } = {}): Promise<QueryResult> {
  const files = new Map<TableName, string[]>()
  for (const table of TABLE_NAMES) {
    const version = snapshot.versions.get(table)
    if (version === undefined) continue
    try {
      files.set(table, await versionPaths(snapshot.lakehouseDir, version))
    } catch (err) {
      throw new PipelineError('PIPE_ERR_STATE_CORRUPT',
        `a file of ${table} (version ${version.version}) is missing from ${snapshot.lakehouseDir}: rebuild with \`stedi pipeline run --full-refresh\``,
        { path: snapshot.lakehouseDir, cause: err })
    }
  }
  const engine = await createDuckDbEngine({
    threads: Math.max(1, os.availableParallelism()),
    memoryLimitMb: options.memoryLimitMb ?? 1024,
    tempDir: path.join(os.tmpdir(), 'stedi-query')
  })
  try {
    await defineAllViews(engine, files)
    // after the views exist: the query may read the lakehouse and nothing else, nor change settings
    await engine.exec(`SET allowed_directories = ['${snapshot.lakehouseDir.replaceAll("'", "''")}']`)
    await engine.exec('SET enable_external_access = false')
    await engine.exec('SET lock_configuration = true')
    return await engine.readOnly(sql)
  } finally {
    engine.close()
  }
}
