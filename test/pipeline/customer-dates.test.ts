// Customer dates are epoch milliseconds in a fixed range [2015-01-01, 2100-01-01): a record with a
// date outside it (seconds, microseconds, a clock error) is quarantined, on the fast path and the
// line path alike, so that it can never outrank a later update such as a consent withdrawal.
import t from 'tap'
import { CUSTOMER_DATE_RANGE_MS } from '../../contracts/datasets.js'
import { T0, customer, rows, run, tempDir, writeLanding } from '../helpers/index.js'

const { min: MIN, max: MAX } = CUSTOMER_DATE_RANGE_MS

t.test('dates at the edges of the range are kept, by the fast path', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('first@test.com', 's1', { registrationDate: MIN, lastUpdateDate: MIN, shareWithResearchAsOfDate: MIN }),
    customer('last@test.com', 's2', { registrationDate: MAX - 1, lastUpdateDate: MAX - 1, shareWithPublicAsOfDate: MAX - 1, shareWithFriendsAsOfDate: MAX - 1 }),
    customer('absent@test.com', 's3', { registrationDate: undefined, lastUpdateDate: null })
  ])
  const report = await run({ landingDir: landing, lakehouseDir: await tempDir(t) })
  t.same(report.read.customer, { records: 3, quarantined: 0, fastFiles: 1, lineFiles: 0 })
})

t.test('dates outside the range are quarantined with the field that broke it', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('ok@test.com', 's0'),
    customer('early@test.com', 's1', { registrationDate: MIN - 1 }),
    customer('micro@test.com', 's2', { lastUpdateDate: T0 * 1000 }),
    customer('seconds@test.com', 's3', { shareWithResearchAsOfDate: Math.floor(T0 / 1000) }),
    customer('late@test.com', 's4', { shareWithPublicAsOfDate: MAX }),
    customer('negative@test.com', 's5', { shareWithFriendsAsOfDate: -T0 }),
    '{"email":"nano@test.com","serialNumber":"s6","lastUpdateDate":1655564000000000000}', // nanoseconds: still 64 bits
    // the first field that breaks a rule names the reason: here registrationDate, before lastUpdateDate's type
    '{"email":"both@test.com","serialNumber":"s7","registrationDate":1,"lastUpdateDate":"soon"}',
    '{"email":"type@test.com","serialNumber":"s8","registrationDate":"2022-06-18","lastUpdateDate":1}'
  ])
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(report.read.customer, { records: 1, quarantined: 8, fastFiles: 0, lineFiles: 1 })
  const q = await rows(lakehouse, 'SELECT _line, reason FROM customer_quarantine ORDER BY _line')
  t.same(q.map((r) => [r._line, r.reason]), [
    [2, 'out_of_range:registrationDate'],
    [3, 'out_of_range:lastUpdateDate'],
    [4, 'out_of_range:shareWithResearchAsOfDate'],
    [5, 'out_of_range:shareWithPublicAsOfDate'],
    [6, 'out_of_range:shareWithFriendsAsOfDate'],
    [7, 'out_of_range:lastUpdateDate'],
    [8, 'out_of_range:registrationDate'],
    [9, 'wrong_type:registrationDate']
  ])
  t.same(report.accounting?.customer, { landing: 1, trusted: 0, filtered: { duplicate: 0, superseded: 0, no_consent: 1 }, quarantined: 8 })
})

t.test('a record with a microsecond lastUpdateDate cannot outrank a later withdrawal', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('anna@test.com', 's-anna', { shareWithResearchAsOfDate: T0 })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [{ user: 'anna@test.com', timestamp: T0 + 5000, x: 1, y: 1, z: 1 }])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [{ sensorReadingTime: T0 + 5000, serialNumber: 's-anna', distanceFromObject: 250 }])
  const first = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(first.counts.curated.machine_learning, 1, 'Anna consented: her readings are in the machine-learning table')

  // a client that wrote microseconds once, then the withdrawal, stamped correctly a minute later
  await writeLanding(landing, 'customer', 'customer-2.json', [
    customer('anna@test.com', 's-anna', { lastUpdateDate: (T0 + 1000) * 1000, shareWithResearchAsOfDate: T0 }),
    customer('anna@test.com', 's-anna', { lastUpdateDate: T0 + 60_000 })
  ])
  const second = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(second.counts.trusted, { customer: 0, accelerometer: 0, step_trainer: 0 }, 'the withdrawal is honoured')
  t.same(second.counts.curated, { customer: 0, machine_learning: 0 })
  t.same(await rows(lakehouse, 'SELECT _file, _line, reason FROM customer_quarantine'),
    [{ _file: 'customer/landing/customer-2.json', _line: 1, reason: 'out_of_range:lastUpdateDate' }])
})
