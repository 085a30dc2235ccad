// The Spark jobs against the embedded engine: the same rows in every zone table, on the published
// data and on generated data salted with bad, duplicate and edge-of-the-rules lines, under both
// privacy options, read incrementally; and a lakehouse written by Spark serves `stedi counts`/`query`.
import fs from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import { generateLanding } from '../../simulator/generate.js'
import { PUBLISHED, T0, cli, customer, run, tempDir, writeLanding } from '../helpers/index.js'
import { type TableDiff, currentFiles, diffLakehouses, sparkScript } from '../helpers/spark.js'
import { EDGE_CUSTOMERS_VALID, TRICKY_ACCELEROMETER, TRICKY_CUSTOMER } from './tricky-lines.js'

t.setTimeout(900_000)

const SEED_COUNTS = {
  landing: { customer: 956, accelerometer: 81273, step_trainer: 28680 },
  trusted: { customer: 482, accelerometer: 40981, step_trainer: 14460 },
  curated: { customer: 482, machine_learning: 43681 }
}

function assertSame (t: Test, diffs: TableDiff[], label: string): void {
  for (const d of diffs) {
    t.ok(d.rowsA === d.rowsB && d.onlyA === 0 && d.onlyB === 0,
      `${label}: ${d.table} has the same rows (${d.rowsA} / ${d.rowsB})`,
      { onlyInSpark: d.onlyA, onlyInEmbedded: d.onlyB, sampleSpark: d.sampleOnlyA, sampleEmbedded: d.sampleOnlyB })
  }
}

t.test('published data: `pipeline run --engine spark` gives the seed table and the embedded rows', async (t) => {
  const spark = path.join(await tempDir(t), 'lake')
  const embedded = path.join(await tempDir(t), 'lake')
  const res = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', PUBLISHED, '--lakehouse', spark, '--json'])
  t.equal(res.code, 0, 'the Spark run succeeded', { stderr: res.stderr.slice(-2000) })
  const report = JSON.parse(res.stdout) as { engine: string, counts: typeof SEED_COUNTS, accounting: unknown, warnings: { crossCustomerPairs: number } }
  t.equal(report.engine, 'spark')
  t.match(report.counts, SEED_COUNTS)
  t.equal(report.warnings.crossCustomerPairs, 2700, 'the cross-customer pairs are reported, as the embedded run does')

  const base = await run({ landingDir: PUBLISHED, lakehouseDir: embedded })
  t.same(report.accounting, base.accounting, 'every landing record went the same way')
  assertSame(t, await diffLakehouses(spark, embedded), 'published')

  const counts = await cli(['counts', '--lakehouse', spark, '--json'])
  t.equal(counts.code, 0, counts.stderr)
  t.match(JSON.parse(counts.stdout), SEED_COUNTS, '`stedi counts` reads a lakehouse Spark wrote')
  const query = await cli(['query', '--lakehouse', spark, '--format', 'json',
    'SELECT count(*) AS n FROM machine_learning_curated m JOIN customer_curated c ON c.serialNumber = m.serialNumber'])
  t.equal(query.code, 0, query.stderr)
  const expected = await cli(['query', '--lakehouse', embedded, '--format', 'json',
    'SELECT count(*) AS n FROM machine_learning_curated m JOIN customer_curated c ON c.serialNumber = m.serialNumber'])
  t.equal(query.stdout, expected.stdout, '`stedi query` reads it too, with the same answer')
  // the visible layout is the embedded one: data.parquet for rebuilt tables, a part per run for landing
  const visible = await fs.readdir(path.join(spark, 'curated/machine_learning_curated'))
  t.same(visible.sort(), ['_files', 'data.parquet'])
  t.same((await fs.readdir(path.join(spark, 'landing/accelerometer_landing'))).sort(), ['_files', 'part-r000002.parquet'])
})

async function saltedLanding (dir: string): Promise<void> {
  await generateLanding(dir, { customers: 30, seed: 11, badRatio: 0.05, duplicateRatio: 0.1 })
  // edge-of-the-rules readings, with CRLF endings, blank lines, a BOM and a line that is not UTF-8
  const tricky = await writeLanding(dir, 'accelerometer', 'accelerometer-9000000000000.json', ['', ...TRICKY_ACCELEROMETER, '   ', 'PLACEHOLDER'], '\r\n')
  const content = await fs.readFile(tricky)
  const at = content.indexOf('PLACEHOLDER')
  await fs.writeFile(tricky, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), content.subarray(0, at), Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x7d, 0x0d]), content.subarray(at + 'PLACEHOLDER'.length)]))
  // customers: a superseded record, a tie broken by arrival order, a string consent, a duplicate key,
  // dates at and beyond the edges of their range, text at the edges of JSON
  await writeLanding(dir, 'customer', 'customer-9000000000000.json', [
    customer('edge@test.com', 'edge-serial', { lastUpdateDate: T0 + 10, shareWithResearchAsOfDate: T0 }),
    customer('edge@test.com', 'edge-serial', { lastUpdateDate: T0 + 20, shareWithResearchAsOfDate: T0 }),
    customer('tie@test.com', 'tie-serial', { lastUpdateDate: T0 + 30 }),
    customer('tie@test.com', 'tie-serial', { lastUpdateDate: T0 + 30, shareWithResearchAsOfDate: T0 }),
    customer('string@test.com', 's-serial', { shareWithResearchAsOfDate: 'yes' }),
    '{"email":"dup@test.com","email":"dup2@test.com","serialNumber":"d"}',
    customer('nolast@test.com', 'n-serial', { lastUpdateDate: null, shareWithResearchAsOfDate: T0 }),
    ...TRICKY_CUSTOMER
  ])
  await writeLanding(dir, 'customer', 'customer-9000000000000-edges.json', EDGE_CUSTOMERS_VALID)
  await writeLanding(dir, 'step_trainer', 'step_trainer-9000000000000.json', [
    { sensorReadingTime: 1655564444103, serialNumber: 'edge-serial', distanceFromObject: 250 },
    { sensorReadingTime: 1655564444103, serialNumber: 'edge-serial', distanceFromObject: 250 },
    '{"sensorReadingTime":1655564444103,"serialNumber":"edge-serial","distanceFromObject":"250"}',
    '{"sensorReadingTime":1655564444103,"serialNumber":"edge-serial"}'
  ])
}

const JOB_SCRIPTS = ['customer_landing_to_trusted', 'accelerometer_landing_to_trusted_zone', 'customer_trusted_to_curated', 'trainer_landing_to_trusted', 'trainer_trusted_to_curated']

t.test('generated data with bad records, strict privacy: the five scripts one by one, then incrementally', async (t) => {
  const landing = await tempDir(t)
  await saltedLanding(landing)
  const spark = path.join(await tempDir(t), 'lake')
  const embedded = path.join(await tempDir(t), 'lake')
  const options = ['--consent-policy', 'strict', '--ml-join', 'same-customer']

  const early = await sparkScript('customer_trusted_to_curated', ['--landing', landing, '--lakehouse', spark, ...options])
  t.equal(early.code, 1, 'a job whose input no job has written fails')
  t.match(early.stderr, /PIPE_ERR_SPARK_ORDER: customer_trusted_to_curated reads customer_trusted/)

  for (const script of JOB_SCRIPTS) {
    const res = await sparkScript(script, ['--landing', landing, '--lakehouse', spark, ...options])
    t.equal(res.code, 0, `${script} ran`, { stderr: res.stderr.slice(-1500) })
  }
  const base = await run({ landingDir: landing, lakehouseDir: embedded, consentPolicy: 'strict', mlJoin: 'same-customer' })
  t.ok(base.counts.quarantined.accelerometer > 20, `the embedded run quarantined lines (${base.counts.quarantined.accelerometer})`)
  t.ok(base.accounting!.accelerometer.filtered.duplicate > 0 && base.accounting!.accelerometer.filtered.before_consent > 0, 'and removed duplicates and readings before consent')
  assertSame(t, await diffLakehouses(spark, embedded), 'salted, first batch')

  // a second batch: new readings, and a customer who withdraws consent (which reaches back)
  await writeLanding(landing, 'accelerometer', 'accelerometer-9000000000001.json', [
    { user: 'edge@test.com', timestamp: 1655564444103, x: 2, y: 2, z: 2 }, '{"user":"edge@test.com"}'
  ])
  await writeLanding(landing, 'customer', 'customer-9000000000001.json', [customer('tie@test.com', 'tie-serial', { lastUpdateDate: T0 + 40 })])
  const again = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', landing, '--lakehouse', spark, ...options, '--json'])
  t.equal(again.code, 0, 'the second Spark run succeeded', { stderr: again.stderr.slice(-2000) })
  const second = JSON.parse(again.stdout) as { newFiles: Record<string, number>, read: Record<string, { records: number, quarantined: number }> }
  t.same(second.newFiles, { customer: 1, accelerometer: 1, step_trainer: 0 }, 'only the new files were read')
  t.same(second.read.accelerometer, { records: 1, quarantined: 1, fastFiles: 0, lineFiles: 1 })
  await run({ landingDir: landing, lakehouseDir: embedded, consentPolicy: 'strict', mlJoin: 'same-customer' })
  assertSame(t, await diffLakehouses(spark, embedded), 'salted, second batch')
  const tie = await cli(['query', '--lakehouse', spark, '--format', 'json', "SELECT count(*) AS n FROM customer_trusted WHERE email = 'tie@test.com'"])
  t.match(tie.stdout, /"n":\s*0/, 'the withdrawn customer left trusted')

  // the engines share the state: the embedded engine finds nothing new in what Spark read
  const embeddedOnSpark = await run({ landingDir: landing, lakehouseDir: spark, consentPolicy: 'strict', mlJoin: 'same-customer' })
  t.equal(embeddedOnSpark.status, 'unchanged')

  // nothing new: every job leaves its output as it is; a changed option rebuilds what depends on it
  const filesBefore = Object.fromEntries(await currentFiles(spark))
  const idle = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', landing, '--lakehouse', spark, ...options, '--json'])
  t.equal(idle.code, 0, 'the idle Spark run succeeded', { stderr: idle.stderr.slice(-2000) })
  t.equal((JSON.parse(idle.stdout) as { status: string }).status, 'unchanged')
  t.same(Object.fromEntries(await currentFiles(spark)), filesBefore, 'no table got a new version')
  const reseeded = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', landing, '--lakehouse', spark, '--json'])
  t.equal(reseeded.code, 0, 'the Spark run with the seed options succeeded', { stderr: reseeded.stderr.slice(-2000) })
  await run({ landingDir: landing, lakehouseDir: embedded })
  assertSame(t, await diffLakehouses(spark, embedded), 'salted, back to the seed options')
})

t.test('a Spark job waits for nobody: a held lakehouse fails at once with exit 3', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 })])
  const lakehouse = path.join(await tempDir(t), 'lake')
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  const { default: sqlite3 } = await import('sqlite3')
  const db = new sqlite3.Database(path.join(lakehouse, '_state/pipeline.sqlite'))
  await new Promise<void>((resolve, reject) => db.exec('BEGIN IMMEDIATE', (err) => err === null ? resolve() : reject(err)))
  t.teardown(() => { db.close() })
  const res = await sparkScript('customer_landing_to_trusted', ['--landing', landing, '--lakehouse', lakehouse])
  t.equal(res.code, 3)
  t.match(res.stderr, /PIPE_ERR_BUSY: another pipeline run holds/)
})

t.test('a lakehouse behind a Hadoop file system URI (s3:// on Glue; file:// here) holds the same rows', async (t) => {
  const landing = await tempDir(t)
  await saltedLanding(landing)
  const remote = path.join(await tempDir(t), 'lake')
  const embedded = path.join(await tempDir(t), 'lake')
  const res = await sparkScript('run_all', ['--landing', landing, '--lakehouse', `file://${remote}`])
  t.equal(res.code, 0, 'the five jobs ran', { stderr: res.stderr.slice(-2000) })
  await run({ landingDir: landing, lakehouseDir: embedded })
  assertSame(t, await diffLakehouses(remote, embedded), 'through Hadoop')
  // visible files are copies there (object stores have no links), and nothing else lies beside them
  const [canonical, visible] = await Promise.all([
    fs.stat(path.join(remote, 'landing/accelerometer_landing/_files/part-r000002.parquet')),
    fs.stat(path.join(remote, 'landing/accelerometer_landing/part-r000002.parquet'))
  ])
  t.not(canonical.ino, visible.ino)
  t.equal(canonical.size, visible.size)
  t.same((await fs.readdir(path.join(remote, 'trusted/customer_trusted'))).sort(), ['_files', 'data.parquet'])
  t.same((await fs.readdir(path.join(remote, '_state'))).sort(), ['pipeline.sqlite'], 'the state was put back whole, scratch removed')

  // incremental through Hadoop too: a new file is read alone and the rebuilt tables are replaced
  await writeLanding(landing, 'accelerometer', 'accelerometer-9000000000001.json', [{ user: 'edge@test.com', timestamp: 1655564444103, x: 2, y: 2, z: 2 }])
  const again = await sparkScript('run_all', ['--landing', landing, '--lakehouse', `file://${remote}`, '--json'])
  t.equal(again.code, 0, 'the second run ran', { stderr: again.stderr.slice(-2000) })
  const reports = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { read: Record<string, { newFiles: number }> })
  t.same(reports.map((r) => Object.values(r.read).map((x) => x.newFiles)), [[0], [1], [], [0], []])
  await run({ landingDir: landing, lakehouseDir: embedded })
  assertSame(t, await diffLakehouses(remote, embedded), 'through Hadoop, second batch')
})
