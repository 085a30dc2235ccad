// One S3 client per command, and what DuckDB needs to reach the same S3 with the same credentials
// (resolved once by the SDK's chain, so that both speak for the same identity).
import type { S3Client } from '@aws-sdk/client-s3'
import { type S3ConnectionConfig, createS3Client } from '../../common/s3-connection.js'
import type { DuckDbS3Access } from '../engine/duckdb.js'
import { PipelineError } from '../errors.js'
import { Bucket } from './bucket.js'
import { s3Failure } from './errors.js'

export interface S3Session {
  client: S3Client
  connection: S3ConnectionConfig
  bucket: (name: string) => Bucket
  duckdb: (bucket: string) => Promise<DuckDbS3Access>
  close: () => void
}

export function openS3Session (connection: S3ConnectionConfig | undefined): S3Session {
  if (connection === undefined) throw new PipelineError('PIPE_ERR_BAD_OPTION', 's3:// locations need the S3 connection settings')
  const client = createS3Client(connection)
  const buckets = new Map<string, Bucket>()
  return {
    client,
    connection,
    bucket: (name) => {
      let b = buckets.get(name)
      if (b === undefined) { b = new Bucket(client, connection, name); buckets.set(name, b) }
      return b
    },
    duckdb: async (bucket) => {
      let credentials
      try {
        credentials = await client.config.credentials()
      } catch (err) {
        throw s3Failure(err, connection, bucket, 'find credentials')
      }
      const endpoint = connection.endpoint === undefined ? undefined : new URL(connection.endpoint)
      return {
        keyId: credentials.accessKeyId,
        secret: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        region: connection.region,
        endpoint: endpoint?.host,
        useSsl: endpoint === undefined || endpoint.protocol === 'https:',
        urlStyle: connection.forcePathStyle ? 'path' : 'vhost'
      }
    },
    close: () => { client.destroy() }
  }
}
