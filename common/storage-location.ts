// Where a landing zone or a lakehouse lives: a local folder, or a prefix in an S3 bucket. Anything
// that looks like a URI is one: `s3:/bucket` (a typo) or `gs://b` must never become a local folder
// named `s3:` or `gs:`, so a scheme we do not serve is refused rather than taken as a path.
import path from 'node:path'

export type StorageLocation =
  | { readonly kind: 'local', readonly path: string }
  /** prefix: without leading or trailing slash ('' for the bucket's root) */
  | { readonly kind: 's3', readonly bucket: string, readonly prefix: string, readonly uri: string }

export class LocationError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'LocationError'
  }
}

// two letters at least: `C:\data` is a Windows path, not a URI
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/
// S3's bucket naming rules (general purpose buckets), enough to refuse a mistyped URI early
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

export function parseLocation (value: string, flag: string): StorageLocation {
  const scheme = SCHEME.exec(value)?.[1]
  if (scheme === undefined) return { kind: 'local', path: path.resolve(value) }
  if (scheme.toLowerCase() !== 's3') {
    throw new LocationError(`${flag} ${value}: only local folders and s3://BUCKET/PREFIX are supported, not ${scheme}:`)
  }
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(value)
  if (match === null) throw new LocationError(`${flag} ${value}: write an S3 location as s3://BUCKET/PREFIX`)
  const bucket = match[1]
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '')
  if (!BUCKET.test(bucket)) throw new LocationError(`${flag} ${value}: "${bucket}" is not a valid S3 bucket name`)
  if (prefix.split('/').some((part) => part === '.' || part === '..' || (part === '' && prefix !== ''))) {
    throw new LocationError(`${flag} ${value}: the prefix may not have empty, . or .. parts`)
  }
  return { kind: 's3', bucket, prefix, uri: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}` }
}

/** The location as a user writes it: the folder, or s3://bucket/prefix. */
export function locationText (location: StorageLocation): string {
  return location.kind === 'local' ? location.path : location.uri
}

/** The key of `rel` below an S3 location's prefix. */
export function s3Key (location: { prefix: string }, rel: string): string {
  return location.prefix === '' ? rel : `${location.prefix}/${rel}`
}
