// The published data gives the seed's row-count table exactly, and the figures its README states.
import t from 'tap'
import { PUBLISHED, cli, rows, run, tempDir } from '../helpers/index.js'

const SEED = {
  landing: { customer: 956, accelerometer: 81273, step_trainer: 28680 },
  trusted: { customer: 482, accelerometer: 40981, step_trainer: 14460 },
  curated: { customer: 482, machine_learning: 43681 },
  quarantined: { customer: 0, accelerometer: 0, step_trainer: 0 }
}

t.test('stedi pipeline run on the published data prints the seed table; stedi counts --json agrees', async (t) => {
  const lakehouse = await tempDir(t)
  const result = await cli(['pipeline', 'run', '--landing', PUBLISHED, '--lakehouse', lakehouse])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, [
    '| zone    | customer | accelerometer | step trainer | machine learning |',
    '|---------|---------:|--------------:|-------------:|-----------------:|',
    '| landing |      956 |        81,273 |       28,680 |                  |',
    '| trusted |      482 |        40,981 |       14,460 |                  |',
    '| curated |      482 |               |              |           43,681 |'
  ].join('\n'))
  t.match(result.stdout, /2,700 machine-learning rows pair a trainer with another customer's phone/)
  const lastLine = result.stdout.trim().split('\n').at(-1) ?? ''
  t.match(lastLine, /^run \d+ ok in .*: 13 new landing files, 110,909 records read, 0 quarantined; 43,681 machine-learning rows/)

  const counts = await cli(['counts', '--lakehouse', lakehouse, '--json'])
  t.equal(counts.code, 0, counts.stderr)
  t.equal(counts.stdout.trim(), JSON.stringify(SEED), 'exactly the contract JSON')
})

t.test('published-data facts', async (t) => {
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse })
  t.same(report.counts, SEED)
  t.equal(report.warnings.crossCustomerPairs, 2700, 'the seed join pairs 2,700 trainer readings with another customer')
  t.same(report.accounting, {
    customer: { landing: 956, trusted: 482, filtered: { duplicate: 0, superseded: 0, no_consent: 474 }, quarantined: 0 },
    accelerometer: { landing: 81273, trusted: 40981, filtered: { no_consent: 40292, duplicate: 0 }, quarantined: 0 },
    step_trainer: { landing: 28680, trusted: 14460, filtered: { no_consent: 14220, duplicate: 0 }, quarantined: 0 }
  }, 'no record is an exact duplicate: deduplication changes none of the numbers')
  const [{ n }] = await rows(lakehouse, 'SELECT count(*) AS n FROM (SELECT DISTINCT * EXCLUDE (_run, _file) FROM accelerometer_landing)')
  t.equal(n, 81273)
  const [{ missing }] = await rows(lakehouse, 'SELECT count(*) AS missing FROM customer_landing WHERE shareWithResearchAsOfDate IS NULL')
  t.equal(missing, 474, '474 customers have no research consent')
  // the visible files are plain Parquet any reader can take
  const [{ visible }] = await rows(lakehouse, `SELECT count(*) AS visible FROM machine_learning_curated`)
  t.equal(visible, 43681)
})

t.test('--ml-join same-customer gives 40,981 rows and no cross-customer pairs', async (t) => {
  const report = await run({ landingDir: PUBLISHED, lakehouseDir: await tempDir(t), mlJoin: 'same-customer' })
  t.equal(report.counts.curated.machine_learning, 40981)
  t.equal(report.warnings.crossCustomerPairs, 0)
  t.same(report.counts.trusted, SEED.trusted, 'the join option changes only the machine-learning table')
})

t.test('--consent-policy strict keeps only readings taken at or after consent', async (t) => {
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse, consentPolicy: 'strict' })
  t.equal(report.counts.trusted.accelerometer, 32025, 'the README: 32,025 of 40,981 trusted readings are at or after consent')
  t.equal(report.counts.trusted.customer, 482, 'consenting customers stay trusted')
  // derived independently of the jobs' SQL: every kept reading is at or after its owner's consent
  const [{ early }] = await rows(lakehouse, `SELECT count(*) AS early FROM accelerometer_trusted a JOIN customer_trusted c ON a.user = c.email WHERE a.timestamp < c.shareWithResearchAsOfDate`)
  t.equal(early, 0)
  const [{ trainerEarly }] = await rows(lakehouse, `SELECT count(*) AS trainerEarly FROM step_trainer_trusted s JOIN customer_curated c USING (serialNumber) WHERE s.sensorReadingTime < c.shareWithResearchAsOfDate`)
  t.equal(trainerEarly, 0)
  const [{ expected }] = await rows(lakehouse, `SELECT count(*) AS expected FROM step_trainer_trusted s JOIN accelerometer_trusted a ON a.timestamp = s.sensorReadingTime`)
  t.equal(report.counts.curated.machine_learning, expected)
  t.equal(report.counts.trusted.step_trainer, 11297)
  t.equal(report.counts.curated.customer, 464)
  t.equal(report.counts.curated.machine_learning, 34253, 'the seed join under strict consent')
  const a = report.accounting!
  t.equal(a.accelerometer.filtered.before_consent, 40981 - 32025)
  t.equal(a.step_trainer.landing, a.step_trainer.trusted + Object.values(a.step_trainer.filtered).reduce((x, y) => x + y, 0))
})
