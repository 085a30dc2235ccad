// A landing table grows by a part per run; past 16 parts a run merges its newest ones, so that a
// lakehouse promoted every few seconds does not end up with thousands of files per table.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { openStateForRead } from '../../pipeline/snapshot.js'
import { MAX_PARTS } from '../../pipeline/zones/compaction.js'
import { MAX_DELTAS } from '../../pipeline/zones/incremental.js'
import { T0, customer, fingerprint, run, tempDir, writeLanding } from '../helpers/index.js'

t.test('a landing table keeps at most 16 parts, a trusted table at most 32 deltas; rows and lineage intact, folders showing exactly them', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('ann@test.com', 's-ann', { shareWithResearchAsOfDate: T0 })])
  const runs = Math.max(MAX_PARTS + 6, MAX_DELTAS + 3)
  for (let i = 0; i < runs; i++) {
    await writeLanding(landing, 'accelerometer', `accelerometer-${1000 + i}.json`, [{ user: 'ann@test.com', timestamp: T0 + i, x: 1, y: 0, z: 0 }, '{broken'])
    await writeLanding(landing, 'step_trainer', `step_trainer-${1000 + i}.json`, [{ sensorReadingTime: T0 + i, serialNumber: 's-ann', distanceFromObject: 200 }])
    await run({ landingDir: landing, lakehouseDir: lakehouse })
  }
  const { state, dispose } = await openStateForRead(lakehouse)
  const versions = await state.currentVersions()
  await dispose()
  for (const table of ['accelerometer_landing', 'step_trainer_landing', 'accelerometer_quarantine'] as const) {
    const files = versions.get(table)!.files
    t.ok(files.length <= MAX_PARTS, `${table}: ${files.length} parts after ${runs} runs`)
    t.ok(files.some((f) => f.endsWith('-c.parquet')), `${table}: parts were merged`)
    const shown = (await fs.readdir(path.join(lakehouse, path.dirname(path.dirname(files[0]))))).filter((n) => n.endsWith('.parquet')).sort()
    t.same(shown, files.map((f) => path.basename(f)).sort(), `${table}: the folder shows the version's parts`)
  }
  // each run appended a delta to the trusted readings: past MAX_DELTAS a run wrote the base again
  const trusted = versions.get('accelerometer_trusted')!.files
  t.ok(trusted.length - 1 <= MAX_DELTAS, `accelerometer_trusted: ${trusted.length - 1} deltas after ${runs} runs`)
  t.notOk(trusted[0].includes('-r000001'), 'its base is no longer the first run\'s')
  const shownTrusted = (await fs.readdir(path.join(lakehouse, 'trusted/accelerometer_trusted'))).filter((n) => n.endsWith('.parquet')).sort()
  t.same(shownTrusted, ['data.parquet', ...trusted.slice(1).map((f) => path.basename(f))].sort(), 'the folder shows the base and its deltas')
  const [{ n, files: names }] = (await (await import('../helpers/index.js')).rows(lakehouse, 'SELECT count(*) AS n, count(DISTINCT _file) AS files FROM accelerometer_landing')) as Array<{ n: number, files: number }>
  t.same([n, names], [runs, runs], 'every landing row, with the file it came from')
  const full = await tempDir(t)
  await run({ landingDir: landing, lakehouseDir: full })
  for (const table of TABLE_NAMES) t.same(await fingerprint(lakehouse, table), await fingerprint(full, table), table)
})
