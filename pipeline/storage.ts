// Where table files live and how a new version becomes visible without a reader ever seeing half of it.
// Each table's files are immutable and live in `<zone>/<table>/_files/` (hidden from Spark, Athena
// and pyarrow by the underscore); the state names which of them make the current version. The
// visible layout is hard links to them, made after the state commits: `data.parquet` for tables
// rebuilt each run (swapped by one rename), `part-r<run>.parquet` for append-only tables (each part
// appears whole). `reconcile` makes the visible layout match the state and removes files no retained
// version names; it runs after every commit and before every run, so a run killed at any point
// is repaired by the next one.
import fs from 'node:fs/promises'
import path from 'node:path'
import { TABLES, TABLE_NAMES, type TableName, tableDir } from '../contracts/lakehouse.js'
import { fsyncDir, linkReplace } from '../common/durable-fs.js'
import type { TableVersion } from './state.js'

export const FILES_DIR = '_files'
/** under <lakehouse>/_state: each run's copies and spill files, in `run-<id>/` */
export const SCRATCH_DIR = 'tmp'
export const DATA_FILE = 'data.parquet'

const pad = (n: number): string => String(n).padStart(6, '0')

/** Lakehouse-relative path of a new immutable file of a table; `tag` makes it unique to one run. */
export function newTableFile (table: TableName, runId: number, version: number, tag?: string): string {
  const suffix = tag === undefined ? '' : `-${tag}`
  const name = TABLES[table].appendOnly ? `part-r${pad(runId)}${suffix}.parquet` : `v${pad(version)}-r${pad(runId)}${suffix}.parquet`
  return `${tableDir(table)}/${FILES_DIR}/${name}`
}

export async function prepareTableDirs (lakehouseDir: string): Promise<void> {
  for (const table of TABLE_NAMES) await fs.mkdir(path.join(lakehouseDir, tableDir(table), FILES_DIR), { recursive: true })
}

function visibleName (table: TableName, file: string): string {
  return TABLES[table].appendOnly ? path.basename(file) : DATA_FILE
}

export async function reconcile (
  lakehouseDir: string,
  current: ReadonlyMap<TableName, TableVersion>,
  retained: ReadonlySet<string>
): Promise<void> {
  for (const table of TABLE_NAMES) {
    const dir = path.join(lakehouseDir, tableDir(table))
    const filesDir = path.join(dir, FILES_DIR)
    await fs.mkdir(filesDir, { recursive: true })
    const desired = new Map<string, string>()
    for (const file of current.get(table)?.files ?? []) desired.set(visibleName(table, file), path.join(lakehouseDir, file))
    for (const [name, canonical] of desired) {
      const visible = path.join(dir, name)
      const [a, b] = await Promise.all([fs.stat(canonical), fs.stat(visible).catch(() => undefined)])
      if (b === undefined || a.ino !== b.ino || a.dev !== b.dev) await linkReplace(canonical, visible)
    }
    for (const name of await fs.readdir(dir)) {
      if (name === FILES_DIR || desired.has(name)) continue
      if (name.endsWith('.parquet') || name.endsWith('.tmp')) await fs.rm(path.join(dir, name), { force: true })
    }
    for (const name of await fs.readdir(filesDir)) {
      if (!retained.has(`${tableDir(table)}/${FILES_DIR}/${name}`)) await fs.rm(path.join(filesDir, name), { force: true })
    }
    await fsyncDir(dir)
  }
}

/** The files a table version names, as absolute paths, checked to exist. */
export async function versionPaths (lakehouseDir: string, version: TableVersion): Promise<string[]> {
  const paths = version.files.map((f) => path.join(lakehouseDir, f))
  for (const p of paths) await fs.access(p)
  return paths
}
