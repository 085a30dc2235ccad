// What S3 needs is installed by the project and pinned: versitygw starts and stops for a test,
// `stedi s3 serve` gives a user a working bucket, and DuckDB's httpfs extension matches DuckDB.
import fs from 'node:fs'
import { spawn } from 'node:child_process'
import { HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import t from 'tap'
import { createS3Client, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { createDuckDbEngine } from '../../pipeline/engine/duckdb.js'
import { HTTPFS_DUCKDB_VERSION, httpfsPath } from '../../pipeline/s3/httpfs.js'
import { ROOT, STEDI_BIN, cli, tempDir } from '../helpers/index.js'
import { startS3 } from '../helpers/s3.js'

t.test('the helper starts versitygw with a bucket on a free port and stops it at teardown', async (t) => {
  let endpoint = ''
  await t.test('running', async (t) => {
    const s3 = await startS3(t)
    endpoint = s3.endpoint
    await s3.client.send(new HeadBucketCommand({ Bucket: s3.bucket }))
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))
    t.equal(listed.KeyCount, 0, 'a new, empty bucket')
  })
  const after = await fetch(`${endpoint}/health`).then(() => 'answered', () => 'refused')
  t.equal(after, 'refused', 'stopped after the test')
})

t.test('@duckdb/node-api and the httpfs extension are pinned to one DuckDB version, and it loads', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, 'utf8')) as { dependencies: Record<string, string> }
  const pinned = pkg.dependencies['@duckdb/node-api']
  t.match(pinned, /^\d+\.\d+\.\d+-r\.\d+$/, 'an exact version, no range: an extension loads only into its own DuckDB')
  t.equal(pinned.split('-')[0], HTTPFS_DUCKDB_VERSION, 'package.json and pipeline/s3/httpfs.ts name the same DuckDB')
  const installed = JSON.parse(fs.readFileSync(`${ROOT}/node_modules/@duckdb/node-api/package.json`, 'utf8')) as { version: string }
  t.equal(installed.version, pinned, 'node_modules has the pinned version (npm ci)')
  const engine = await createDuckDbEngine({
    threads: 1, memoryLimitMb: 128, tempDir: await tempDir(t),
    s3: { keyId: 'k', secret: 's', region: 'us-east-1', endpoint: '127.0.0.1:1', useSsl: false, urlStyle: 'path' }
  })
  t.teardown(() => { engine.close() })
  const [{ version }] = await engine.rows<{ version: string }>('SELECT version() AS version')
  t.equal(version, `v${HTTPFS_DUCKDB_VERSION}`, 'the DuckDB in the process is the one the extension was built for')
  const [ext] = await engine.rows<{ loaded: boolean, path: string }>("SELECT loaded, install_path AS path FROM duckdb_extensions() WHERE extension_name = 'httpfs'")
  t.equal(ext.loaded, true, 'httpfs loaded')
  t.equal(fs.existsSync(httpfsPath()), true, `from ${httpfsPath()}`)
  const [{ autoinstall }] = await engine.rows<{ autoinstall: string }>("SELECT current_setting('autoinstall_known_extensions') AS autoinstall")
  t.equal(String(autoinstall), 'false', 'never downloads an extension')
})

t.test('stedi s3 serve prints an endpoint and credentials that work, and stops on SIGTERM', async (t) => {
  const dir = await tempDir(t)
  const child = spawn(process.execPath, [STEDI_BIN, 's3', 'serve', '--dir', dir, '--port', '0', '--bucket', 'demo-bucket'],
    { env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('e.g. ')) resolve() })
    child.once('exit', (code) => reject(new Error(`exited ${String(code)}: ${out} ${err}`)))
  })
  const env = Object.fromEntries([...out.matchAll(/(AWS_[A-Z_0-9]+)=(\S+)/g)].map((m) => [m[1], m[2]]))
  t.match(env, { AWS_ENDPOINT_URL_S3: /^http:\/\/127\.0\.0\.1:\d+$/, AWS_ACCESS_KEY_ID: /.+/, AWS_SECRET_ACCESS_KEY: /.+/, AWS_REGION: 'us-east-1' })
  t.match(out, /bucket s3:\/\/demo-bucket/)
  const client = createS3Client(s3ConnectionFromEnv(env), { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY })
  t.teardown(() => { client.destroy() })
  await client.send(new HeadBucketCommand({ Bucket: 'demo-bucket' }))
  t.pass('the printed environment reaches the bucket')
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exit, 0, 'exits 0 on SIGTERM')
  const after = await fetch(`${env.AWS_ENDPOINT_URL_S3}/health`).then(() => 'answered', () => 'refused')
  t.equal(after, 'refused', 'and the server is gone')
})

t.test('stedi s3 setup --check names nothing missing here, and s3 has --help', async (t) => {
  const check = await cli(['s3', 'setup', '--check'])
  t.equal(check.code, 0, check.stderr)
  const help = await cli(['s3', 'serve', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^stedi s3 serve --dir DIR/)
})
