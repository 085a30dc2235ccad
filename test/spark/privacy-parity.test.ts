// Issue 12, both engines: the same landing and tombstones through the embedded engine and through
// Spark give the same rows in every table, the same accounting and the same erased totals.
// (Needs the embedded engine's side of issue 12: without it the embedded run keeps the victim.)
import path from 'node:path'
import t from 'tap'
import { StateStore } from '../../pipeline/state.js'
import { cli, tempDir } from '../helpers/index.js'
import { type TableDiff, diffLakehouses } from '../helpers/spark.js'
import { PRIVACY_KEY, addVictimTombstones, erasedLanding, redeliver } from './privacy-landing.js'

t.setTimeout(900_000)

async function erasedTotals (lakehouse: string): Promise<unknown> {
  const state = await StateStore.open(lakehouse, { create: false })
  try {
    return await state.erasedCounts()
  } finally {
    await state.close()
  }
}

t.test('tombstones at ingestion: the embedded engine and Spark keep and drop the same records', async (t) => {
  const root = await tempDir(t)
  const landing = path.join(root, 'landing')
  const spark = path.join(root, 'spark')
  const embedded = path.join(root, 'embedded')
  const first = await erasedLanding(landing)
  const env = { STEDI_PRIVACY_KEY: PRIVACY_KEY }
  const runBoth = async (): Promise<Array<{ accounting: unknown }>> => {
    const s = await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', landing, '--lakehouse', spark, '--json'], { cwd: root, env })
    t.equal(s.code, 0, 'the Spark run succeeded', { stderr: s.stderr.slice(-2000) })
    const e = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', embedded, '--json'], { cwd: root, env })
    t.equal(e.code, 0, 'the embedded run succeeded', { stderr: e.stderr.slice(-2000) })
    return [JSON.parse(s.stdout), JSON.parse(e.stdout)]
  }
  await runBoth()
  const erasure = await redeliver(landing, first)
  await addVictimTombstones(spark, erasure.email, erasure.serial, erasure.erasedAt)
  await addVictimTombstones(embedded, erasure.email, erasure.serial, erasure.erasedAt)
  const [s, e] = await runBoth()
  t.same(s.accounting, e.accounting, 'every landing record went the same way, the erased ones included')
  t.match(s.accounting, { customer: { filtered: { erased: erasure.dropped.customer } } })
  t.same(await erasedTotals(spark), await erasedTotals(embedded), 'the same erased totals in the state')
  const diffs: TableDiff[] = await diffLakehouses(spark, embedded)
  for (const d of diffs) {
    t.ok(d.rowsA === d.rowsB && d.onlyA === 0 && d.onlyB === 0, `${d.table} has the same rows (${d.rowsA} / ${d.rowsB})`,
      { onlyInSpark: d.onlyA, onlyInEmbedded: d.onlyB, sampleSpark: d.sampleOnlyA, sampleEmbedded: d.sampleOnlyB })
  }
})
