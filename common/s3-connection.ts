// How to reach S3, the AWS way: credentials from the SDK's chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, a profile, an instance role), AWS_REGION, and an endpoint from an option or
// AWS_ENDPOINT_URL_S3 for an S3-compatible server, which then gets path-style addressing (a local
// server has no per-bucket host names). Resolved once, at the composition root, then passed down.
import { createRequire } from 'node:module'
import type { S3Client } from '@aws-sdk/client-s3'
import { LocationError } from './storage-location.js'

export interface S3ConnectionConfig {
  /** an S3-compatible server, e.g. http://127.0.0.1:7070; undefined: AWS S3 itself */
  readonly endpoint?: string
  readonly region: string
  /** bucket in the path rather than the host name: always with an endpoint */
  readonly forcePathStyle: boolean
  /** attempts per request, with the SDK's backoff between them */
  readonly maxAttempts: number
  /** how long to wait for a TCP connection before calling the endpoint unreachable (ms) */
  readonly connectTimeoutMs: number
}

export function s3ConnectionFromEnv (env: NodeJS.ProcessEnv, endpointOption?: string): S3ConnectionConfig {
  const endpoint = endpointOption ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL)
  if (endpoint !== undefined) {
    let url: URL | undefined
    try { url = new URL(endpoint) } catch { url = undefined }
    if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.host === '') {
      throw new LocationError(`the S3 endpoint must be an http:// or https:// URL such as http://127.0.0.1:7070 (got ${endpoint})`)
    }
  }
  return Object.freeze({
    endpoint: endpoint?.replace(/\/+$/, ''),
    region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
    forcePathStyle: endpoint !== undefined,
    maxAttempts: 3,
    connectTimeoutMs: 3000
  })
}

/** A client; credentials come from the SDK's chain unless given (a server we started ourselves). */
// the AWS SDK takes a fifth of a second to load: a run on local folders never pays it
const require = createRequire(import.meta.url)

export function createS3Client (config: S3ConnectionConfig, credentials?: { accessKeyId: string, secretAccessKey: string }): S3Client {
  const { S3Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')
  // The SDK warns on stderr, once per process, that its releases from 2027 need Node 22: a
  // command's stderr is one line per error here, and package.json's range decides which SDK we get.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    maxAttempts: config.maxAttempts,
    credentials,
    requestHandler: { connectionTimeout: config.connectTimeoutMs }
  })
}

/** The endpoint as messages name it. */
export function endpointText (config: S3ConnectionConfig): string {
  return config.endpoint ?? `AWS S3 (${config.region})`
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
