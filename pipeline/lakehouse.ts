// Where a run's lakehouse lives, behind one face: a local folder (the state used in place, SQLite's
// write lock as the one-run lock, table files fsync'd, visible names hard links) or an S3 prefix
// (pipeline/s3/lakehouse.ts: a lease object as the lock, the state a local copy put back with a
// conditional write as the commit point, visible names server-side copies). run.ts does the same
// steps on either.
import fs from 'node:fs/promises'
import path from 'node:path'
import { STATE_DIR, type TableName } from '../contracts/lakehouse.js'
import { fsyncDir, fsyncFile } from '../common/durable-fs.js'
import { StateStore, type TableVersion } from './state.js'
import { SCRATCH_DIR, prepareTableDirs, reconcile } from './storage.js'

export type CommitInput = Parameters<StateStore['commitRun']>[1]

export interface RunLakehouse {
  /** the lakehouse as the user named it (a folder, or s3://bucket/prefix) */
  readonly location: string
  readonly state: StateStore
  readonly runId: number
  /** this run's own local scratch folder (copies, spill files) */
  readonly scratch: string
  /** a tag for the names of the files this run writes, when a lost lock could let two runs write at once */
  readonly fileTag?: string
  /** a lakehouse-relative path as the engine reads and writes it */
  uri: (rel: string) => string
  prepare: () => Promise<void>
  /** moves a finished local file into the lakehouse at `rel` */
  place: (localFile: string, rel: string) => Promise<void>
  /** makes written files survive a crash before the commit names them */
  durable: (rels: readonly string[]) => Promise<void>
  /** makes the visible names match the state, and removes files no retained version names */
  reconcile: (current: ReadonlyMap<TableName, TableVersion>, retained: ReadonlySet<string>) => Promise<void>
  /** empties scratch (only the lock holder may) */
  clearScratch: () => Promise<void>
  /** the single moment the run's versions become current */
  commit: (input: CommitInput) => Promise<void>
  /** rolls back, records the failure in the run history */
  abort: (options: Record<string, unknown>, message: string) => Promise<void>
  close: () => Promise<void>
}

/** Opens a local lakehouse for a run: takes SQLite's write lock (PIPE_ERR_BUSY, or waits up to waitMs). */
export async function beginLocalRun (dir: string, options: Record<string, unknown>, waitMs: number): Promise<RunLakehouse> {
  const state = await StateStore.open(dir, { create: true })
  let runId: number
  try {
    runId = await state.beginRun(options, waitMs)
  } catch (err) {
    await state.close()
    throw err
  }
  // Scratch belongs to the lock holder alone: a run refused for a busy lakehouse (or a skipped
  // scheduler tick) must not take the running run's copies and spill files from under it. Each
  // run works in a folder of its own and empties the scratch root only while it holds the lock.
  const scratchRoot = path.join(state.lakehouseDir, STATE_DIR, SCRATCH_DIR)
  const clearScratch = async (): Promise<void> => { await fs.rm(scratchRoot, { recursive: true, force: true }) }
  const uri = (rel: string): string => path.join(state.lakehouseDir, rel)
  return {
    location: state.lakehouseDir,
    state,
    runId,
    scratch: path.join(scratchRoot, `run-${runId}`),
    uri,
    prepare: async () => { await prepareTableDirs(state.lakehouseDir) },
    place: async (localFile, rel) => { await fs.rename(localFile, uri(rel)) },
    durable: async (rels) => {
      for (const rel of rels) await fsyncFile(uri(rel))
      for (const dir of new Set(rels.map((rel) => path.dirname(uri(rel))))) await fsyncDir(dir)
    },
    reconcile: async (current, retained) => { await reconcile(state.lakehouseDir, current, retained) },
    clearScratch,
    commit: async (input) => {
      // the commit releases the lock: scratch goes first, while it is still this run's
      await clearScratch()
      await state.commitRun(runId, input)
    },
    abort: async (options, message) => {
      if (state.holdsLock) await clearScratch()
      await state.abortRun(runId, options, message)
    },
    close: async () => { await state.close() }
  }
}
