// The S3 sink: each landing file of a flush becomes one object, `<prefix>/<dataset>/landing/<name>`,
// under the file sink's names (they sort by arrival and carry the gateway's id, so several gateways
// can share one landing prefix). An object is written only if no object has its key (a conditional
// put, `If-None-Match: *`), so nothing is ever overwritten: when a flush is published again after a
// crash or a failed attempt and its object is already there, the object's content digest (kept in its
// metadata) must be this flush's, or the flush fails rather than replace another's data. Large files
// go up in parts, the completion conditional the same way. A flush stays in the outbox until S3 has
// confirmed every object; attempts back off, and the batcher retries a failed flush later.
import { createHash } from 'node:crypto'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadBucketCommand,
  HeadObjectCommand, PutObjectCommand, type S3Client, UploadPartCommand
} from '@aws-sdk/client-s3'
import { DATASETS } from '../../../contracts/datasets.js'
import { GatewayError } from '../../errors.js'
import type { Flush } from '../../outbox/outbox.js'
import type { Sink } from './sink.js'

export interface S3SinkOptions {
  client: S3Client
  bucket: string
  /** without leading or trailing slash; '' for the bucket's root */
  prefix: string
  /** how messages name the store (the endpoint, or AWS S3 and its region) */
  endpoint: string
  /** a file larger than this goes up in parts (bytes) */
  multipartBytes?: number
  /** the size of a part (bytes; S3 wants at least 5 MiB but for the last) */
  partBytes?: number
  /** attempts per object before the flush fails (and waits for the batcher's next try) */
  maxAttempts?: number
  /** injectable for tests */
  sleep?: (ms: number) => Promise<void>
  /** told of every object written, every retry and every failed attempt */
  events?: { onObject?: (dataset: string, bytes: number) => void, onRetry?: (dataset: string) => void, onError?: (dataset: string) => void }
}

const DIGEST_KEY = 'content-sha256'

const statusOf = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
const nameOf = (err: unknown): string => (err as { name?: string }).name ?? ''

export function createS3Sink (options: S3SinkOptions): Sink & { verify: () => Promise<void> } {
  const { client, bucket } = options
  const multipartBytes = options.multipartBytes ?? 16 * 1024 * 1024
  const partBytes = Math.max(5 * 1024 * 1024, options.partBytes ?? 8 * 1024 * 1024)
  const maxAttempts = options.maxAttempts ?? 5
  const sleep = options.sleep ?? (async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const where = `S3 bucket ${bucket} at ${options.endpoint}`
  let lastError: string | undefined

  const keyOf = (flush: Flush, file: string): string =>
    [options.prefix, DATASETS[flush.dataset].landingDir, file].filter((p) => p !== '').join('/')

  /** When the key is taken: ours (a publication repeated) or someone else's (never overwritten). */
  const alreadyOurs = async (key: string, digest: string): Promise<void> => {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    if (head.Metadata?.[DIGEST_KEY] !== digest) {
      throw new GatewayError('GW_ERR_SINK', `${where}: ${key} already holds other content; a landing object is never overwritten`)
    }
  }

  const putSingle = async (key: string, body: Buffer, digest: string): Promise<void> => {
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*', ContentType: 'application/x-ndjson', Metadata: { [DIGEST_KEY]: digest } }))
    } catch (err) {
      if (statusOf(err) !== 412) throw err
      await alreadyOurs(key, digest)
    }
  }

  const putParts = async (key: string, body: Buffer, digest: string): Promise<void> => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/x-ndjson', Metadata: { [DIGEST_KEY]: digest } }))
    try {
      const parts = []
      for (let at = 0, n = 1; at < body.length; at += partBytes, n++) {
        const { ETag } = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: body.subarray(at, at + partBytes) }))
        parts.push({ ETag, PartNumber: n })
      }
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: '*' }))
    } catch (err) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined)
      if (statusOf(err) !== 412) throw err
      await alreadyOurs(key, digest)
    }
  }

  const put = async (flush: Flush, file: string, lines: string[]): Promise<void> => {
    const key = keyOf(flush, file)
    const body = Buffer.from(lines.join('\n') + '\n')
    const digest = createHash('sha256').update(body).digest('hex')
    for (let attempt = 1; ; attempt++) {
      try {
        await (body.length > multipartBytes ? putParts(key, body, digest) : putSingle(key, body, digest))
        options.events?.onObject?.(flush.dataset, body.length)
        return
      } catch (err) {
        options.events?.onError?.(flush.dataset)
        // content that is not ours will not become ours by trying again
        if (err instanceof GatewayError || attempt >= maxAttempts) {
          throw err instanceof GatewayError ? err : new GatewayError('GW_ERR_SINK', `${where}: ${key}: ${(err as Error).message}`, { cause: err })
        }
        options.events?.onRetry?.(flush.dataset)
        await sleep(Math.min(100 * 2 ** (attempt - 1), 5000))
      }
    }
  }

  return {
    name: 's3',
    publish: async (flush, files) => {
      try {
        for (const { file, lines } of files) await put(flush, file, lines)
        lastError = undefined
      } catch (err) {
        lastError = (err as Error).message
        throw err
      }
    },
    check: async () => lastError,
    /** One line naming endpoint and bucket when the store cannot be used (at start: not a crash loop). */
    verify: async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }))
      } catch (err) {
        const status = statusOf(err)
        const why = status === 404 || nameOf(err) === 'NotFound' ? 'the bucket does not exist'
          : status === 403 ? 'the credentials are refused (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)'
            : status === undefined ? `it cannot be reached (${(err as Error).message})` : `HTTP ${status}`
        throw new GatewayError('GW_ERR_LANDING', `${where}: ${why}`, { cause: err })
      }
    },
    close: async () => { client.destroy() }
  }
}
