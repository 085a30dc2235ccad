// The SQL in sql/ agrees with the dataset contract: the Athena DDL declares exactly the contract's
// fields, and every job named in contracts/jobs.ts has its file.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { DATASETS, DATASET_NAMES } from '../../contracts/datasets.js'
import { ACCOUNTING_QUERIES, CROSS_CUSTOMER_QUERY, JOBS } from '../../contracts/jobs.js'
import { ROOT } from '../helpers/index.js'

const ATHENA_TYPES = { string: 'string', integer: 'bigint', number: 'double' } as const

t.test('landing DDL declares the contract fields with their types', async (t) => {
  for (const dataset of DATASET_NAMES) {
    const ddl = await fs.readFile(path.join(ROOT, 'sql', `${dataset}_landing.sql`), 'utf8')
    const body = ddl.slice(ddl.indexOf('(') + 1, ddl.indexOf(')\nROW FORMAT'))
    const declared = body.split(',').map((c) => c.trim().split(/\s+/)).map(([name, type]) => [name, type])
    t.same(declared, DATASETS[dataset].fields.map((f) => [f.name, ATHENA_TYPES[f.kind]]), dataset)
    t.match(ddl, `LOCATION 's3://stedi-lakehouse/${DATASETS[dataset].landingDir}/'`)
  }
})

t.test('every job and report has its SQL file, a single SELECT', async (t) => {
  const names = [...JOBS.map((j) => j.name), ...Object.values(ACCOUNTING_QUERIES), CROSS_CUSTOMER_QUERY]
  for (const name of names) {
    const sql = (await fs.readFile(path.join(ROOT, 'sql', `${name}.sql`), 'utf8')).replace(/--.*$/gm, '').trim()
    t.match(sql, /^(SELECT|WITH)\b/, name)
    t.notMatch(sql.replace(/;\s*$/, ''), /;/, `${name} is one statement`)
  }
})
