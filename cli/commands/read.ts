import { openSnapshot, querySnapshot, snapshotCounts } from '../../pipeline/snapshot.js'
import { formatCountsTable } from '../../pipeline/report.js'
import { type Command, UsageError, oneOf, parse } from '../args.js'
import { FORMATS, formatRows } from '../format.js'
import { DEFAULT_LAKEHOUSE } from '../defaults.js'

export const counts: Command = {
  name: 'counts',
  usage: `stedi counts [--lakehouse DIR] [--json]

Without --json: the row-count table in the seed's layout, then the quarantined line counts.
With --json exactly:
{"landing":{"customer":N,"accelerometer":N,"step_trainer":N},"trusted":{...},"curated":{"customer":N,"machine_learning":N},"quarantined":{...}}

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE})`,
  run: async (argv) => {
    const { values } = parse(argv, { lakehouse: { type: 'string' }, json: { type: 'boolean' } })
    if (values.help === true) { console.log(counts.usage); return 0 }
    const c = snapshotCounts(await openSnapshot(values.lakehouse ?? DEFAULT_LAKEHOUSE))
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

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE})
  --format FORMAT           table (default), json (an array of objects) or csv`,
  run: async (argv) => {
    const { values, positionals } = parse(argv, { lakehouse: { type: 'string' }, format: { type: 'string' } }, true)
    if (values.help === true) { console.log(query.usage); return 0 }
    if (positionals.length !== 1) throw new UsageError('give the SQL as one argument, in quotes')
    const format = oneOf('--format', values.format, FORMATS) ?? 'table'
    const result = await querySnapshot(await openSnapshot(values.lakehouse ?? DEFAULT_LAKEHOUSE), positionals[0])
    console.log(formatRows(result.columns, result.rows, format))
    return 0
  }
}
