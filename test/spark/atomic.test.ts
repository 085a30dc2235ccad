// A Spark job killed at any point leaves whole versions behind: before its commit nothing it wrote
// is current (its files are orphans the next run removes); after its commit the next run publishes
// what it had not. Either way the next run ends where an uninterrupted one would. A job refused
// because another holds the lakehouse touches nothing of the running one.
import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { generateLanding } from '../../simulator/generate.js'
import { sparkPython } from '../../pipeline/engine/spark.js'
import { StateStore } from '../../pipeline/state.js'
import { ROOT, cli, fileTree, run, tempDir } from '../helpers/index.js'
import { diffLakehouses, sparkScript } from '../helpers/spark.js'

t.setTimeout(600_000)

/** Runs the five jobs until STEDI_SPARK_PAUSE stops them there; the process stays, holding the lakehouse. */
async function startPaused (landing: string, lakehouse: string, pause: string): Promise<ChildProcess> {
  const child = spawn(sparkPython(), [path.join(ROOT, 'scripts/run_all.py'), '--landing', landing, '--lakehouse', lakehouse, '--master', 'local[2]', '--driver-memory', '1g'],
    { env: { ...process.env, STEDI_SPARK_PAUSE: pause } })
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (stderr.includes(`paused ${pause.split(':')[1]}`)) resolve()
    })
    child.on('close', (code) => reject(new Error(`the jobs ended (exit ${String(code)}) before the pause: ${stderr.slice(-1500)}`)))
  })
  return child
}

async function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise((resolve) => child.on('close', resolve))
  child.kill('SIGKILL')
  await closed
}

/** Runs the five jobs and SIGKILLs the process where STEDI_SPARK_PAUSE stops it. */
async function killAt (landing: string, lakehouse: string, pause: string): Promise<void> {
  await kill(await startPaused(landing, lakehouse, pause))
}

async function orphans (lakehouse: string): Promise<string[]> {
  const state = await StateStore.open(lakehouse, { create: false })
  try {
    const retained = await state.retainedFiles(2)
    const found: string[] = []
    for (const zone of ['landing', 'quarantine', 'trusted', 'curated']) {
      for (const table of await fs.readdir(path.join(lakehouse, zone))) {
        for (const name of await fs.readdir(path.join(lakehouse, zone, table, '_files'))) {
          const rel = `${zone}/${table}/_files/${name}`
          if (!retained.has(rel)) found.push(rel)
        }
      }
    }
    return found
  } finally {
    await state.close()
  }
}

t.test('killed before and after a commit, the next run finishes where an uninterrupted one ends', async (t) => {
  const landing = await tempDir(t)
  await generateLanding(landing, { customers: 20, seed: 5, badRatio: 0.05 })
  const embedded = path.join(await tempDir(t), 'lake')
  await run({ landingDir: landing, lakehouseDir: embedded })

  const lakehouse = path.join(await tempDir(t), 'lake')
  await killAt(landing, lakehouse, 'accelerometer_landing_to_trusted_zone:before-commit')
  const counts = JSON.parse((await cli(['counts', '--lakehouse', lakehouse, '--json'])).stdout) as { landing: Record<string, number>, trusted: Record<string, number> }
  t.ok(counts.trusted.customer > 0, 'the first job was committed')
  t.equal(counts.landing.accelerometer, 0, 'the killed job left nothing current')
  t.ok((await orphans(lakehouse)).length > 0, 'its files are orphans for now')

  await killAt(landing, lakehouse, 'trainer_landing_to_trusted:after-commit')
  const history = JSON.parse((await cli(['pipeline', 'history', '--lakehouse', lakehouse, '--json'])).stdout) as Array<{ status: string, options: { job: string } }>
  t.same(history.slice(0, 2).map((r) => [r.options.job, r.status]), [['trainer_landing_to_trusted', 'ok'], ['customer_trusted_to_curated', 'ok']],
    'the jobs up to the killed one are committed, the kill left no run behind')
  t.same(await orphans(lakehouse), [], 'the second run removed the first one\'s orphans')

  const res = await sparkScript('run_all', ['--landing', landing, '--lakehouse', lakehouse])
  t.equal(res.code, 0, 'the next run completes', { stderr: res.stderr.slice(-2000) })
  for (const d of await diffLakehouses(lakehouse, embedded)) {
    t.ok(d.rowsA === d.rowsB && d.onlyA === 0 && d.onlyB === 0, `${d.table} equals an uninterrupted build (${d.rowsA} / ${d.rowsB})`)
  }
  const published = await fs.readdir(path.join(lakehouse, 'trusted/step_trainer_trusted'))
  t.same(published.sort(), ['_files', 'data.parquet'], 'what the killed job committed is published')
  t.same(await orphans(lakehouse), [])
})

t.test('a refused job touches nothing of the running one: its scratch stays as it is, mid-write', async (t) => {
  const landing = await tempDir(t)
  await generateLanding(landing, { customers: 10, seed: 6 })
  const lakehouse = path.join(await tempDir(t), 'lake')
  const running = await startPaused(landing, lakehouse, 'customer_landing_to_trusted:written')
  t.teardown(async () => { await kill(running) })
  const scratch = path.join(lakehouse, '_state/spark-tmp')
  const before = await fileTree(scratch)
  t.ok(before.some((e) => /part-.*\.parquet/.test(e)), 'the running job has a table file in its scratch, not yet moved')

  const refused = await sparkScript('customer_landing_to_trusted', ['--landing', landing, '--lakehouse', lakehouse])
  t.equal(refused.code, 3, 'a second job is refused', { stderr: refused.stderr.slice(-1500) })
  const embedded = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse])
  t.equal(embedded.code, 3, 'so is an embedded run')
  t.same(await fileTree(scratch), before, 'the running job\'s scratch is untouched')

  await kill(running)
  const next = await sparkScript('run_all', ['--landing', landing, '--lakehouse', lakehouse])
  t.equal(next.code, 0, 'the next run completes', { stderr: next.stderr.slice(-2000) })
  t.same((await fs.readdir(path.join(lakehouse, '_state'))).filter((n) => n.includes('tmp')), [], 'and removes what the killed job left in scratch')
})
