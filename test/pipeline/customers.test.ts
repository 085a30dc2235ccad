// Customer records are updates: the latest record of each email wins, and consent is read from it.
import t from 'tap'
import { T0, customer, rows, run, tempDir, writeLanding } from '../helpers/index.js'

const phone = (user: string, timestamp: number): Record<string, unknown> => ({ user, timestamp, x: 1, y: 1, z: 1 })
const trainer = (serialNumber: string, sensorReadingTime: number): Record<string, unknown> => ({ sensorReadingTime, serialNumber, distanceFromObject: 250 })

t.test('the latest lastUpdateDate wins; on a tie the record that arrived later', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('late@test.com', 's-old', { lastUpdateDate: T0 + 2000, shareWithResearchAsOfDate: T0 }),
    customer('late@test.com', 's-new', { lastUpdateDate: T0 + 3000, shareWithResearchAsOfDate: T0 }),
    customer('late@test.com', 's-older', { lastUpdateDate: T0 + 1000, shareWithResearchAsOfDate: T0 }),
    customer('tie@test.com', 's-first', { lastUpdateDate: T0 + 2000, shareWithResearchAsOfDate: T0 }),
    customer('tie@test.com', 's-second', { lastUpdateDate: T0 + 2000, shareWithResearchAsOfDate: T0 }),
    customer('files@test.com', 's-file1', { lastUpdateDate: T0 + 2000, shareWithResearchAsOfDate: T0 }),
    customer('dup@test.com', 's-dup', { shareWithResearchAsOfDate: T0 }),
    customer('dup@test.com', 's-dup', { shareWithResearchAsOfDate: T0 })
  ])
  await writeLanding(landing, 'customer', 'customer-2.json', [
    customer('files@test.com', 's-file2', { lastUpdateDate: T0 + 2000, shareWithResearchAsOfDate: T0 })
  ])
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  const got = await rows(lakehouse, 'SELECT email, serialNumber FROM customer_trusted ORDER BY email')
  t.same(got, [
    { email: 'dup@test.com', serialNumber: 's-dup' },
    { email: 'files@test.com', serialNumber: 's-file2' },
    { email: 'late@test.com', serialNumber: 's-new' },
    { email: 'tie@test.com', serialNumber: 's-second' }
  ])
  t.same(report.accounting?.customer, { landing: 9, trusted: 4, filtered: { duplicate: 1, superseded: 4, no_consent: 0 }, quarantined: 0 })
})

t.test('a customer who withdraws consent disappears at the next run; one who grants it appears', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('leaves@test.com', 's1', { lastUpdateDate: T0 + 1000, shareWithResearchAsOfDate: T0 + 1000 }),
    customer('joins@test.com', 's2', { lastUpdateDate: T0 + 1000 })
  ])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [phone('leaves@test.com', 5000), phone('joins@test.com', 6000)])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [trainer('s1', 5000), trainer('s2', 6000)])
  const first = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(first.counts.trusted, { customer: 1, accelerometer: 1, step_trainer: 1 })
  t.same(await rows(lakehouse, 'SELECT user FROM machine_learning_curated'), [{ user: 'leaves@test.com' }])

  await writeLanding(landing, 'customer', 'customer-2.json', [
    customer('leaves@test.com', 's1', { lastUpdateDate: T0 + 2000 }),
    customer('joins@test.com', 's2', { lastUpdateDate: T0 + 2000, shareWithResearchAsOfDate: T0 + 2000 })
  ])
  const second = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(second.status, 'ok')
  t.same(await rows(lakehouse, 'SELECT email FROM customer_trusted'), [{ email: 'joins@test.com' }])
  t.same(await rows(lakehouse, 'SELECT email FROM customer_curated'), [{ email: 'joins@test.com' }])
  t.same(await rows(lakehouse, 'SELECT user FROM accelerometer_trusted'), [{ user: 'joins@test.com' }])
  t.same(await rows(lakehouse, 'SELECT serialNumber FROM step_trainer_trusted'), [{ serialNumber: 's2' }])
  t.same(await rows(lakehouse, 'SELECT user FROM machine_learning_curated'), [{ user: 'joins@test.com' }])
})

t.test('readings of unknown customers are filtered as no_matching_customer', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('known@test.com', 's1', { shareWithResearchAsOfDate: T0 })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [phone('known@test.com', 10), phone('ghost@test.com', 10), phone('known@test.com', 10)])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [trainer('s1', 10), trainer('s-ghost', 10)])
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(report.accounting?.accelerometer.filtered, { no_matching_customer: 1, duplicate: 1 })
  t.same(report.accounting?.step_trainer.filtered, { no_matching_customer: 1, duplicate: 0 })
  t.equal(report.counts.curated.machine_learning, 1, 'the duplicate phone reading does not double the pair')
})
