// One validation contract, on Spark too: every line the gateway accepts from hostile input
// (test/contracts/hostile.ts) is a landing record for the Spark jobs, which hold every table to the
// embedded engine's rows. One Spark run over a few hundred generated records of each kind.
import path from 'node:path'
import t from 'tap'
import { DATASET_NAMES } from '../../contracts/datasets.js'
import { run, tempDir, writeLanding } from '../helpers/index.js'
import { diffLakehouses, sparkScript } from '../helpers/spark.js'
import { throughGateway } from '../contracts/hostile.js'

t.setTimeout(900_000)

t.test('the Spark jobs keep every line the gateway accepts, as the embedded engine does', async (t) => {
  const gateway = await throughGateway(7, 400)
  const landing = await tempDir(t)
  for (const dataset of DATASET_NAMES) {
    await writeLanding(landing, dataset, `${dataset}-1-accepted.json`, gateway.lines[dataset])
    await writeLanding(landing, dataset, `${dataset}-2-beside-a-bad-line.json`, [...gateway.lines[dataset], '{"not": "closed"'])
  }
  const spark = path.join(await tempDir(t), 'lake')
  const res = await sparkScript('run_all', ['--landing', landing, '--lakehouse', spark, '--json'])
  t.equal(res.code, 0, 'the Spark jobs ran', { stderr: res.stderr.slice(-2000) })
  const reports = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { read: Record<string, { records: number, quarantined: number }> })
  for (const dataset of DATASET_NAMES) {
    const read = reports.find((r) => r.read[dataset] !== undefined)?.read[dataset]
    t.match(read, { records: 2 * gateway.lines[dataset].length, quarantined: 1 },
      `${dataset}: all ${gateway.lines[dataset].length} accepted lines are records twice; only the bad line is quarantined`)
  }
  const embedded = path.join(await tempDir(t), 'lake')
  const base = await run({ landingDir: landing, lakehouseDir: embedded })
  t.ok(base.counts.trusted.step_trainer > 0 && base.counts.curated.machine_learning > 0,
    `the records reach every zone (${base.counts.curated.machine_learning} machine-learning rows)`)
  for (const d of await diffLakehouses(spark, embedded)) {
    t.ok(d.rowsA === d.rowsB && d.onlyA === 0 && d.onlyB === 0, `${d.table} has the same rows on both engines (${d.rowsA} / ${d.rowsB})`,
      { onlyInSpark: d.onlyA, onlyInEmbedded: d.onlyB })
  }
})
