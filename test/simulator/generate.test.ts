// The generator is deterministic, and its bad lines are exactly what the pipeline quarantines.
import fs from 'node:fs/promises'
import t from 'tap'
import { generateLanding } from '../../simulator/generate.js'
import { run, tempDir } from '../helpers/index.js'

t.test('the same seed gives the same files; the pipeline accounts for every line', async (t) => {
  const a = await tempDir(t)
  const b = await tempDir(t)
  const options = { customers: 40, seed: 7, badRatio: 0.02, duplicateRatio: 0.03 }
  const summary = await generateLanding(a, options)
  await generateLanding(b, options)
  for (const file of [...summary.files.customer, ...summary.files.accelerometer, ...summary.files.step_trainer]) {
    t.equal(await fs.readFile(file, 'utf8'), await fs.readFile(file.replace(a, b), 'utf8'))
  }
  t.ok(summary.badLines.accelerometer > 0 && summary.badLines.step_trainer > 0)
  const report = await run({ landingDir: a, lakehouseDir: await tempDir(t) })
  t.equal(report.counts.quarantined.accelerometer, summary.badLines.accelerometer)
  t.equal(report.counts.quarantined.step_trainer, summary.badLines.step_trainer)
  t.equal(report.counts.landing.accelerometer + report.counts.quarantined.accelerometer, summary.lines.accelerometer)
  t.equal(report.counts.landing.customer, 40)
  t.ok((report.accounting?.accelerometer.filtered.duplicate ?? 0) > 0, 'redelivered readings are removed as duplicates')
  const other = await tempDir(t)
  await generateLanding(other, { ...options, seed: 8 })
  t.not(await fs.readFile(summary.files.accelerometer[0], 'utf8'), await fs.readFile(summary.files.accelerometer[0].replace(a, other), 'utf8'), 'another seed, other data')
})
