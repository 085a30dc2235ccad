// `stedi pipeline verify` on a lakehouse and a landing in a bucket (a real S3 server): equal after
// incremental runs and after retention, a tampered table object named.
import fs from 'node:fs/promises'
import path from 'node:path'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { openStateForRead } from '../../pipeline/snapshot.js'
import { cli, tempDir } from '../helpers/index.js'
import { putLanding, startS3, uploadPublished } from '../helpers/s3.js'
import { rewriteParquet } from '../helpers/verify.js'

t.test('an S3 lakehouse: equal after incremental runs, and a tampered table object is named', async (t) => {
  const s3 = await startS3(t)
  const places = ['--landing', s3.uri('landing'), '--lakehouse', s3.uri('lake')]
  await uploadPublished(s3, 'landing', (rel) => !/(1691348232132|1691348232031|1691348231983)\.json$/.test(rel))
  t.equal((await cli(['pipeline', 'run', ...places], { env: s3.env })).code, 0)
  await uploadPublished(s3, 'landing')
  t.equal((await cli(['pipeline', 'run', ...places], { env: s3.env })).code, 0)
  const r = await cli(['pipeline', 'verify', ...places, '--json'], { env: s3.env })
  t.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout) as { ok: boolean, tables: Array<{ table: string, current: number }>, landingFiles: Record<string, number> }
  t.equal(report.ok, true)
  t.equal(report.tables.find((x) => x.table === 'machine_learning_curated')?.current, 43681)
  t.equal(report.landingFiles.compared, 13)

  // retention in the bucket: the retired objects' rows come from the lakehouse
  await putLanding(s3, 'landing', 'accelerometer', 'accelerometer-1791348231445.json', [{ user: 'someone@test.com', timestamp: 1655564444103, x: 1, y: 2, z: 3 }])
  t.equal((await cli(['pipeline', 'run', ...places, '--retain-landing', '1ms'], { env: s3.env })).code, 0)
  const retired = await cli(['pipeline', 'verify', ...places, '--json'], { env: s3.env })
  t.equal(retired.code, 0, retired.stdout + retired.stderr)
  t.equal((JSON.parse(retired.stdout) as typeof report).landingFiles.retired, 14, 'every object retired, every row carried')

  // the machine-learning table's object rewritten with a row less
  const { state, dispose } = await openStateForRead(s3.uri('lake'), { s3: s3.connection })
  const rel = (await state.currentVersions()).get('machine_learning_curated')!.files[0]
  await dispose()
  const local = path.join(await tempDir(t), 'ml.parquet')
  const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `lake/${rel}` }))
  await fs.writeFile(local, await got.Body!.transformToByteArray())
  await rewriteParquet(local, (f) => `SELECT * FROM ${f} LIMIT 100`)
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `lake/${rel}`, Body: await fs.readFile(local) }))
  const drift = await cli(['pipeline', 'verify', ...places, '--json'], { env: s3.env })
  t.equal(drift.code, 1)
  t.match(drift.stderr, /drift in machine_learning_curated\b.*\[PIPE_ERR_VERIFY_DRIFT\]/)
  // the table is its base and the deltas incremental runs appended: the base lost all but 100 rows
  const ml = (JSON.parse(drift.stdout) as { tables: Array<{ table: string, current: number, recomputed: number, onlyRecomputed: number, onlyCurrent: number }> }).tables.find((x) => x.table === 'machine_learning_curated')!
  t.match(ml, { recomputed: 43681, onlyCurrent: 0 })
  t.ok(ml.current < 43681 && ml.current + ml.onlyRecomputed === 43681, `the lost rows are only in the recomputation (${ml.current} current)`)
})
