// A real S3 server for tests: versitygw (installed by `stedi s3 setup`) on a free port over a
// temporary folder, with a bucket, stopped at teardown. Never a mock, and never a silent skip: when
// versitygw is missing the test fails and says how to install it.
import fs from 'node:fs/promises'
import path from 'node:path'
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { DATASET_NAMES, DATASETS } from '../../contracts/datasets.js'
import { type S3ConnectionConfig, createS3Client, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { freePort, startVersitygw } from '../../common/versitygw.js'
import { openSnapshot, querySnapshot } from '../../pipeline/snapshot.js'
import { PUBLISHED, tempDir } from './index.js'

export interface TestS3 {
  endpoint: string
  bucket: string
  /** the folder versitygw keeps its objects in: <dir>/<bucket>/<key> */
  dir: string
  /** the environment a `stedi` process needs to reach it, as a user would set it */
  env: NodeJS.ProcessEnv
  connection: S3ConnectionConfig
  client: S3Client
  /** s3://bucket/prefix */
  uri: (prefix: string) => string
  stop: () => Promise<void>
}

type Teardown = { teardown: (fn: () => Promise<void> | void) => void }

export async function startS3 (t: Teardown, bucket = 'stedi-test'): Promise<TestS3> {
  const dir = await tempDir(t, 'stedi-s3-')
  const accessKey = 'stedi-test-key'
  const secretKey = 'stedi-test-secret-0123456789'
  let server
  // another process may take the free port before versitygw binds it: try a few
  for (let attempt = 0; server === undefined; attempt++) {
    try {
      server = await startVersitygw({ dir, host: '127.0.0.1', port: await freePort(), accessKey, secretKey })
    } catch (err) {
      if (attempt >= 2 || /not installed/.test((err as Error).message)) throw err
    }
  }
  const env = { AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: server.endpoint }
  // the SDK's credential chain reads the environment: tests in this process use the same as a child
  Object.assign(process.env, env)
  const connection = s3ConnectionFromEnv(env)
  const client = createS3Client(connection)
  const stop = server.stop
  t.teardown(async () => { client.destroy(); await stop() })
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  return { endpoint: server.endpoint, bucket, dir, env, connection, client, uri: (prefix) => `s3://${bucket}/${prefix}`, stop }
}

/** Uploads the published landing files below `prefix`, in the landing layout. */
export async function uploadPublished (s3: TestS3, prefix: string, pick: (relPath: string) => boolean = () => true): Promise<string[]> {
  const uploaded: string[] = []
  for (const dataset of DATASET_NAMES) {
    const dir = DATASETS[dataset].landingDir
    for (const name of (await fs.readdir(path.join(PUBLISHED, dir))).sort()) {
      const rel = `${dir}/${name}`
      if (!pick(rel)) continue
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${rel}`, Body: await fs.readFile(path.join(PUBLISHED, rel)) }))
      uploaded.push(rel)
    }
  }
  return uploaded
}

/** Writes one landing object (lines as given, objects as JSON). */
export async function putLanding (s3: TestS3, prefix: string, dataset: keyof typeof DATASETS, name: string, lines: ReadonlyArray<string | object>): Promise<void> {
  const body = lines.map((l) => typeof l === 'string' ? l : JSON.stringify(l)).join('\n') + '\n'
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${DATASETS[dataset].landingDir}/${name}`, Body: body }))
}

/** Rows of a query on an S3 lakehouse's current versions, as plain objects (as `stedi query` reads them). */
export async function s3Rows (s3: TestS3, lakehouse: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const snapshot = await openSnapshot(lakehouse, { s3: s3.connection })
  try {
    const result = await querySnapshot(snapshot, sql)
    return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])))
  } finally {
    snapshot.close()
  }
}

/** Row count and an order-independent hash of a table of an S3 lakehouse (lineage columns left out). */
export async function s3Fingerprint (s3: TestS3, lakehouse: string, table: string): Promise<{ n: unknown, h: unknown }> {
  const lineage = table === 'customer_landing' ? ' EXCLUDE (_run, _file, _line)' : table.endsWith('_landing') ? ' EXCLUDE (_run, _file)' : table.endsWith('_quarantine') ? ' EXCLUDE (_run)' : ''
  const [row] = await s3Rows(s3, lakehouse, `SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM (SELECT *${lineage} FROM ${table}) t`)
  return { n: row.n, h: row.h }
}
