// A Glue deployment, as far as it can exist here: the files `stedi spark package` writes, laid out
// as Glue uses them (a job script on its own, the package as --extra-py-files, SQL from --sql_dir),
// run with Glue-style job arguments through a test double of the awsglue library
// (test/fixtures/awsglue-double, which stands for what only AWS has).
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { sparkPython } from '../../pipeline/engine/spark.js'
import { ROOT, T0, cli, customer, rows, spawnCollect, tempDir, writeLanding } from '../helpers/index.js'

t.setTimeout(300_000)

t.test('a packaged job runs as Glue runs it: awsglue Job, underscore job arguments, package from a zip', async (t) => {
  const out = await tempDir(t)
  const pack = await cli(['spark', 'package', '--out', out])
  t.equal(pack.code, 0, pack.stderr)
  t.same((await fs.readdir(path.join(out, 'scripts'))).sort(), [
    'accelerometer_landing_to_trusted_zone.py', 'customer_landing_to_trusted.py', 'customer_trusted_to_curated.py',
    'run_all.py', 'trainer_landing_to_trusted.py', 'trainer_trusted_to_curated.py'
  ])

  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('yes@test.com', 's1', { shareWithResearchAsOfDate: T0 }), customer('no@test.com', 's2'), '{"email":'
  ])
  const lakehouse = path.join(await tempDir(t), 'lake')
  const commits = path.join(out, 'commits.txt')
  // Glue runs the script from its own folder, with the zip and its libraries on the Python path
  const job = await fs.mkdtemp(path.join(out, 'glue-'))
  await fs.copyFile(path.join(out, 'scripts', 'customer_landing_to_trusted.py'), path.join(job, 'script.py'))
  const res = await spawnCollect(sparkPython(), [path.join(job, 'script.py'),
    '--JOB_NAME', 'customer_landing_to_trusted', '--job-bookmark-option', 'job-bookmark-disable',
    '--landing', landing, '--lakehouse', lakehouse, '--sql_dir', path.join(out, 'sql'), '--consent_policy', 'strict', '--full_refresh', 'false'
  ], {
    cwd: job,
    env: {
      PYTHONPATH: [path.join(out, 'stedi_spark.zip'), path.join(ROOT, 'test/fixtures/awsglue-double')].join(':'),
      PYSPARK_SUBMIT_ARGS: '--master local[2] --driver-memory 1g pyspark-shell',
      PYSPARK_PYTHON: sparkPython(),
      SPARK_LOCAL_IP: '127.0.0.1',
      AWSGLUE_DOUBLE_COMMITS: commits
    }
  })
  t.equal(res.code, 0, 'the job ran', { stderr: res.stderr.slice(-2000) })
  t.equal(await fs.readFile(commits, 'utf8'), 'customer_landing_to_trusted\n', 'the Glue job was committed once, at the end')
  t.same(await rows(lakehouse, 'SELECT email FROM customer_trusted'), [{ email: 'yes@test.com' }])
  t.same(await rows(lakehouse, 'SELECT _line, reason FROM customer_quarantine'), [{ _line: 3, reason: 'invalid_json' }])
  const history = JSON.parse((await cli(['pipeline', 'history', '--lakehouse', lakehouse, '--json'])).stdout) as Array<{ options: Record<string, unknown> }>
  t.match(history[0].options, { consentPolicy: 'strict', engine: 'spark', job: 'customer_landing_to_trusted', fullRefresh: false })
})

t.test('a job script runs under spark-submit, which ships the package to the workers', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('yes@test.com', 's1', { shareWithResearchAsOfDate: T0 }), customer('no@test.com', 's2')])
  const lakehouse = path.join(await tempDir(t), 'lake')
  const bin = path.dirname(sparkPython())
  const res = await spawnCollect(path.join(bin, 'spark-submit'), ['--master', 'local[2]', '--driver-memory', '1g',
    path.join(ROOT, 'scripts', 'customer_landing_to_trusted.py'), '--landing', landing, '--lakehouse', lakehouse
  ], { env: { PATH: `${bin}:${process.env.PATH ?? ''}`, SPARK_LOCAL_IP: '127.0.0.1' } })
  t.equal(res.code, 0, 'spark-submit ran the job', { stderr: res.stderr.slice(-2000) })
  t.same(await rows(lakehouse, 'SELECT email FROM customer_trusted'), [{ email: 'yes@test.com' }])
})
