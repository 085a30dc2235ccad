// Follows one table of a lakehouse as runs commit new versions, for a reader that wants to know
// when rows appear (the freshness measurement of `stedi simulate fleet --watch-lakehouse`). A poll
// reads the state (a few milliseconds, no lock), and only when the table has a new version does it
// read table files: the deltas the new version appended to the one seen last, or, when the table
// was written again as a new base (a consent change, a compaction), that base, near the keys asked
// for. So polling every second costs about nothing between runs, and about one delta per run.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { STATE_DB, type TableName } from '../contracts/lakehouse.js'
import { LocationError, parseLocation } from '../common/storage-location.js'
import { type Row, createDuckDbEngine, sqlStringList } from './engine/duckdb.js'
import { PipelineError } from './errors.js'
import { quoteIdent } from './landing/validate-sql.js'
import { StateStore, type TableVersion } from './state.js'

export interface TableWatchOptions {
  /** the columns each returned row has */
  columns: readonly string[]
  /**
   * the integer column a poll's keys are matched against; best the column the table's files are
   * sorted by (pipeline/zones/context.ts), so that a base is read only in the row groups near the keys
   */
  keyColumn: string
}

export interface TableWatchPoll {
  /** the table's version current at this poll (null: none committed yet) */
  version: number | null
  /** files read by this poll: those the version added to the one seen before, or all its files when it was written again */
  filesRead: number
  /** the version is not an extension of the one seen before (its base was written again) */
  rewritten: boolean
  /** rows of what was read whose key column is among the keys */
  rows: Row[]
}

export interface TableWatch {
  /**
   * Rows the table gained since the last poll, at these keys. The keys are asked for after the
   * state is read, so that a key added later cannot belong to a version this poll reads.
   */
  poll: (keys: () => Iterable<number>) => Promise<TableWatchPoll>
  close: () => void
}

/** Starts following `table` of a local lakehouse: the version current now is the baseline, its rows are never returned. */
export async function watchTable (lakehouse: string, table: TableName, options: TableWatchOptions): Promise<TableWatch> {
  let root: string
  try {
    const location = parseLocation(lakehouse, 'lakehouse')
    if (location.kind !== 'local') throw new LocationError(`${lakehouse}: only a lakehouse in a local folder can be watched`)
    root = location.path
  } catch (err) {
    if (err instanceof LocationError) throw new PipelineError('PIPE_ERR_BAD_OPTION', err.message)
    throw err
  }
  const engine = await createDuckDbEngine({ threads: 1, memoryLimitMb: 256, tempDir: path.join(os.tmpdir(), 'stedi-watch') })
  let seen = await currentVersion(root, table).catch((err: unknown) => { engine.close(); throw err })
  const columns = options.columns.map(quoteIdent).join(', ')
  const key = quoteIdent(options.keyColumn)

  const read = async (files: readonly string[], keys: number[]): Promise<Row[]> => {
    if (files.length === 0 || keys.length === 0) return []
    let lo = keys[0]
    let hi = keys[0]
    for (const k of keys) { if (k < lo) lo = k; if (k > hi) hi = k }
    // the range lets the engine skip row groups by their statistics; the list picks the rows
    return await engine.rows(`SELECT ${columns} FROM read_parquet(${sqlStringList(files.map((f) => path.join(root, f)))})
      WHERE ${key} BETWEEN ${lo} AND ${hi} AND ${key} IN (${keys.join(', ')})`)
  }

  return {
    poll: async (keysOf) => {
      const current = await currentVersion(root, table)
      if (current === undefined || current.version === seen?.version) {
        return { version: current?.version ?? null, filesRead: 0, rewritten: false, rows: [] }
      }
      const before = seen?.files ?? []
      const extends_ = before.length <= current.files.length && before.every((f, i) => current.files[i] === f)
      const files = extends_ ? current.files.slice(before.length) : current.files
      const keys = [...new Set(keysOf())].filter(Number.isSafeInteger)
      const rows = await read(files, keys)
      seen = current
      return { version: current.version, filesRead: keys.length === 0 ? 0 : files.length, rewritten: !extends_, rows }
    },
    close: () => { engine.close() }
  }
}

async function currentVersion (root: string, table: TableName): Promise<TableVersion | undefined> {
  // no state yet: no run has begun, so no version
  if (!await fs.stat(path.join(root, STATE_DB)).then((s) => s.isFile(), () => false)) return undefined
  const state = await StateStore.open(root, { create: false })
  try {
    return (await state.currentVersions()).get(table)
  } finally {
    await state.close()
  }
}
