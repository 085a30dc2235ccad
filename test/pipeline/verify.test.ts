// `stedi pipeline verify`: the current tables against a recomputation from landing, every row
// hashed. Equal after a cold run and after incremental runs (a file landed since the last run is
// not drift); verify leaves the lakehouse as it was; usage.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { PUBLISHED, T0, cli, fileTree, linkPublished, tempDir, writeLanding } from '../helpers/index.js'
import { tableOf as table, verify } from '../helpers/verify.js'

t.test('equal after a cold run on the published data; verify writes nothing into the lakehouse', async (t) => {
  const dir = await tempDir(t)
  const lakehouse = path.join(dir, 'lake')
  const scratch = path.join(dir, 'scratch')
  await fs.mkdir(scratch)
  const places = ['--landing', PUBLISHED, '--lakehouse', lakehouse]
  t.equal((await cli(['pipeline', 'run', ...places])).code, 0)
  const before = await fileTree(lakehouse)

  const r = await verify([...places, '--scratch', scratch])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.report?.ok, true)
  t.same(r.report?.drift, [])
  t.same(r.report?.tables.map((x) => x.table), [...TABLE_NAMES], 'every table is compared')
  for (const x of r.report?.tables ?? []) t.ok(x.equal && x.current === x.recomputed && x.onlyCurrent === 0 && x.onlyRecomputed === 0, x.table)
  t.equal(table(r.report, 'machine_learning_curated')?.current, 43681)
  t.equal(table(r.report, 'accelerometer_landing')?.current, 81273)
  t.same(r.report?.landingFiles, { compared: 13, retired: 0, notYetRead: 0, changed: 0, missing: 0 })
  t.same(r.report?.leftOut, ['_run', '_line'], 'the lineage columns left out are named')
  t.same(await fileTree(lakehouse), before, 'the lakehouse is as it was')
  t.same(await fs.readdir(scratch), [], 'the scratch folder is emptied')

  const text = await cli(['pipeline', 'verify', ...places])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /machine_learning_curated +equal +43,681 rows/)
  t.match(text.stdout, /all 11 tables equal/)
})

t.test('equal after several incremental runs, files added between them, and an unchanged run', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const places = ['--landing', landing, '--lakehouse', path.join(dir, 'lake')]
  // files added in name order, as a gateway names them by arrival
  const batches = [(i: number) => i <= 3 || i === 10, (i: number) => (i >= 4 && i <= 6) || i === 11, (i: number) => (i >= 7 && i <= 9) || i === 12]
  for (const [n, batch] of batches.entries()) {
    await linkPublished(landing, (_rel, i) => batch(i))
    // and lines the input rules quarantine, in each batch
    await writeLanding(landing, 'step_trainer', `step_trainer-169134823${n}999.json`, ['{broken', { sensorReadingTime: T0, serialNumber: 'sn-q' }])
    const run = await cli(['pipeline', 'run', ...places])
    t.equal(run.code, 0, run.stderr)
    const r = await verify(places)
    t.equal(r.code, 0, `after run ${n + 1}: ${r.stderr}`)
    t.same(r.report?.drift, [], `after run ${n + 1}`)
  }
  const all = (await verify(places)).report
  t.equal(table(all, 'machine_learning_curated')?.current, 43681, 'all of the published data')
  t.equal(table(all, 'step_trainer_quarantine')?.current, 6, 'and the quarantined lines')
  t.match((await cli(['pipeline', 'run', ...places, '--json'])).stdout, /"status":"unchanged"/)
  const after = await verify(places)
  t.equal(after.code, 0, after.stderr)
  t.equal(after.report?.source.runId, 3, 'judged as of the last run that built the tables')

  // a file landed after the last run is not read by the recomputation: it is new, not drift
  await writeLanding(landing, 'accelerometer', 'accelerometer-9999999999999.json', [{ user: 'nobody@test.com', timestamp: T0, x: 0, y: 0, z: 0 }])
  const pending = await verify(places)
  t.equal(pending.code, 0, pending.stderr)
  t.equal(pending.report?.landingFiles.notYetRead, 1)
})

t.test('usage and missing lakehouses', async (t) => {
  const dir = await tempDir(t)
  const missing = await verify(['--landing', PUBLISHED, '--lakehouse', path.join(dir, 'none')])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /PIPE_ERR_LAKEHOUSE_MISSING/)
  t.equal((await cli(['pipeline', 'verify', '--examples', 'some'])).code, 2)
  t.equal((await cli(['pipeline', 'verify', '--wait', '1m'])).code, 2, 'verify takes no lock: there is nothing to wait for')
  const help = await cli(['pipeline', 'verify', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /--show-identities/)
})
