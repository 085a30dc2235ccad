import { type Snapshot, openSnapshot, querySnapshot, snapshotCounts } from '../../pipeline/snapshot.js'
import { formatCountsTable } from '../../pipeline/report.js'
import { type Command, UsageError, oneOf, parse } from '../args.js'
import { FORMATS, formatRows } from '../format.js'
import { DEFAULT_LAKEHOUSE } from '../defaults.js'
import { S3_OPTION, S3_USAGE, storageFlags } from './s3-flags.js'

async function snapshotOf (values: { lakehouse?: string, 's3-endpoint'?: string }): Promise<Snapshot> {
  const lakehouse = values.lakehouse ?? DEFAULT_LAKEHOUSE
  return await openSnapshot(lakehouse, { s3: storageFlags(values, [['--lakehouse', lakehouse]]) })
}

export const counts: Command = {
  name: 'counts',
  usage: `stedi counts [--lakehouse DIR] [--json]

Without --json: the row-count table in the seed's layout, then the quarantined line counts.
With --json exactly:
{"landing":{"customer":N,"accelerometer":N,"step_trainer":N},"trusted":{...},"curated":{"customer":N,"machine_learning":N},"quarantined":{...}}

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE}); or s3://BUCKET/PREFIX
${S3_USAGE}`,
  run: async (argv) => {
    const { values } = parse(argv, { lakehouse: { type: 'string' }, json: { type: 'boolean' }, ...S3_OPTION })
    if (values.help === true) { console.log(counts.usage); return 0 }
    const snapshot = await snapshotOf(values)
    snapshot.close()
    const c = snapshotCounts(snapshot)
    if (values.json === true) console.log(JSON.stringify(c))
    else console.log(`${formatCountsTable(c)}\n\nquarantined lines: customer ${c.quarantined.customer}, accelerometer ${c.quarantined.accelerometer}, step trainer ${c.quarantined.step_trainer}`)
    return 0
  }
}

export const query: Command = {
  name: 'query',
  usage: `stedi query [--lakehouse DIR] [--format table|json|csv] "SELECT ..."

Tables: customer_landing, accelerometer_landing, step_trainer_landing, customer_trusted,
accelerometer_trusted, step_trainer_trusted, customer_curated, machine_learning_curated, and the
quarantined lines: customer_quarantine, accelerometer_quarantine, step_trainer_quarantine.
One SELECT (or EXPLAIN) statement; anything that would write is refused. The query sees the table
versions current when it starts, whatever a run does meanwhile.

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE}); or s3://BUCKET/PREFIX
  --format FORMAT           table (default), json (an array of objects) or csv
${S3_USAGE}`,
  run: async (argv) => {
    const { values, positionals } = parse(argv, { lakehouse: { type: 'string' }, format: { type: 'string' }, ...S3_OPTION }, true)
    if (values.help === true) { console.log(query.usage); return 0 }
    if (positionals.length !== 1) throw new UsageError('give the SQL as one argument, in quotes')
    const format = oneOf('--format', values.format, FORMATS) ?? 'table'
    const snapshot = await snapshotOf(values)
    const result = await querySnapshot(snapshot, positionals[0]).finally(snapshot.close)
    console.log(formatRows(result.columns, result.rows, format))
    return 0
  }
}
