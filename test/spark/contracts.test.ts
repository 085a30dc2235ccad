// The Spark jobs keep their own copy of the contracts (they are deployed to Glue without Node):
// these tests hold that copy, and the state schema the jobs create, to the TypeScript originals.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { DATASETS } from '../../contracts/datasets.js'
import { ACCOUNTING_QUERIES, CROSS_CUSTOMER_QUERY, JOBS } from '../../contracts/jobs.js'
import { CONSENT_POLICIES, LAKEHOUSE_FORMAT_VERSION, ML_JOINS, STATE_DB, TABLES, TABLE_NAMES, tableDir } from '../../contracts/lakehouse.js'
import { openDatabase } from '../../common/sqlite.js'
import { tableColumns } from '../../pipeline/catalog.js'
import { sparkPython } from '../../pipeline/engine/spark.js'
import { StateStore } from '../../pipeline/state.js'
import { ROOT, tempDir } from '../helpers/index.js'

const exec = promisify(execFile)
const python = async (code: string): Promise<string> =>
  (await exec(sparkPython(), ['-c', code], { cwd: path.join(ROOT, 'scripts') })).stdout

t.test('scripts/stedi_spark/contracts.py says what contracts/*.ts say', async (t) => {
  const py = JSON.parse(await python('import json; from stedi_spark.contracts import as_json; print(json.dumps(as_json()))'))
  t.equal(py.formatVersion, LAKEHOUSE_FORMAT_VERSION)
  t.equal(py.stateDb, STATE_DB)
  t.same(py.datasets, Object.fromEntries(Object.entries(DATASETS).map(([name, spec]) => [name, {
    landingDir: spec.landingDir,
    fields: spec.fields.map((f) => ({
      name: f.name, kind: f.kind, required: f.required, nonEmpty: f.nonEmpty === true, ...(f.range === undefined ? {} : { range: { ...f.range } })
    }))
  }])))
  t.same(py.tables, Object.fromEntries(TABLE_NAMES.map((table) => [table, { dir: tableDir(table), appendOnly: TABLES[table].appendOnly, columns: tableColumns(table) }])))
  t.same(py.jobs, JOBS.map((j) => ({ name: j.name, output: j.output, inputs: j.inputs })))
  t.same(py.accountingQueries, ACCOUNTING_QUERIES)
  t.equal(py.crossCustomerQuery, CROSS_CUSTOMER_QUERY)
  t.same(py.consentPolicies, CONSENT_POLICIES)
  t.same(py.mlJoins, ML_JOINS)
})

t.test('the state the Spark jobs create is the state the embedded pipeline creates', async (t) => {
  const fromPython = path.join(await tempDir(t), 'lake')
  const fromNode = path.join(await tempDir(t), 'lake')
  const open = (lakehouse: string): string =>
    `from stedi_spark.state import StateStore; StateStore(${JSON.stringify(lakehouse)}, open('../sql/state_schema.sql').read()).close()`
  await python(open(fromPython))
  await (await StateStore.open(fromNode, { create: true })).close()
  const describe = async (lakehouse: string): Promise<unknown> => {
    const db = await openDatabase(path.join(lakehouse, STATE_DB), { create: false, busyTimeoutMs: 1000 })
    try {
      return {
        schema: (await db.all<{ type: string, name: string, sql: string | null }>('SELECT type, name, sql FROM sqlite_master ORDER BY name'))
          .map((r) => ({ ...r, sql: r.sql?.replace(/\s+/g, ' ') })),
        meta: await db.all('SELECT * FROM meta ORDER BY key'),
        journal: await db.all('PRAGMA journal_mode')
      }
    } finally {
      await db.close()
    }
  }
  t.same(await describe(fromPython), await describe(fromNode))
  // and each engine opens the other's
  await (await StateStore.open(fromPython, { create: false })).close()
  await python(open(fromNode))
})

t.test('the Spark jobs publish a version in the order the embedded pipeline does (pipeline/visible-layout.ts)', async (t) => {
  const f = (table: string, name: string): string => `${tableDir(table as never)}/_files/${name}`
  const cases: Array<[string, string[], Record<string, string | null>]> = [
    ['accelerometer_trusted', [f('accelerometer_trusted', 'v000001-r000001.parquet'), f('accelerometer_trusted', 'delta-v000002-r000002.parquet'), f('accelerometer_trusted', 'delta-v000003-r000003.parquet')],
      { 'data.parquet': f('accelerometer_trusted', 'v000001-r000001.parquet'), 'delta-v000002-r000002.parquet': f('accelerometer_trusted', 'delta-v000002-r000002.parquet') }],
    ['machine_learning_curated', [f('machine_learning_curated', 'v000009-r000009.parquet')],
      { 'data.parquet': f('machine_learning_curated', 'v000001-r000001.parquet'), 'delta-v000002-r000002.parquet': f('machine_learning_curated', 'delta-v000002-r000002.parquet'), 'delta-v000005-r000005.parquet': null, 'stray.parquet': null }],
    ['accelerometer_landing', [f('accelerometer_landing', 'part-r000004-c.parquet'), f('accelerometer_landing', 'part-r000004.parquet')],
      { 'part-r000001.parquet': f('accelerometer_landing', 'part-r000001.parquet'), 'part-r000002.parquet': f('accelerometer_landing', 'part-r000002.parquet') }],
    ['customer_trusted', [f('customer_trusted', 'v000002-r000002.parquet')], {}]
  ]
  const { publicationSteps } = await import('../../pipeline/visible-layout.js')
  const py = JSON.parse(await python(`import json; from stedi_spark.storage import publication_steps
cases = json.loads(${JSON.stringify(JSON.stringify(cases))})
print(json.dumps([[list(s) for s in publication_steps(table, files, shown)] for table, files, shown in cases]))`)) as Array<Array<[string, string, string | null]>>
  for (const [i, [table, files, shown]] of cases.entries()) {
    const ts = publicationSteps(table as never, files, new Map(Object.entries(shown).map(([k, v]) => [k, v ?? undefined])))
    t.same(py[i], ts.map((s) => [s.action, s.name, s.canonical ?? null]), table)
  }
})
