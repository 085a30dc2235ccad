// The embedded engine with landing and lakehouse in a bucket, on a real S3 server: the published
// data gives the seed table exactly, readers (`stedi counts`, `stedi query`, any Parquet reader of a
// table's prefix) see it, and runs are incremental by key, size and ETag.
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { runPipeline } from '../../pipeline/run.js'
import { PUBLISHED, T0, cli, customer, fingerprint, run, tempDir } from '../helpers/index.js'
import { type TestS3, putLanding, s3Fingerprint, s3Rows, startS3, uploadPublished } from '../helpers/s3.js'

const SEED = {
  landing: { customer: 956, accelerometer: 81273, step_trainer: 28680 },
  trusted: { customer: 482, accelerometer: 40981, step_trainer: 14460 },
  curated: { customer: 482, machine_learning: 43681 },
  quarantined: { customer: 0, accelerometer: 0, step_trainer: 0 }
}

async function runS3 (s3: TestS3, landing: string, lakehouse: string, extra: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof runPipeline>>> {
  return await runPipeline(createPipelineConfig({ landingDir: landing, lakehouseDir: lakehouse, threads: 2, s3: s3.connection, ...extra }))
}

async function keys (s3: TestS3, prefix: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))
  return (listed.Contents ?? []).map((o) => o.Key!).sort()
}

t.test('published data from an S3 landing into an S3 lakehouse: the seed table, through every reader', async (t) => {
  const s3 = await startS3(t)
  await uploadPublished(s3, 'landing')
  const args = ['--landing', s3.uri('landing'), '--lakehouse', s3.uri('lakehouse')]
  const result = await cli(['pipeline', 'run', ...args], { env: s3.env })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, [
    '| landing |      956 |        81,273 |       28,680 |                  |',
    '| trusted |      482 |        40,981 |       14,460 |                  |',
    '| curated |      482 |               |              |           43,681 |'
  ].join('\n'))
  t.match(result.stdout, /13 new landing files, 110,909 records read, 0 quarantined; 43,681 machine-learning rows at s3:\/\/stedi-test\/lakehouse\/curated\/machine_learning_curated\//)

  const counts = await cli(['counts', '--lakehouse', s3.uri('lakehouse'), '--json'], { env: s3.env })
  t.equal(counts.code, 0, counts.stderr)
  t.equal(counts.stdout.trim(), JSON.stringify(SEED), 'stedi counts --json reads the S3 lakehouse')
  const query = await cli(['query', '--lakehouse', s3.uri('lakehouse'), '--format', 'csv', 'SELECT count(*) AS n FROM machine_learning_curated'], { env: s3.env })
  t.equal(query.code, 0, query.stderr)
  t.equal(query.stdout.trim(), 'n\n43681')
  const outside = await cli(['query', '--lakehouse', s3.uri('lakehouse'), "SELECT count(*) FROM read_json('s3://stedi-test/landing/customer/landing/*.json')"], { env: s3.env })
  t.equal(outside.code, 1, 'a query reaches no object outside the lakehouse prefix')

  // what Athena, Spark or pandas would read: the visible objects of a table's prefix, hidden _files/ aside
  for (const [table, zone, n] of [['machine_learning_curated', 'curated', 43681], ['accelerometer_landing', 'landing', 81273], ['customer_trusted', 'trusted', 482]] as const) {
    const [{ rows }] = await s3Rows(s3, s3.uri('lakehouse'), `SELECT count(*) AS rows FROM read_parquet('${s3.uri(`lakehouse/${zone}/${table}`)}/*.parquet')`)
    t.equal(rows, n, `${table}: a reader of the prefix sees the whole table`)
  }
  t.same((await keys(s3, 'lakehouse/trusted/customer_trusted/')).filter((k) => !k.includes('/_files/')), ['lakehouse/trusted/customer_trusted/data.parquet'])

  // the same rows as a run on local disk, table by table
  const local = await tempDir(t)
  await run({ landingDir: PUBLISHED, lakehouseDir: local })
  for (const table of TABLE_NAMES) t.same(await s3Fingerprint(s3, s3.uri('lakehouse'), table), await fingerprint(local, table), `${table}: identical rows`)
})

t.test('incremental by key, size and ETag: nothing new reads nothing; a new or rewritten object is read', async (t) => {
  const s3 = await startS3(t)
  await uploadPublished(s3, 'in', (rel) => rel.startsWith('customer') || rel.endsWith('1445.json'))
  const lakehouse = s3.uri('lake')
  const first = await runS3(s3, s3.uri('in'), lakehouse)
  t.equal(first.status, 'ok')

  const idle = await runS3(s3, s3.uri('in'), lakehouse)
  t.equal(idle.status, 'unchanged', 'nothing new: nothing read, tables unchanged')
  t.same(idle.counts, first.counts)

  await putLanding(s3, 'in', 'customer', 'late.json', [customer('late@example.com', 'serial-late', { shareWithResearchAsOfDate: T0 })])
  const added = await runS3(s3, s3.uri('in'), lakehouse)
  t.same(added.newFiles, { customer: 1, accelerometer: 0, step_trainer: 0 }, 'only the new object is read')
  t.equal(added.counts.landing.customer, first.counts.landing.customer + 1)

  // the same key, new content: a new ETag, so a new identity
  await putLanding(s3, 'in', 'customer', 'late.json', [customer('late@example.com', 'serial-late', { shareWithResearchAsOfDate: T0 }), customer('later@example.com', 'serial-later', { shareWithResearchAsOfDate: T0 })])
  const rewritten = await runS3(s3, s3.uri('in'), lakehouse)
  t.same(rewritten.newFiles, { customer: 1, accelerometer: 0, step_trainer: 0 }, 'a rewritten object is read again')
  t.equal(rewritten.counts.landing.customer, first.counts.landing.customer + 3)

  // the two batches give the same tables as one run over everything
  const once = s3.uri('once')
  await runS3(s3, s3.uri('in'), once)
  for (const table of ['customer_trusted', 'accelerometer_trusted', 'machine_learning_curated']) {
    const a = await s3Rows(s3, lakehouse, `SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM ${table} t`)
    const b = await s3Rows(s3, once, `SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM ${table} t`)
    t.same(a, b, `${table}: incremental = one run`)
  }

  // files no retained version names are gone from the bucket (two previous versions are kept; each
  // of the three runs above changed customer_trusted, so each made a version of it)
  const files = (await keys(s3, 'lake/trusted/customer_trusted/_files/'))
  t.equal(files.length, 3, 'the current and two previous versions of a rebuilt table')
})

t.test('mixed: local landing into an S3 lakehouse, and S3 landing into a local lakehouse', async (t) => {
  const s3 = await startS3(t)
  const toS3 = await runS3(s3, PUBLISHED, s3.uri('from-local'))
  t.same(toS3.counts, SEED)
  await uploadPublished(s3, 'landing')
  const local = await tempDir(t)
  const toLocal = await runS3(s3, s3.uri('landing'), local)
  t.same(toLocal.counts, SEED)
  await s3.client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: (await keys(s3, 'landing/')).map((Key) => ({ Key })) } }))
  await putLanding(s3, 'landing', 'customer', 'x.json', [customer('x@example.com', 'serial-x')])
  const again = await runS3(s3, s3.uri('landing'), local)
  t.same(again.newFiles, { customer: 1, accelerometer: 0, step_trainer: 0 })
})
