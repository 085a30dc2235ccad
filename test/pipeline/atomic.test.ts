// A run killed at any point leaves the previous version readable and the next run completes
// correctly; a second run on the same lakehouse fails fast (or waits, when asked to).
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { cli, fingerprint, killChild, linkPublished, rows, run, startPausedRun, tempDir } from '../helpers/index.js'

for (const point of ['ingest', 'jobs', 'commit']) {
  t.test(`SIGKILL after ${point}: the previous version stays readable, the next run completes`, async (t) => {
    const landing = await tempDir(t)
    const lakehouse = await tempDir(t)
    await linkPublished(landing, (rel) => rel.startsWith('customer') || rel.endsWith('1445.json') || rel.endsWith('2038.json'))
    const before = await run({ landingDir: landing, lakehouseDir: lakehouse })
    await linkPublished(path.join(landing, 'more'), (rel) => !rel.startsWith('customer'))
    for (const dir of ['accelerometer/landing', 'step_trainer/landing']) {
      for (const name of await fs.readdir(path.join(landing, 'more', dir))) {
        await fs.rename(path.join(landing, 'more', dir, name), path.join(landing, dir, name)).catch(() => undefined)
      }
    }

    const child = await startPausedRun(['--landing', landing, '--lakehouse', lakehouse], point)
    t.teardown(() => { child.kill('SIGKILL') })
    // while the run holds the lakehouse: readers see a whole version, a second run fails fast
    const during = await cli(['counts', '--lakehouse', lakehouse, '--json'])
    t.equal(during.code, 0, during.stderr)
    const duringCounts = JSON.parse(during.stdout) as typeof before.counts
    if (point !== 'commit') {
      const busy = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse])
      t.equal(busy.code, 3, 'a concurrent run exits 3')
      t.match(busy.stderr, /another pipeline run holds .* process \d+/)
    }
    await killChild(child)

    const after = await cli(['counts', '--lakehouse', lakehouse, '--json'])
    t.same(JSON.parse(after.stdout), duringCounts, 'killing the run changed nothing readers see')
    if (point === 'commit') {
      t.equal(duringCounts.landing.accelerometer, 81273, 'committed before the kill: the new version is current')
    } else {
      t.same(duringCounts, before.counts, 'not committed: the previous version is current')
      const [{ n }] = await rows(lakehouse, `SELECT count(*) AS n FROM read_parquet('${lakehouse}/trusted/accelerometer_trusted/*.parquet')`)
      t.equal(n, before.counts.trusted.accelerometer, 'the visible files are the previous version, whole')
    }

    const next = await run({ landingDir: landing, lakehouseDir: lakehouse })
    t.equal(next.counts.landing.accelerometer, 81273)
    const clean = await tempDir(t)
    await run({ landingDir: landing, lakehouseDir: clean })
    for (const table of TABLE_NAMES) t.same(await fingerprint(lakehouse, table), await fingerprint(clean, table), table)
    const [{ n }] = await rows(lakehouse, `SELECT count(*) AS n FROM read_parquet('${lakehouse}/curated/machine_learning_curated/*.parquet')`)
    t.equal(n, 43681, 'the visible machine-learning files (a base and a delta) are the new version')
    const leftovers = (await fs.readdir(path.join(lakehouse, '_state'))).filter((f) => f === 'tmp')
    t.same(leftovers, [], 'no scratch left behind')
  })
}

t.test('--wait queues behind a run in progress', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await linkPublished(landing, () => true)
  const child = await startPausedRun(['--landing', landing, '--lakehouse', lakehouse], 'jobs')
  t.teardown(() => { child.kill('SIGKILL') })
  const waiter = cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--wait', '60s'])
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await killChild(child)
  const result = await waiter
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /43,681 machine-learning rows/)
})
