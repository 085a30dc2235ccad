import path from 'node:path'
import { packageRoot } from '../../common/package-root.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { formatAccounting, formatCountsTable, formatSummary, formatWarnings } from '../../pipeline/report.js'
import { runPipeline } from '../../pipeline/run.js'
import { type Command, parse } from '../args.js'
import { createProgress } from '../progress.js'

export const SAMPLE_LANDING = 'data/sample'

export const demo: Command = {
  name: 'demo',
  usage: `stedi demo [--lakehouse DIR]

Runs the zone pipeline (full refresh) over the simulator-generated sample in ${SAMPLE_LANDING}/ and
prints the row-count table, where every record went, and where the machine-learning table is.

  --lakehouse DIR           (default var/demo-lakehouse)`,
  run: async (argv) => {
    const { values } = parse(argv, { lakehouse: { type: 'string' } })
    if (values.help === true) { console.log(demo.usage); return 0 }
    const config = createPipelineConfig({
      landingDir: path.join(packageRoot(), SAMPLE_LANDING),
      lakehouseDir: values.lakehouse ?? 'var/demo-lakehouse',
      fullRefresh: true
    })
    const progress = createProgress()
    const report = await runPipeline(config, { onProgress: progress.update }).finally(progress.done)
    console.log([
      `landing: ${config.landingDir}`,
      '',
      formatCountsTable(report.counts),
      '',
      ...(report.accounting !== null ? [formatAccounting(report.accounting), ''] : []),
      ...formatWarnings(report),
      formatSummary(report),
      '',
      `machine-learning table: ${path.join(config.lakehouseDir, 'curated/machine_learning_curated/data.parquet')}`,
      `try: npx stedi query --lakehouse ${config.lakehouseDir} "SELECT * FROM machine_learning_curated LIMIT 5"`
    ].join('\n'))
    return 0
  }
}
