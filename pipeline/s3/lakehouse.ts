// A lakehouse in a bucket, with the promises of a local one.
// - One run at a time: a lease (lease.ts) held from before the state is read until after it is put.
// - The state (`_state/pipeline.sqlite`) is downloaded into a private folder, changed there as on
//   disk, and put back with If-Match on the ETag it was read at (If-None-Match: * for a new
//   lakehouse): that conditional write is the commit point. A run that dies before it leaves the
//   previous state, hence the previous versions, current; one whose lease was taken over cannot
//   commit (the ETag moved, or its confirmation fails first).
// - Table files are written under `_files/` (hidden from Athena, Spark, DuckDB) with a per-run tag
//   in their names, so that a run that lost its lease cannot overwrite a file another run committed.
//   The visible names are server-side copies made after the commit: each appears whole, and
//   `data.parquet` is replaced in one PUT, so a reader of a table's prefix never sees half a table.
// The Spark jobs can follow the same protocol (boto3 has the same conditional writes).
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { STATE_DB, STATE_DIR, TABLE_NAMES, type TableName, tableDir } from '../../contracts/lakehouse.js'
import { s3Key } from '../../common/storage-location.js'
import { PipelineError } from '../errors.js'
import type { RunLakehouse } from '../lakehouse.js'
import { StateStore, type TableVersion } from '../state.js'
import { FILES_DIR } from '../storage.js'
import { DATA_FILE, publicationSteps, visibleNames } from '../visible-layout.js'
import type { Bucket } from './bucket.js'
import { Lease, leaseTiming } from './lease.js'

export interface S3Location { bucket: string, prefix: string, uri: string }

export const LEASE_KEY = `${STATE_DIR}/lease.json`
/** user metadata on a visible copy: the immutable file it copies */
const SOURCE_META = 'stedi-source'

const objectUri = (location: S3Location, rel: string): string => `s3://${location.bucket}/${s3Key(location, rel)}`

/** Takes the lease (PIPE_ERR_BUSY at once, or after waitMs), reads the state, opens a run on a local copy. */
export async function beginS3Run (
  bucket: Bucket, location: S3Location, options: Record<string, unknown>, waitMs: number, leaseMs: number
): Promise<RunLakehouse> {
  await bucket.check()
  const lease = await Lease.acquire(bucket, s3Key(location, LEASE_KEY), location.uri, leaseTiming(leaseMs), waitMs)
  const local = await fs.mkdtemp(path.join(os.tmpdir(), 'stedi-lakehouse-'))
  let state: StateStore | undefined
  let stateEtag: string | undefined
  let runId: number
  try {
    stateEtag = await fetchState(bucket, location, local, true)
    state = await StateStore.open(local, { create: true, label: location.uri })
    runId = await state.beginRun(options, 0)
  } catch (err) {
    await state?.close()
    await lease.release()
    await fs.rm(local, { recursive: true, force: true })
    throw err
  }
  const openState = state
  const scratch = path.join(local, 'scratch')
  const uri = (rel: string): string => objectUri(location, rel)
  // conditional on the state this run read: the commit point, refused if anyone else committed since
  const putState = async (): Promise<void> => {
    await openState.checkpoint()
    await lease.confirm()
    const file = path.join(local, STATE_DB)
    const key = s3Key(location, STATE_DB)
    const etag = await bucket.putFile(key, file, stateEtag === undefined ? { ifNoneMatch: '*' } : { ifMatch: stateEtag })
    if (etag === undefined) {
      throw new PipelineError('PIPE_ERR_LEASE_LOST', `another run committed to ${location.uri} while this one ran; this run was not committed: run again`, { path: location.uri })
    }
    stateEtag = etag
  }
  return {
    location: location.uri,
    state: openState,
    runId,
    scratch,
    fileTag: lease.token,
    uri,
    prepare: async () => {},
    place: async (localFile, rel) => {
      await bucket.putFile(s3Key(location, rel), localFile)
      await fs.rm(localFile, { force: true })
    },
    // an object store has made an object durable when its PUT answered
    durable: async () => {},
    reconcile: async (current, retained) => {
      // deleting what no version names is safe only while no other run writes: confirm first
      await lease.confirm()
      await reconcileS3(bucket, location, current, retained)
    },
    clearScratch: async () => { await fs.rm(scratch, { recursive: true, force: true }) },
    commit: async (input) => {
      await fs.rm(scratch, { recursive: true, force: true })
      await openState.commitRun(runId, input)
      await putState()
    },
    abort: async (options, message) => {
      const inRun = openState.holdsLock
      await openState.abortRun(runId, options, message)
      // the failure goes into the run history too, unless the run cannot write the state any more
      if (inRun) await putState().catch(() => undefined)
    },
    close: async () => {
      await openState.close()
      await lease.release()
      await fs.rm(local, { recursive: true, force: true })
    }
  }
}

/**
 * Downloads the state into `local`; returns its ETag, or undefined for a lakehouse not made yet. A
 * writer (`create`) refuses a prefix that holds other objects; a reader refuses a missing state.
 */
async function fetchState (bucket: Bucket, location: S3Location, local: string, create: boolean): Promise<string | undefined> {
  const got = await bucket.download(s3Key(location, STATE_DB), path.join(local, STATE_DB))
  if (got !== undefined) return got.etag
  if (!create) {
    throw new PipelineError('PIPE_ERR_LAKEHOUSE_MISSING',
      `no lakehouse at ${location.uri}: run \`stedi pipeline run --lakehouse ${location.uri}\` first`, { path: location.uri })
  }
  const others = (await bucket.list(location.prefix === '' ? '' : `${location.prefix}/`, { max: 2 }))
    .filter((o) => o.key !== s3Key(location, LEASE_KEY))
  if (others.length > 0) {
    throw new PipelineError('PIPE_ERR_NOT_A_LAKEHOUSE',
      `${location.uri} is not a lakehouse (it holds objects and no ${STATE_DB}): choose a new or empty prefix`, { path: location.uri })
  }
  return undefined
}

/** The state as it is now, for a reader: a local copy, removed by dispose. */
export async function openS3StateForRead (bucket: Bucket, location: S3Location): Promise<{ state: StateStore, dispose: () => Promise<void> }> {
  await bucket.check()
  const local = await fs.mkdtemp(path.join(os.tmpdir(), 'stedi-lakehouse-'))
  try {
    await fetchState(bucket, location, local, false)
    const state = await StateStore.open(local, { create: false, label: location.uri })
    return { state, dispose: async () => { await state.close(); await fs.rm(local, { recursive: true, force: true }) } }
  } catch (err) {
    await fs.rm(local, { recursive: true, force: true })
    throw err
  }
}

/** Visible copies that match the state, and no file that no retained version names (as storage.ts does on disk). */
async function reconcileS3 (bucket: Bucket, location: S3Location, current: ReadonlyMap<TableName, TableVersion>, retained: ReadonlySet<string>): Promise<void> {
  const doomed: string[] = []
  for (const table of TABLE_NAMES) {
    const dir = tableDir(table)
    const dirKey = `${s3Key(location, dir)}/`
    const objects = await bucket.list(dirKey)
    const visible = new Map(objects.filter((o) => !o.key.slice(dirKey.length).includes('/')).map((o) => [o.key.slice(dirKey.length), o]))
    const files = current.get(table)?.files ?? []
    const desired = new Map(visibleNames(table, files))
    const shown = new Map<string, string | undefined>()
    for (const [name, o] of visible) {
      if (name.endsWith('.tmp')) { doomed.push(o.key); continue }
      if (!name.endsWith('.parquet')) continue
      // a part's or a delta's name is its file's: if it is there, it is that file (copies land whole);
      // data.parquet says which file it copies in its metadata
      const canonical = desired.get(name)
      shown.set(name, name !== DATA_FILE ? canonical : (await bucket.head(o.key))?.metadata[SOURCE_META])
    }
    // in order, one at a time (visible-layout.ts: a reader listing the prefix sees a whole version)
    for (const step of publicationSteps(table, files, shown)) {
      if (step.action === 'remove') await bucket.delete([`${dirKey}${step.name}`])
      else await bucket.copy(s3Key(location, step.canonical!), `${dirKey}${step.name}`, { [SOURCE_META]: step.canonical! })
    }
    const filesPrefix = `${dirKey}${FILES_DIR}/`
    for (const o of objects) {
      if (o.key.startsWith(filesPrefix) && !o.key.endsWith('/') && !retained.has(`${dir}/${FILES_DIR}/${o.key.slice(filesPrefix.length)}`)) doomed.push(o.key)
    }
  }
  await bucket.delete(doomed)
}
