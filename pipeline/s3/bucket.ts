// The S3 calls the pipeline makes, on one bucket, each failure turned into one coded line naming
// the endpoint and the bucket. Conditional writes (If-None-Match, If-Match) answer 412 when another
// writer came first: that is an outcome here (undefined), not an error.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import {
  CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, type S3Client
} from '@aws-sdk/client-s3'
import type { S3ConnectionConfig } from '../../common/s3-connection.js'
import { isNotFound, isPreconditionFailed, s3Failure } from './errors.js'

export interface ObjectInfo { key: string, size: number, etag: string, lastModifiedMs: number }

export interface Conditions {
  /** write only if the object's ETag is this one */
  ifMatch?: string
  /** write only if there is no such object */
  ifNoneMatch?: '*'
}

/** files larger than this are streamed to S3 rather than read into memory first */
const STREAM_ABOVE_BYTES = 16 * 1024 * 1024
// DeleteObjects takes at most this many keys a call
const DELETE_BATCH = 1000

export class Bucket {
  constructor (readonly client: S3Client, readonly connection: S3ConnectionConfig, readonly name: string) {}

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw s3Failure(err, this.connection, this.name, what)
    }
  }

  /** Fails at once, with the reason, when the endpoint, the credentials or the bucket are wrong. */
  async check (): Promise<void> {
    await this.call('find the bucket', async () => await this.client.send(new HeadBucketCommand({ Bucket: this.name })))
  }

  /** Every object below `prefix`; with `delimiter`, only those directly in it. */
  async list (prefix: string, options: { delimiter?: boolean, max?: number } = {}): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = []
    let token: string | undefined
    do {
      const page = await this.call(`list ${prefix}`, async () => await this.client.send(new ListObjectsV2Command({
        Bucket: this.name, Prefix: prefix, ContinuationToken: token, Delimiter: options.delimiter === true ? '/' : undefined, MaxKeys: options.max
      })))
      for (const o of page.Contents ?? []) {
        out.push({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag ?? '', lastModifiedMs: o.LastModified?.getTime() ?? 0 })
      }
      token = options.max !== undefined && out.length >= options.max ? undefined : page.NextContinuationToken
    } while (token !== undefined)
    return out
  }

  /** Downloads an object to a file; undefined when there is no such object (with ifMatch: no such version). */
  async download (key: string, file: string, conditions: { ifMatch?: string } = {}): Promise<{ etag: string } | undefined> {
    return await this.call(`read ${key}`, async () => {
      let answer
      try {
        answer = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key, IfMatch: conditions.ifMatch }))
      } catch (err) {
        if (isNotFound(err) || (conditions.ifMatch !== undefined && isPreconditionFailed(err))) return undefined
        throw err
      }
      await fsp.mkdir(path.dirname(file), { recursive: true })
      await pipeline(answer.Body as Readable, fs.createWriteStream(file))
      return { etag: answer.ETag ?? '' }
    })
  }

  async getText (key: string): Promise<{ text: string, etag: string } | undefined> {
    return await this.call(`read ${key}`, async () => {
      try {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }))
        return { text: await answer.Body!.transformToString(), etag: answer.ETag ?? '' }
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw err
      }
    })
  }

  /** An object's bytes as they are (a landing line need not be valid UTF-8); undefined when absent. */
  async getBytes (key: string): Promise<{ body: Buffer, etag: string } | undefined> {
    return await this.call(`read ${key}`, async () => {
      try {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }))
        return { body: Buffer.from(await answer.Body!.transformToByteArray()), etag: answer.ETag ?? '' }
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw err
      }
    })
  }

  async head (key: string): Promise<{ etag: string, size: number, metadata: Record<string, string> } | undefined> {
    return await this.call(`read ${key}`, async () => {
      try {
        const answer = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }))
        return { etag: answer.ETag ?? '', size: answer.ContentLength ?? 0, metadata: answer.Metadata ?? {} }
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw err
      }
    })
  }

  /** Writes an object; with conditions, returns undefined when they do not hold (412). */
  async put (key: string, body: string | Uint8Array | Readable, conditions: Conditions = {}, contentLength?: number): Promise<string | undefined> {
    return await this.call(`write ${key}`, async () => {
      try {
        const answer = await this.client.send(new PutObjectCommand({
          Bucket: this.name, Key: key, Body: body, ContentLength: contentLength, IfMatch: conditions.ifMatch, IfNoneMatch: conditions.ifNoneMatch
        }))
        return answer.ETag ?? ''
      } catch (err) {
        if (isPreconditionFailed(err)) return undefined
        throw err
      }
    })
  }

  async putFile (key: string, file: string, conditions: Conditions = {}): Promise<string | undefined> {
    const { size } = await fsp.stat(file)
    // A conditional write may be refused (412) before its body is read, and a server that then
    // closes the connection resets a streaming upload: such writes (the state) go from memory.
    if (conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined || size <= STREAM_ABOVE_BYTES) {
      return await this.put(key, await fsp.readFile(file), conditions)
    }
    return await this.put(key, fs.createReadStream(file), conditions, size)
  }

  /** A server-side copy, with metadata of our own on the copy. */
  async copy (source: string, target: string, metadata: Record<string, string>): Promise<void> {
    await this.call(`copy ${source} to ${target}`, async () => await this.client.send(new CopyObjectCommand({
      Bucket: this.name, Key: target, CopySource: `${this.name}/${source.split('/').map(encodeURIComponent).join('/')}`,
      MetadataDirective: 'REPLACE', Metadata: metadata
    })))
  }

  async delete (keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH)
      const answer = await this.call(`delete ${batch[0]}`, async () => await this.client.send(new DeleteObjectsCommand({
        Bucket: this.name, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true }
      })))
      const failed = answer.Errors?.[0]
      if (failed !== undefined) throw s3Failure(Object.assign(new Error(failed.Message ?? ''), { name: failed.Code }), this.connection, this.name, `delete ${failed.Key ?? ''}`)
    }
  }
}
