// Incremental runs: only new landing files are read, nothing new changes nothing, two batches give
// the same tables as one run, a rewritten file is read again, --full-refresh rebuilds from landing.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { PUBLISHED, T0, customer, fingerprint, linkPublished, rows, run, tempDir, writeLanding } from '../helpers/index.js'

t.test('two batches give the same tables as one run, row by row', async (t) => {
  const oneShot = await tempDir(t)
  const whole = await run({ landingDir: PUBLISHED, lakehouseDir: oneShot })

  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  // first batch: the customers and every other reading file; second batch: the rest
  await linkPublished(landing, (rel, i) => rel.startsWith('customer') || i % 2 === 0)
  const first = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.ok(first.counts.landing.accelerometer < 81273, 'the first batch holds part of the readings')
  const rest = await linkPublished(await tempDir(t), (rel, i) => !rel.startsWith('customer') && i % 2 === 1)
  for (const rel of rest) await fs.symlink(path.join(PUBLISHED, rel), path.join(landing, rel))
  const second = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(second.newFiles, {
    customer: 0,
    accelerometer: whole.newFiles.accelerometer - first.newFiles.accelerometer,
    step_trainer: whole.newFiles.step_trainer - first.newFiles.step_trainer
  }, 'the second run reads only the new files')
  t.same(second.counts, whole.counts)
  for (const table of TABLE_NAMES) {
    t.same(await fingerprint(lakehouse, table), await fingerprint(oneShot, table), table)
  }
})

t.test('a run with nothing new changes nothing', async (t) => {
  const lakehouse = await tempDir(t)
  const first = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse })
  const visible = path.join(lakehouse, 'curated/machine_learning_curated/data.parquet')
  const before = await fs.stat(visible)
  const listing = async (): Promise<string[]> => (await fs.readdir(lakehouse, { recursive: true })).filter((f) => !f.startsWith('_state')).sort()
  const filesBefore = await listing()
  const second = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse })
  t.equal(second.status, 'unchanged')
  t.same(second.counts, first.counts)
  t.same(second.read.accelerometer, { records: 0, quarantined: 0, fastFiles: 0, lineFiles: 0 })
  const after = await fs.stat(visible)
  t.equal(after.ino, before.ino, 'the machine-learning table file is the same file')
  t.same(await listing(), filesBefore, 'no table file added or removed')
})

t.test('changing an option rebuilds trusted and curated without re-reading landing', async (t) => {
  const lakehouse = await tempDir(t)
  await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse })
  const strict = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse, consentPolicy: 'strict' })
  t.equal(strict.status, 'ok')
  t.equal(strict.read.accelerometer.records, 0, 'no landing file read again')
  t.equal(strict.counts.trusted.accelerometer, 32025)
  t.equal(strict.counts.landing.accelerometer, 81273)
})

t.test('a rewritten file is read again; --full-refresh rebuilds from the files as they are now', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const phone = (timestamp: number): Record<string, unknown> => ({ user: 'a@test.com', timestamp, x: 0, y: 0, z: 0 })
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [phone(1), phone(2)])
  await writeLanding(landing, 'accelerometer', 'accelerometer-2.json', [phone(9)])
  t.equal((await run({ landingDir: landing, lakehouseDir: lakehouse })).counts.landing.accelerometer, 3)

  // rewritten with one more record: read again (its two old records arrive a second time)
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [phone(1), phone(2), phone(3)])
  const again = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.same(again.newFiles, { customer: 0, accelerometer: 1, step_trainer: 0 })
  t.equal(again.counts.landing.accelerometer, 6, 'landing keeps every record as delivered')
  t.equal(again.counts.trusted.accelerometer, 4, 'trusted removes the redelivered duplicates')
  t.equal(again.accounting?.accelerometer.filtered.duplicate, 2)

  // touched without a change: hashed, not read
  const now = new Date()
  await fs.utimes(path.join(landing, 'accelerometer/landing/accelerometer-2.json'), now, now)
  const touched = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(touched.status, 'unchanged')

  await fs.rm(path.join(landing, 'accelerometer/landing/accelerometer-2.json'))
  const refreshed = await run({ landingDir: landing, lakehouseDir: lakehouse, fullRefresh: true })
  t.equal(refreshed.counts.landing.accelerometer, 3, 'rebuilt from the files present now')
  t.same((await rows(lakehouse, 'SELECT timestamp FROM accelerometer_trusted ORDER BY 1')).map((r) => r.timestamp), [1, 2, 3])
})
