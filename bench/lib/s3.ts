// A local versitygw for a benchmark, with a landing dataset uploaded into its bucket once.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { DATASETS, DATASET_NAMES } from '../../contracts/datasets.js'
import { createS3Client, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { freePort, startVersitygw } from '../../common/versitygw.js'

export interface BenchS3 { env: NodeJS.ProcessEnv, uri: (prefix: string) => string, stop: () => Promise<void> }

export async function startBenchS3 (landing: string): Promise<BenchS3> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-s3-'))
  const keys = { accessKey: 'bench-key', secretKey: 'bench-secret-0123456789' }
  const server = await startVersitygw({ dir, host: '127.0.0.1', port: await freePort(), ...keys })
  const env = { AWS_ACCESS_KEY_ID: keys.accessKey, AWS_SECRET_ACCESS_KEY: keys.secretKey, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: server.endpoint }
  const client = createS3Client(s3ConnectionFromEnv(env), { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey })
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }))
  for (const dataset of DATASET_NAMES) {
    const sub = DATASETS[dataset].landingDir
    for (const name of (await fs.readdir(path.join(landing, sub))).filter((n) => n.endsWith('.json'))) {
      await client.send(new PutObjectCommand({ Bucket: 'bench', Key: `landing/${sub}/${name}`, Body: await fs.readFile(path.join(landing, sub, name)) }))
    }
  }
  client.destroy()
  return {
    env,
    uri: (prefix) => `s3://bench/${prefix}`,
    stop: async () => { await server.stop(); await fs.rm(dir, { recursive: true, force: true }) }
  }
}
