// Where table files live and how a new version becomes visible without a reader ever seeing half of it.
// Each table's files are immutable and live in `<zone>/<table>/_files/` (hidden from Spark, Athena
// and pyarrow by the underscore); the state names which of them make the current version. The
// visible layout is hard links to them, made after the state commits (visible-layout.ts: the names,
// and the order of the changes that keeps a reader whole). `reconcile` makes the visible layout match
// the state and removes files no retained version names; it runs after every commit and before every
// run, so a run killed at any point is repaired by the next one.
import fs from 'node:fs/promises'
import path from 'node:path'
import { TABLES, TABLE_NAMES, type TableName, tableDir } from '../contracts/lakehouse.js'
import { fsyncDir, linkReplace } from '../common/durable-fs.js'
import type { TableVersion } from './state.js'
import { publicationSteps, visibleNames } from './visible-layout.js'

export { DATA_FILE } from './visible-layout.js'
export const FILES_DIR = '_files'
/** under <lakehouse>/_state: each run's copies and spill files, in `run-<id>/` */
export const SCRATCH_DIR = 'tmp'

const pad = (n: number): string => String(n).padStart(6, '0')

/**
 * Lakehouse-relative path of a new immutable file of a table; `tag` makes it unique to one run. A
 * trusted or curated table's file is a base (the whole table) or a delta (rows a run appends to it);
 * `compacted` names a landing or quarantine part that merges the parts before it.
 */
export function newTableFile (table: TableName, runId: number, version: number, tag?: string, kind: 'base' | 'delta' | 'compacted' = 'base'): string {
  const suffix = tag === undefined ? '' : `-${tag}`
  const name = TABLES[table].appendOnly
    ? `part-r${pad(runId)}${kind === 'compacted' ? '-c' : ''}${suffix}.parquet`
    : `${kind === 'delta' ? 'delta-' : ''}v${pad(version)}-r${pad(runId)}${suffix}.parquet`
  return `${tableDir(table)}/${FILES_DIR}/${name}`
}

export async function prepareTableDirs (lakehouseDir: string): Promise<void> {
  for (const table of TABLE_NAMES) await fs.mkdir(path.join(lakehouseDir, tableDir(table), FILES_DIR), { recursive: true })
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
    const files = current.get(table)?.files ?? []
    const desired = new Map(visibleNames(table, files))
    // what each visible name shows now: the file it should show if it is that very file (a hard link)
    const shown = new Map<string, string | undefined>()
    for (const name of await fs.readdir(dir)) {
      if (name.endsWith('.tmp')) { await fs.rm(path.join(dir, name), { force: true }); continue }
      if (!name.endsWith('.parquet')) continue
      const canonical = desired.get(name)
      const same = canonical !== undefined && await sameFile(path.join(lakehouseDir, canonical), path.join(dir, name))
      shown.set(name, same ? canonical : undefined)
    }
    for (const step of publicationSteps(table, files, shown)) {
      if (step.action === 'remove') await fs.rm(path.join(dir, step.name), { force: true })
      else await linkReplace(path.join(lakehouseDir, step.canonical!), path.join(dir, step.name))
    }
    for (const name of await fs.readdir(filesDir)) {
      if (!retained.has(`${tableDir(table)}/${FILES_DIR}/${name}`)) await fs.rm(path.join(filesDir, name), { force: true })
    }
    await fsyncDir(dir)
  }
}

async function sameFile (a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([fs.stat(a).catch(() => undefined), fs.stat(b).catch(() => undefined)])
  return x !== undefined && y !== undefined && x.ino === y.ino && x.dev === y.dev
}

/** The files a table version names, as absolute paths, checked to exist. */
export async function versionPaths (lakehouseDir: string, version: TableVersion): Promise<string[]> {
  const paths = version.files.map((f) => path.join(lakehouseDir, f))
  for (const p of paths) await fs.access(p)
  return paths
}
