// sql/athena_lakehouse.sql declares every zone table with the columns and types of the Parquet
// files the pipeline writes (read back from a real lakehouse), at a location given as a parameter.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES, tableDir } from '../../contracts/lakehouse.js'
import { DATASET_NAMES } from '../../contracts/datasets.js'
import { ROOT, cli, linkPublished, rows, run, tempDir, writeLanding } from '../helpers/index.js'

const ATHENA_TYPES: Record<string, string> = { BIGINT: 'bigint', VARCHAR: 'string', DOUBLE: 'double' }

function declared (ddl: string): Map<string, { columns: Array<[string, string]>, location: string }> {
  const tables = new Map<string, { columns: Array<[string, string]>, location: string }>()
  for (const m of ddl.matchAll(/CREATE EXTERNAL TABLE IF NOT EXISTS stedi_lakehouse\.(\w+) \(\n([\s\S]*?)\n\)\nSTORED AS PARQUET\nLOCATION '([^']+)'/g)) {
    const columns = m[2].split(',\n').map((c) => c.trim().split(/\s+/)).map(([name, type]): [string, string] => [name.replaceAll('`', ''), type])
    tables.set(m[1], { columns, location: m[3] })
  }
  return tables
}

t.test('every zone table, with the columns and types of the files the pipeline writes', async (t) => {
  const ddl = await fs.readFile(path.join(ROOT, 'sql', 'athena_lakehouse.sql'), 'utf8')
  const tables = declared(ddl)
  t.same([...tables.keys()].sort(), [...TABLE_NAMES].sort(), 'one CREATE per table')
  const landing = await tempDir(t)
  await linkPublished(landing, () => true)
  // a bad line per dataset, so that every quarantine table has a file to describe
  for (const dataset of DATASET_NAMES) await writeLanding(landing, dataset, 'bad.json', ['not json'])
  const lakehouse = await tempDir(t)
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  for (const table of TABLE_NAMES) {
    const visible = `${lakehouse}/${tableDir(table)}/*.parquet`
    const described = await rows(lakehouse, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${visible}'))`)
    t.same(tables.get(table)?.columns, described.map((r) => [r.column_name, ATHENA_TYPES[String(r.column_type)]]), `${table}: as written`)
    t.equal(tables.get(table)?.location, `\${LAKEHOUSE}/${tableDir(table)}/`, `${table}: its prefix, below the parameter`)
  }
})

t.test('stedi s3 ddl fills in the location; a local lakehouse is a usage error', async (t) => {
  const r = await cli(['s3', 'ddl', '--lakehouse', 's3://my-bucket/lake/'])
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stdout, /\$\{LAKEHOUSE\}/)
  t.match(r.stdout, "LOCATION 's3://my-bucket/lake/curated/machine_learning_curated/'")
  t.equal([...r.stdout.matchAll(/CREATE EXTERNAL TABLE/g)].length, TABLE_NAMES.length)
  t.equal((await cli(['s3', 'ddl', '--lakehouse', 'var/lakehouse'])).code, 2)
})
