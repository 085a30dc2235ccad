// The Spark jobs on S3 (s3a against a real versitygw): the published data from an S3 landing into an
// S3 lakehouse gives the seed table and the embedded engine's rows in every table, and the two
// engines share one protocol: the same landing identities (key, size, ETag), the same lease, the
// same conditional commit, so either takes over the other's lakehouse.
import { spawn } from 'node:child_process'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { runPipeline } from '../../pipeline/run.js'
import { STEDI_BIN, cli, killChild } from '../helpers/index.js'
import { type TestS3, s3Rows, startS3, uploadPublished } from '../helpers/s3.js'

t.setTimeout(900_000)

const SEED = {
  landing: { customer: 956, accelerometer: 81273, step_trainer: 28680 },
  trusted: { customer: 482, accelerometer: 40981, step_trainer: 14460 },
  curated: { customer: 482, machine_learning: 43681 },
  quarantined: { customer: 0, accelerometer: 0, step_trainer: 0 }
}

/** Every row of a table but its run number (engines number runs differently), hashed. */
async function tableHash (s3: TestS3, lakehouse: string, table: string): Promise<unknown> {
  const exclude = table.endsWith('_landing') || table.endsWith('_quarantine') ? ' EXCLUDE (_run)' : ''
  return (await s3Rows(s3, lakehouse, `SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM (SELECT *${exclude} FROM ${table}) t`))[0]
}

t.test('published data on S3 through the Spark jobs: the seed table, the embedded rows, one protocol', async (t) => {
  const s3 = await startS3(t)
  await uploadPublished(s3, 'landing')
  const spark = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', s3.uri('landing'), '--lakehouse', s3.uri('spark'), '--json'], { env: s3.env })
  t.equal(spark.code, 0, 'the Spark run on s3a succeeded', { stderr: spark.stderr.slice(-3000) })
  const report = JSON.parse(spark.stdout) as { engine: string, counts: typeof SEED }
  t.equal(report.engine, 'spark')
  t.same(report.counts, SEED)
  const counts = await cli(['counts', '--lakehouse', s3.uri('spark'), '--json'], { env: s3.env })
  t.equal(counts.stdout.trim(), JSON.stringify(SEED), 'stedi counts reads the lakehouse Spark wrote in S3')

  const embedded = await runPipeline(createPipelineConfig({ landingDir: s3.uri('landing'), lakehouseDir: s3.uri('embedded'), threads: 2, s3: s3.connection }))
  t.same(embedded.counts, SEED)
  for (const table of TABLE_NAMES) {
    t.same(await tableHash(s3, s3.uri('spark'), table), await tableHash(s3, s3.uri('embedded'), table), `${table}: the same rows, files and lines on both engines`)
  }

  // the embedded engine takes over Spark's lakehouse: the same identities, so nothing is new
  const takeover = await runPipeline(createPipelineConfig({ landingDir: s3.uri('landing'), lakehouseDir: s3.uri('spark'), threads: 2, s3: s3.connection }))
  t.equal(takeover.status, 'unchanged', 'Spark recorded the landing objects by key, size and ETag, as the embedded engine does')

  // while an embedded run holds the lease, the Spark jobs are refused with the same exit code
  const paused = spawn(process.execPath, [STEDI_BIN, 'pipeline', 'run', '--landing', s3.uri('landing'), '--lakehouse', s3.uri('spark'), '--full-refresh', '--pause-after', 'ingest'], { env: { ...process.env, ...s3.env } })
  t.teardown(async () => { await killChild(paused as never) })
  await new Promise<void>((resolve, reject) => {
    let err = ''
    paused.stderr.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('paused after ingest')) resolve() })
    paused.once('exit', (code) => reject(new Error(`exited ${String(code)}: ${err}`)))
  })
  const refused = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', s3.uri('landing'), '--lakehouse', s3.uri('spark')], { env: s3.env })
  t.equal(refused.code, 3, 'Spark exits 3 while the embedded run holds the lakehouse')
  t.match(refused.stderr, /another pipeline run holds s3:\/\/stedi-test\/spark: process \d+/)
  await killChild(paused as never)
})
