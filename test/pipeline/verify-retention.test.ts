// `stedi pipeline verify` after --retain-landing: the rows of the landing files it deleted come from
// the lakehouse, as a full refresh takes them; a file gone without retention is drift.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { copyPublished, cli, tempDir } from '../helpers/index.js'
import { verify } from '../helpers/verify.js'

const DAY_MS = 86_400_000

t.test('equal after retention retired landing files, and after later runs', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lake')
  const places = ['--landing', landing, '--lakehouse', lakehouse]
  await copyPublished(landing)
  // the customer file and some readings are old enough to go
  const old = new Date(Date.now() - 40 * DAY_MS)
  const oldFiles = ['customer/landing/customer-1691348231425.json']
  for (const dataset of ['accelerometer', 'step_trainer']) {
    const names = (await fs.readdir(path.join(landing, dataset, 'landing'))).sort()
    oldFiles.push(...names.slice(0, Math.ceil(names.length / 2)).map((n) => `${dataset}/landing/${n}`))
  }
  for (const f of oldFiles) await fs.utimes(path.join(landing, f), old, old)
  const later = []
  for (const f of oldFiles.filter((f) => f.startsWith('accelerometer')).slice(0, 1)) later.push(await fs.readFile(path.join(landing, f)))

  t.equal((await cli(['pipeline', 'run', ...places, '--retain-landing', '30d'])).code, 0)
  for (const f of oldFiles) t.notOk(await fs.stat(path.join(landing, f)).then(() => true, () => false), `${f} retired`)
  const r = await verify(places)
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.match(r.report?.landingFiles, { retired: oldFiles.length, compared: 13 - oldFiles.length, missing: 0 })

  // a retired file's content delivered again under its name is known (not read twice); new files are read
  await fs.writeFile(path.join(landing, oldFiles[1]), later[0])
  await fs.writeFile(path.join(landing, 'accelerometer/landing/accelerometer-1791348231445.json'), later[0])
  t.equal((await cli(['pipeline', 'run', ...places, '--retain-landing', '30d'])).code, 0)
  const after = await verify(places)
  t.equal(after.code, 0, after.stdout + after.stderr)
  t.same(after.report?.drift, [])

  // a landing file the lakehouse read and that is gone without retention: its rows are only in the lakehouse
  const names = (await fs.readdir(path.join(landing, 'step_trainer/landing'))).sort()
  await fs.rm(path.join(landing, 'step_trainer/landing', names.at(-1)!))
  const gone = await verify(places)
  t.equal(gone.code, 1)
  t.equal(gone.report?.landingFiles.missing, 1)
  t.match(gone.stderr, /drift in step_trainer_landing\b/)
})
