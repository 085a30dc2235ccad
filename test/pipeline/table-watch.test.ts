// Following a table as runs commit: a poll reads only the files the new version added (a delta),
// or, when the table was written again (a new base), that base near the keys asked for; a poll with
// nothing committed since reads nothing; the version current when the watch began is its baseline.
import t from 'tap'
import { watchTable } from '../../pipeline/table-watch.js'
import { T0, customer, run, tempDir, writeLanding } from '../helpers/index.js'

const ML_KEYS = { columns: ['serialNumber', 'sensorReadingTime', 'user', 'timestamp'], keyColumn: 'sensorReadingTime' }

/** One customer's paired readings at these instants (trainer and phone read together). */
async function paired (landing: string, name: string, who: { email: string, serial: string }, instants: number[]): Promise<void> {
  await writeLanding(landing, 'step_trainer', `step_trainer-${name}.json`, instants.map((at) => ({ sensorReadingTime: at, serialNumber: who.serial, distanceFromObject: 200 })))
  await writeLanding(landing, 'accelerometer', `accelerometer-${name}.json`, instants.map((at) => ({ timestamp: at, user: who.email, x: 1, y: 0, z: 0 })))
}

t.test('a poll returns the rows a run added at the keys asked for, reading only the new delta', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const a = { email: 'a@test.com', serial: 'sn-a' }
  await writeLanding(landing, 'customer', 'customer-1.json', [customer(a.email, a.serial, { shareWithResearchAsOfDate: T0 })])
  await paired(landing, '1', a, [T0 + 1000, T0 + 2000])
  await run({ landingDir: landing, lakehouseDir: lakehouse })

  const watch = await watchTable(lakehouse, 'machine_learning_curated', ML_KEYS)
  t.teardown(() => { watch.close() })
  const idle = await watch.poll(() => [T0 + 1000, T0 + 3000])
  t.same({ rows: idle.rows, filesRead: idle.filesRead }, { rows: [], filesRead: 0 }, 'the version current at the start is the baseline: not read')

  await paired(landing, '2', a, [T0 + 3000, T0 + 4000, T0 + 5000])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  let asked = 0
  const added = await watch.poll(() => { asked++; return [T0 + 1000, T0 + 3000, T0 + 5000, T0 + 9000] })
  t.equal(asked, 1, 'the keys are asked for once per poll')
  t.same({ filesRead: added.filesRead, rewritten: added.rewritten }, { filesRead: 1, rewritten: false }, 'only the delta the run appended is read')
  t.same(added.rows.map((r) => r.sensorReadingTime).sort(), [T0 + 3000, T0 + 5000], 'the new rows at the keys, not the older one at T0+1000')
  t.same(added.rows[0], { serialNumber: 'sn-a', sensorReadingTime: added.rows[0].sensorReadingTime, user: 'a@test.com', timestamp: added.rows[0].sensorReadingTime })

  const again = await watch.poll(() => [T0 + 3000])
  t.same({ rows: again.rows, filesRead: again.filesRead }, { rows: [], filesRead: 0 }, 'nothing committed since: nothing read')

  // nothing is read without keys, but the version seen moves on
  await paired(landing, '3', a, [T0 + 6000])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same((await watch.poll(() => [])).filesRead, 0)
  t.same((await watch.poll(() => [T0 + 6000])).rows, [], 'a version already seen is not read again')
})

t.test('a table written again (a consent change) is read whole, near the keys', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const a = { email: 'a@test.com', serial: 'sn-a' }
  const b = { email: 'b@test.com', serial: 'sn-b' }
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer(a.email, a.serial, { shareWithResearchAsOfDate: T0 }), customer(b.email, b.serial, { shareWithResearchAsOfDate: T0 })])
  await paired(landing, 'a1', a, [T0 + 1000])
  await paired(landing, 'b1', b, [T0 + 1500])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  const watch = await watchTable(lakehouse, 'machine_learning_curated', ML_KEYS)
  t.teardown(() => { watch.close() })

  // b withdraws: the table loses rows and is written again as one base, with a's new reading in it
  await writeLanding(landing, 'customer', 'customer-2.json', [customer(b.email, b.serial, { lastUpdateDate: T0 + 10 })])
  await paired(landing, 'a2', a, [T0 + 2000])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  const polled = await watch.poll(() => [T0 + 1000, T0 + 1500, T0 + 2000])
  t.equal(polled.rewritten, true)
  t.same(polled.rows.map((r) => [r.user, r.sensorReadingTime]).sort(), [['a@test.com', T0 + 1000], ['a@test.com', T0 + 2000]],
    'the base is read at the keys: a\'s rows, none of b\'s')
})

t.test('a watch begun before the lakehouse exists follows it from its first run', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const watch = await watchTable(lakehouse, 'machine_learning_curated', ML_KEYS)
  t.teardown(() => { watch.close() })
  t.same((await watch.poll(() => [T0 + 1000])).version, null, 'no committed version yet')
  const a = { email: 'a@test.com', serial: 'sn-a' }
  await writeLanding(landing, 'customer', 'customer-1.json', [customer(a.email, a.serial, { shareWithResearchAsOfDate: T0 })])
  await paired(landing, '1', a, [T0 + 1000])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same((await watch.poll(() => [T0 + 1000])).rows.map((r) => r.user), ['a@test.com'])
})

t.test('an S3 lakehouse is refused with a usage error', async (t) => {
  await t.rejects(watchTable('s3://bucket/lakehouse', 'machine_learning_curated', ML_KEYS), { code: 'PIPE_ERR_BAD_OPTION' })
})
