// The landing zone in a bucket: `<prefix>/<dataset>/landing/*.json`, as on disk. An object's
// identity is its key, size and ETag, all in the listing: an object read before is never fetched
// again. A new one is downloaded once, by ETag (If-Match), into the run's scratch, so what the run
// records as read is exactly the version it read even if a writer replaces the object meanwhile;
// from there the input rules run as for a local file.
import path from 'node:path'
import { DATASETS, DATASET_NAMES, type DatasetName, isLandingFileName } from '../../contracts/datasets.js'
import { s3Key } from '../../common/storage-location.js'
import { PipelineError } from '../errors.js'
import type { LandingFile } from '../landing/scan.js'
import type { Bucket } from './bucket.js'

export interface LandingObject {
  dataset: DatasetName
  relPath: string
  key: string
  size: number
  etag: string
  lastModifiedMs: number
}

/** Downloads at once: enough to hide the latency of each request on a local server or in a region. */
const DOWNLOAD_CONCURRENCY = 8

/** What the state records as an S3 landing object's content identity (where a local file has its SHA-256). */
export const objectIdentity = (o: { size: number, etag: string }): string => `s3:${o.size}:${o.etag}`

export async function listLandingObjects (bucket: Bucket, location: { prefix: string, uri: string }): Promise<LandingObject[]> {
  const objects: LandingObject[] = []
  for (const dataset of DATASET_NAMES) {
    const dir = DATASETS[dataset].landingDir
    for (const o of await bucket.list(`${s3Key(location, dir)}/`, { delimiter: true })) {
      const name = o.key.slice(o.key.lastIndexOf('/') + 1)
      if (!isLandingFileName(name)) continue
      objects.push({ dataset, relPath: `${dir}/${name}`, key: o.key, size: o.size, etag: o.etag, lastModifiedMs: o.lastModifiedMs })
    }
  }
  if (objects.length === 0) {
    throw new PipelineError('PIPE_ERR_LANDING_EMPTY_LAYOUT',
      `landing ${location.uri} has no objects in customer/landing/, accelerometer/landing/ or step_trainer/landing/: is --landing the right prefix?`,
      { path: location.uri })
  }
  objects.sort((a, b) => a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0)
  return objects
}

/** Fetches objects into `mirror` under their landing-relative paths; returns them as local landing files. */
export async function downloadLanding (bucket: Bucket, objects: readonly LandingObject[], mirror: string, onProgress?: (done: number) => void): Promise<LandingFile[]> {
  const out = new Array<LandingFile>(objects.length)
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const i = next++
      const o = objects[i]
      const absPath = path.join(mirror, o.relPath)
      const got = await bucket.download(o.key, absPath, { ifMatch: o.etag })
      if (got === undefined) {
        throw new PipelineError('PIPE_ERR_LANDING_UNREADABLE',
          `landing object s3://${bucket.name}/${o.key} was replaced or removed while this run read it: run again`, { path: o.key })
      }
      out[i] = { dataset: o.dataset, relPath: o.relPath, absPath, size: o.size, mtimeMs: o.lastModifiedMs }
      onProgress?.(++done)
    }
  }
  await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, objects.length) }, worker))
  return out
}
