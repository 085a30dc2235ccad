// A reader's view of the lakehouse: the table versions current at the moment it opened, with their
// files (immutable, and kept for a few versions after they stop being current), the row counts
// `stedi counts` prints, and read-only SQL over them for `stedi query`. The lakehouse is a local
// folder or an S3 prefix; a reader takes no lock in either.
import os from 'node:os'
import path from 'node:path'
import { TABLE_NAMES, type TableName } from '../contracts/lakehouse.js'
import type { S3ConnectionConfig } from '../common/s3-connection.js'
import { LocationError, type StorageLocation, parseLocation } from '../common/storage-location.js'
import { defineAllViews } from './catalog.js'
import { type DuckDbS3Access, createDuckDbEngine } from './engine/duckdb.js'
import { PipelineError } from './errors.js'
import { type Counts, countsFromRows } from './report.js'
import { openS3StateForRead } from './s3/lakehouse.js'
import { StateStore, type TableVersion } from './state.js'
import { versionPaths } from './storage.js'

export interface Snapshot {
  /** the lakehouse as the user named it */
  lakehouseDir: string
  versions: Map<TableName, TableVersion>
  /** the engine paths of a version's files, checked to exist */
  paths: (version: TableVersion) => Promise<string[]>
  /** what the engine needs to read them from S3 */
  s3?: DuckDbS3Access
  /** the folder or prefix a query may read */
  root: string
  close: () => void
}

export interface ReaderOptions {
  /** how to reach S3, for an s3:// lakehouse */
  s3?: S3ConnectionConfig
}

/** The state of a lakehouse, opened for reading (local: in place; S3: a fresh local copy). */
export async function openStateForRead (lakehouse: string, options: ReaderOptions = {}): Promise<{ state: StateStore, dispose: () => Promise<void> }> {
  const location = readerLocation(lakehouse)
  if (location.kind === 'local') {
    const state = await StateStore.open(location.path, { create: false })
    return { state, dispose: async () => { await state.close() } }
  }
  const session = (await import('./s3/access.js')).openS3Session(options.s3)
  try {
    const { state, dispose } = await openS3StateForRead(session.bucket(location.bucket), location)
    return { state, dispose: async () => { await dispose(); session.close() } }
  } catch (err) {
    session.close()
    throw err
  }
}

async function currentVersions (state: StateStore): Promise<Map<TableName, TableVersion>> {
  const versions = await state.currentVersions()
  if (versions.size === 0) {
    throw new PipelineError('PIPE_ERR_LAKEHOUSE_MISSING',
      `lakehouse ${state.label} has no committed run yet: run \`stedi pipeline run\` first`, { path: state.label })
  }
  return versions
}

export async function openSnapshot (lakehouse: string, options: ReaderOptions = {}): Promise<Snapshot> {
  const location = readerLocation(lakehouse)
  if (location.kind === 'local') {
    const state = await StateStore.open(location.path, { create: false })
    try {
      const versions = await currentVersions(state)
      return { lakehouseDir: state.lakehouseDir, versions, paths: async (v) => await versionPaths(location.path, v), root: state.lakehouseDir, close: () => {} }
    } finally {
      await state.close()
    }
  }
  // the versions are all a reader needs of the state; the session stays open to read the files
  const session = (await import('./s3/access.js')).openS3Session(options.s3)
  try {
    const bucket = session.bucket(location.bucket)
    const { state, dispose } = await openS3StateForRead(bucket, location)
    const versions = await currentVersions(state).finally(dispose)
    const prefix = location.prefix === '' ? '' : `${location.prefix}/`
    return {
      lakehouseDir: location.uri,
      versions,
      paths: async (v) => {
        for (const f of v.files) if (await bucket.head(`${prefix}${f}`) === undefined) throw new Error(`${f} is missing`)
        return v.files.map((f) => `s3://${location.bucket}/${prefix}${f}`)
      },
      s3: await session.duckdb(location.bucket),
      root: `${location.uri}/`,
      close: () => { session.close() }
    }
  } catch (err) {
    session.close()
    throw err
  }
}

function readerLocation (lakehouse: string): StorageLocation {
  try {
    return parseLocation(lakehouse, '--lakehouse')
  } catch (err) {
    if (err instanceof LocationError) throw new PipelineError('PIPE_ERR_BAD_OPTION', err.message)
    throw err
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
      files.set(table, await snapshot.paths(version))
    } catch (err) {
      if (err instanceof PipelineError) throw err
      throw new PipelineError('PIPE_ERR_STATE_CORRUPT',
        `a file of ${table} (version ${version.version}) is missing from ${snapshot.lakehouseDir}: rebuild with \`stedi pipeline run --full-refresh\``,
        { path: snapshot.lakehouseDir, cause: err })
    }
  }
  const engine = await createDuckDbEngine({
    threads: Math.max(1, os.availableParallelism()),
    memoryLimitMb: options.memoryLimitMb ?? 1024,
    tempDir: path.join(os.tmpdir(), 'stedi-query'),
    s3: snapshot.s3
  })
  try {
    await defineAllViews(engine, files)
    // after the views exist: the query may read the lakehouse and nothing else, nor change settings
    await engine.exec(`SET allowed_directories = ['${snapshot.root.replaceAll("'", "''")}']`)
    await engine.exec('SET enable_external_access = false')
    await engine.exec('SET lock_configuration = true')
    return await engine.readOnly(sql)
  } finally {
    engine.close()
  }
}
