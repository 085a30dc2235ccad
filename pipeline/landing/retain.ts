// Retention (--retain-landing): after a successful run, landing files whose rows the lakehouse holds
// and that were last modified longer ago than the period are deleted, locally or in a bucket.
// The run decides before its commit and records the retired identities in it; the files go after
// it, each only if its content is still the one read (a local file's size and mtime, else its
// SHA-256; an object's size and ETag). A run killed between the commit and the deletion leaves
// files that are marked retired but present: the next run with the option deletes them (they are
// read and old), and a run without it leaves them, already known, unread.
// Age is the file's modification time (S3: LastModified), not the timestamp in a gateway's file
// name: it applies to any landing file, and a copied or restored file counts as new (kept longer).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { DATASETS, type DatasetName } from '../../contracts/datasets.js'
import { landingTableOf, quarantineTableOf, type TableName } from '../../contracts/lakehouse.js'
import { s3Key } from '../../common/storage-location.js'
import { type SqlEngine, sqlString } from '../engine/duckdb.js'
import { PipelineError, isPipelineError } from '../errors.js'
import type { Bucket } from '../s3/bucket.js'
import { type LandingObject, objectIdentity } from '../s3/landing.js'
import { type KnownFile, type NewLandingFile, type RetiredFile, fileIdentity } from '../state.js'
import type { LandingFile } from './scan.js'

/** A landing file to retire, with what its deletion checks: the content read. */
export interface RetiringFile {
  path: string
  /** the identity read: a SHA-256, or s3:size:ETag */
  sha256: string
  size: number
  local?: { absPath: string, mtimeMs: number }
  object?: { key: string, etag: string }
}

export interface RetentionFigures { retired: number, bytes: number }

type Listed = { kind: 'local', files: readonly LandingFile[] } | { kind: 's3', objects: readonly LandingObject[] }

/**
 * The listed landing files that may go once this run commits: old enough, not awaiting an erasure's
 * rewrite, and read (by a committed run, or by this one: its commit promotes them) with the content
 * they have now. A file whose identity is unknown is never chosen.
 */
export function planRetirement (input: {
  retainLandingMs: number
  nowMs: number
  listed: Listed
  known: { byPath: ReadonlyMap<string, KnownFile>, identities: ReadonlySet<string> }
  /** the files this run hashed or read, with their identities (they join the state at its commit) */
  read: readonly NewLandingFile[]
  /** paths an erasure has yet to rewrite */
  pending: ReadonlySet<string>
}): RetiringFile[] {
  const cutoffMs = input.nowMs - input.retainLandingMs
  const out: RetiringFile[] = []
  if (input.listed.kind === 's3') {
    const readNow = new Set(input.read.map((f) => fileIdentity(f.path, f.sha256)))
    for (const o of input.listed.objects) {
      if (o.lastModifiedMs > cutoffMs || input.pending.has(o.relPath)) continue
      const identity = fileIdentity(o.relPath, objectIdentity(o))
      if (!input.known.identities.has(identity) && !readNow.has(identity)) continue
      out.push({ path: o.relPath, sha256: objectIdentity(o), size: o.size, object: { key: o.key, etag: o.etag } })
    }
    return out
  }
  const readNow = new Map(input.read.map((f) => [f.path, f]))
  for (const f of input.listed.files) {
    if (f.mtimeMs > cutoffMs || input.pending.has(f.relPath)) continue
    const sameStat = (k: KnownFile | undefined): k is KnownFile => k !== undefined && k.size === f.size && k.mtimeMs === f.mtimeMs
    const hashed = readNow.get(f.relPath)
    const known = input.known.byPath.get(f.relPath)
    const sha256 = sameStat(hashed)
      ? hashed.sha256
      : sameStat(known) && input.known.identities.has(fileIdentity(f.relPath, known.sha256)) ? known.sha256 : undefined
    if (sha256 === undefined) continue
    out.push({ path: f.relPath, sha256, size: f.size, local: { absPath: f.absPath, mtimeMs: f.mtimeMs } })
  }
  return out
}

/** Deletes the retired files whose content is still the one read (after the commit that retired them). */
export async function deleteRetired (files: readonly RetiringFile[], bucket?: Bucket, location?: { prefix: string }): Promise<RetentionFigures> {
  const figures = { retired: 0, bytes: 0 }
  if (files.length === 0) return figures
  if (files[0].object !== undefined) return await deleteObjects(files, bucket!, location!)
  const failures: string[] = []
  for (const f of files) {
    const { absPath, mtimeMs } = f.local!
    try {
      const stat = await fsp.stat(absPath).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return undefined; throw err })
      if (stat === undefined || stat.size !== f.size) continue
      // a touched file (same size, new mtime) may still hold the content read: hash it to know
      if (stat.mtimeMs !== mtimeMs && await sha256Of(absPath) !== f.sha256) continue
      await fsp.unlink(absPath)
      figures.retired++
      figures.bytes += f.size
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      failures.push(`${absPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
  }
  if (failures.length > 0) throw retentionError(`${failures.length} could not be deleted: ${failures.slice(0, 3).join(', ')}${failures.length > 3 ? ', ...' : ''}`)
  return figures
}

async function deleteObjects (files: readonly RetiringFile[], bucket: Bucket, location: { prefix: string }): Promise<RetentionFigures> {
  try {
    // one listing per dataset folder: an object replaced since the run listed it is not deleted
    // (a writer replacing one between this listing and the delete is the window S3 leaves open)
    const dirs = new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))
    const now = new Map<string, { size: number, etag: string }>()
    for (const dir of dirs) for (const o of await bucket.list(`${s3Key(location, dir)}/`, { delimiter: true })) now.set(o.key, o)
    const doomed = files.filter((f) => {
      const o = now.get(f.object!.key)
      return o !== undefined && o.size === f.size && o.etag === f.object!.etag
    })
    await bucket.delete(doomed.map((f) => f.object!.key))
    return { retired: doomed.length, bytes: doomed.reduce((sum, f) => sum + f.size, 0) }
  } catch (err) {
    if (isPipelineError(err) && err.code !== 'PIPE_ERR_RETENTION') throw retentionError(err.message, err)
    throw err
  }
}

function retentionError (why: string, cause?: unknown): PipelineError {
  return new PipelineError('PIPE_ERR_RETENTION',
    `the run committed, but retiring landing files failed: ${why}; the next run with --retain-landing deletes them once the cause is fixed`,
    { cause })
}

async function sha256Of (file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(fs.createReadStream(file), hash)
  return hash.digest('hex')
}

/**
 * A full refresh re-reads the landing files present; the rows of retired files exist only in the
 * current landing and quarantine parts. Copies them, per table, into `target(table)`: each retired
 * identity's rows are those of its file read by its run (a later content under the same path, read
 * by another run, is not carried: it is read again if present). Returns the rows written per table.
 */
export async function carryRetiredRows (
  engine: SqlEngine, retired: readonly RetiredFile[], currentFiles: (table: TableName) => readonly string[], target: (table: TableName) => string
): Promise<Map<TableName, number>> {
  const carried = new Map<TableName, number>()
  for (const dataset of new Set(retired.map((r) => r.dataset as DatasetName))) {
    if (DATASETS[dataset] === undefined) continue
    const keys = retired.filter((r) => r.dataset === dataset).map((r) => `(${sqlString(r.path)}, ${r.runId})`).join(', ')
    for (const table of [landingTableOf(dataset), quarantineTableOf(dataset)]) {
      const files = currentFiles(table)
      if (files.length === 0) continue
      const select = `SELECT t.* FROM read_parquet([${files.map(sqlString).join(', ')}]) t
        SEMI JOIN (VALUES ${keys}) AS r(path, run) ON t._file = r.path AND t._run = r.run`
      const [{ n }] = await engine.rows<{ n: number }>(`SELECT count(*) AS n FROM (${select})`)
      if (Number(n) === 0) continue
      await engine.exec(`COPY (${select}) TO ${sqlString(target(table))} (FORMAT parquet)`)
      carried.set(table, Number(n))
    }
  }
  return carried
}
