// The landing files the current tables were built from, gathered into a local folder for the
// recomputation: each file whose content is the one the state last recorded as read under its
// path. Left out, and counted: files no run has read yet (the next run's, not drift), files whose
// content changed since it was read, and retired contents (their rows are carried from the
// lakehouse). Files the state read that are gone without retirement are counted as missing: their
// rows are in the lakehouse and in no landing file.
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS, DATASET_NAMES } from '../../contracts/datasets.js'
import type { StorageLocation } from '../../common/storage-location.js'
import type { PipelineError } from '../errors.js'
import { scanLanding } from '../landing/scan.js'
import { sha256Hex } from '../privacy/landing-access.js'
import type { S3Session } from '../s3/access.js'
import { type LandingObject, downloadLanding, listLandingObjects, objectIdentity } from '../s3/landing.js'
import { type KnownFile, type RetiredFile, fileIdentity } from '../state.js'

export interface LandingInputs {
  /** files read by the recomputation */
  compared: number
  /** retired contents, whose rows the recomputation takes from the lakehouse */
  retired: number
  /** files no run has read yet */
  notYetRead: number
  /** files read before with other content than they have now */
  changed: number
  /** files the state records as read, neither in landing nor retired */
  missing: number
}

type Verdict = 'compared' | 'retired' | 'notYetRead' | 'changed'

export async function gatherLandingInputs (
  landing: StorageLocation, into: string, s3: S3Session | undefined, known: ReadonlyMap<string, KnownFile>, retired: readonly RetiredFile[]
): Promise<LandingInputs> {
  for (const dataset of DATASET_NAMES) await fs.mkdir(path.join(into, DATASETS[dataset].landingDir), { recursive: true })
  const retiredIds = new Set(retired.map((r) => fileIdentity(r.path, r.sha256)))
  const verdict = (relPath: string, identity: string): Verdict => {
    if (retiredIds.has(fileIdentity(relPath, identity))) return 'retired'
    const read = known.get(relPath)
    if (read === undefined) return 'notYetRead'
    return read.sha256 === identity ? 'compared' : 'changed'
  }
  const counts: LandingInputs = { compared: 0, retired: retiredIds.size, notYetRead: 0, changed: 0, missing: 0 }
  const listed = new Set<string>()
  if (landing.kind === 'local') {
    for (const f of (await scanLanding(landing.path)).files) {
      listed.add(f.relPath)
      const read = known.get(f.relPath)
      // the state's own test of a known file: the same size and modification time, else its hash
      const sameStat = read !== undefined && read.size === f.size && read.mtimeMs === f.mtimeMs
      const v = verdict(f.relPath, sameStat ? read.sha256 : sha256Hex(await fs.readFile(f.absPath)))
      if (v === 'compared') await fs.symlink(f.absPath, path.join(into, f.relPath))
      if (v !== 'retired') counts[v]++
    }
  } else {
    const bucket = s3!.bucket(landing.bucket)
    const wanted: LandingObject[] = []
    for (const o of await listObjects(s3!, landing)) {
      listed.add(o.relPath)
      const v = verdict(o.relPath, objectIdentity(o))
      if (v === 'compared') wanted.push(o)
      if (v !== 'retired') counts[v]++
    }
    // by ETag: what is read is the content judged
    await downloadLanding(bucket, wanted, into)
  }
  for (const [relPath, read] of known) {
    if (!listed.has(relPath) && !retiredIds.has(fileIdentity(relPath, read.sha256))) counts.missing++
  }
  return counts
}

async function listObjects (s3: S3Session, landing: Extract<StorageLocation, { kind: 's3' }>): Promise<LandingObject[]> {
  const bucket = s3.bucket(landing.bucket)
  await bucket.check()
  try {
    return await listLandingObjects(bucket, landing)
  } catch (err) {
    // retention may have emptied the landing: every row is then carried from the lakehouse
    if ((err as PipelineError).code === 'PIPE_ERR_LANDING_EMPTY_LAYOUT') return []
    throw err
  }
}
