import { CONSENT_POLICIES, ML_JOINS } from '../../contracts/lakehouse.js'
import { formatDurationMs } from '../../common/duration.js'
import { createLogger } from '../../common/logger.js'
import { PAUSE_POINTS, type PipelineConfigInput, createPipelineConfig } from '../../pipeline/config.js'
import { formatAccounting, formatCountsTable, formatSummary, formatWarnings } from '../../pipeline/report.js'
import { runPipeline } from '../../pipeline/run.js'
import { runSparkPipeline } from '../../pipeline/engine/spark.js'
import { runSchedule } from '../../pipeline/schedule.js'
import { openStateForRead } from '../../pipeline/snapshot.js'
import type { RunRow } from '../../pipeline/state.js'
import { type Command, UsageError, durationFlag, logLevelFromEnv, oneOf, parse, wholeNumber } from '../args.js'
import { createProgress } from '../progress.js'
import { DEFAULT_LAKEHOUSE, DEFAULT_LANDING } from '../defaults.js'
import { S3_OPTION, S3_USAGE, storageFlags } from './s3-flags.js'
import { loadPrivacyKey } from '../../common/privacy-key.js'

const ENGINES = ['duckdb', 'spark'] as const

const COMMON_OPTIONS = {
  landing: { type: 'string' },
  lakehouse: { type: 'string' },
  'consent-policy': { type: 'string' },
  'ml-join': { type: 'string' },
  'full-refresh': { type: 'boolean' },
  threads: { type: 'string' },
  'memory-limit-mb': { type: 'string' },
  lease: { type: 'string' },
  'retain-landing': { type: 'string' },
  ...S3_OPTION
} as const

const COMMON_USAGE = `  --landing DIR             landing root: DIR/customer/landing, DIR/accelerometer/landing,
                            DIR/step_trainer/landing (default ${DEFAULT_LANDING}); or s3://BUCKET/PREFIX
  --lakehouse DIR           where the zone tables and the pipeline state live (default ${DEFAULT_LAKEHOUSE});
                            or s3://BUCKET/PREFIX (one run at a time: a lease, free again 60 s after a crash)
${S3_USAGE}
  --consent-policy POLICY   seed (default): consent from each customer's latest record;
                            strict: also drop readings taken before shareWithResearchAsOfDate
  --ml-join JOIN            seed (default): trainer and phone joined on timestamp alone;
                            same-customer: only pairs where the phone's user owns the trainer
  --full-refresh            re-read every landing file and rebuild every table
  --threads N               engine threads (default: all cores)
  --memory-limit-mb N       engine memory before it spills to disk (default 600)
  --lease DURATION          an s3:// lakehouse's lease: a crashed run's lakehouse is free again after
                            this (default 60s; a live run renews it every third of it)
  --retain-landing DURATION after a successful run, delete the landing files (local or S3) already
                            read and last modified more than DURATION ago, e.g. 30d (default: keep
                            them); their rows stay in the lakehouse, a full refresh keeps them, and
                            a redelivery of the same content is not read again`

function configFrom (values: Record<string, unknown>): PipelineConfigInput {
  const landingDir = (values.landing as string | undefined) ?? DEFAULT_LANDING
  const lakehouseDir = (values.lakehouse as string | undefined) ?? DEFAULT_LAKEHOUSE
  return {
    landingDir,
    lakehouseDir,
    s3: storageFlags(values, [['--landing', landingDir], ['--lakehouse', lakehouseDir]]),
    consentPolicy: oneOf('--consent-policy', values['consent-policy'] as string | undefined, CONSENT_POLICIES),
    mlJoin: oneOf('--ml-join', values['ml-join'] as string | undefined, ML_JOINS),
    fullRefresh: values['full-refresh'] === true,
    threads: wholeNumber('--threads', values.threads as string | undefined),
    leaseMs: durationFlag('--lease', values.lease as string | undefined),
    retainLandingMs: durationFlag('--retain-landing', values['retain-landing'] as string | undefined, '30d or 12h'),
    memoryLimitMb: wholeNumber('--memory-limit-mb', values['memory-limit-mb'] as string | undefined)
  }
}

const run: Command = {
  name: 'pipeline run',
  usage: `stedi pipeline run [options]

Reads the landing files not read before, rebuilds the zone tables (Parquet) and prints the
row-count table in the seed's layout, where every landing record went, and a one-line summary.
Exit 0 on success; 1 with a one-line reason on failure (the lakehouse is left as it was);
3 when another run holds the lakehouse.

${COMMON_USAGE}
  --wait [DURATION]         queue behind a run in progress (default: fail at once); e.g. --wait 10m
  --engine ENGINE           duckdb (default): embedded, in this process; spark: the five jobs in
                            scripts/ on a local Spark (needs \`npm run setup:spark\` and Java 17)
  --spark-master URL        Spark master for --engine spark (default local[THREADS])
  --json                    print the run report as one JSON object instead`,
  run: async (argv) => {
    const { values } = parse(argv, {
      ...COMMON_OPTIONS, wait: { type: 'string' }, json: { type: 'boolean' }, 'pause-after': { type: 'string' }, engine: { type: 'string' }, 'spark-master': { type: 'string' }
    })
    if (values.help === true) { console.log(run.usage); return 0 }
    const engine = oneOf('--engine', values.engine, ENGINES) ?? 'duckdb'
    if (engine !== 'spark' && values['spark-master'] !== undefined) throw new UsageError('--spark-master needs --engine spark')
    if (engine === 'spark' && values['pause-after'] !== undefined) throw new UsageError('--pause-after is a test hook of the duckdb engine')
    if (engine === 'spark' && values['retain-landing'] !== undefined) throw new UsageError('--retain-landing is an option of the duckdb engine (run it after the Spark jobs)')
    const config0 = configFrom(values)
    const waitMs = durationFlag('--wait', values.wait) ?? 0
    const config = createPipelineConfig({ ...config0, waitMs, privacyKey: await loadPrivacyKey(), pauseAfter: oneOf('--pause-after', values['pause-after'], PAUSE_POINTS) })
    const progress = createProgress()
    const report = await (engine === 'spark'
      ? runSparkPipeline(config, { master: values['spark-master'] }, progress.update)
      : runPipeline(config, { onProgress: progress.update })).finally(progress.done)
    if (values.json === true) {
      console.log(JSON.stringify(report))
      return 0
    }
    const out = [formatCountsTable(report.counts), '']
    if (report.accounting !== null) out.push(formatAccounting(report.accounting), '')
    for (const w of formatWarnings(report)) out.push(w)
    out.push(formatSummary(report))
    console.log(out.join('\n'))
    return 0
  }
}

const schedule: Command = {
  name: 'pipeline schedule',
  usage: `stedi pipeline schedule --every DURATION [options]

Runs the pipeline now and then every DURATION (e.g. 30s, 5m), until SIGINT or SIGTERM, which let the
run in progress finish. A failed run is retried with exponential backoff (1 s, 2 s, 4 s, at most the
interval). When another process holds the lakehouse, that tick is skipped: there is never more than
one run per lakehouse. Logs are NDJSON on stdout.

  --every DURATION          interval between run starts (default 5m)
  --retries N               retries of a failed run per tick (default 3)
  --max-runs N              stop after N ticks (default: never)
${COMMON_USAGE}`,
  run: async (argv) => {
    const { values } = parse(argv, { ...COMMON_OPTIONS, every: { type: 'string' }, retries: { type: 'string' }, 'max-runs': { type: 'string' } })
    if (values.help === true) { console.log(schedule.usage); return 0 }
    const everyMs = durationFlag('--every', values.every ?? '5m')!
    const config = createPipelineConfig({ ...configFrom(values), privacyKey: await loadPrivacyKey() })
    const logger = createLogger({ level: logLevelFromEnv() }).child({ component: 'scheduler', lakehouse: config.lakehouseDir })
    const controller = new AbortController()
    const stop = (): void => { logger.info('stopping after the run in progress'); controller.abort() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    logger.info({ everyMs, landing: config.landingDir }, 'pipeline schedule started')
    const { ticks, failures } = await runSchedule(config, {
      everyMs,
      retries: wholeNumber('--retries', values.retries),
      maxTicks: wholeNumber('--max-runs', values['max-runs']),
      logger,
      signal: controller.signal
    })
    logger.info({ ticks, failures }, 'pipeline schedule stopped')
    return 0
  }
}

const history: Command = {
  name: 'pipeline history',
  usage: `stedi pipeline history [--lakehouse DIR] [--limit N] [--json]

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE}); or s3://BUCKET/PREFIX
${S3_USAGE}
  --limit N                 how many runs, newest first (default 10)
  --json                    one JSON array`,
  run: async (argv) => {
    const { values } = parse(argv, { lakehouse: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, ...S3_OPTION })
    if (values.help === true) { console.log(history.usage); return 0 }
    const lakehouse = values.lakehouse ?? DEFAULT_LAKEHOUSE
    const { state, dispose } = await openStateForRead(lakehouse, { s3: storageFlags(values, [['--lakehouse', lakehouse]]) })
    try {
      const runs = await state.runs(wholeNumber('--limit', values.limit) ?? 10)
      if (values.json === true) { console.log(JSON.stringify(runs)); return 0 }
      for (const r of runs) console.log(historyLine(r))
      return 0
    } finally {
      await dispose()
    }
  }
}

/** A run's duration: its report's, or (erasures, failed runs, older reports) from its start to its end. */
export function runDurationMs (r: Pick<RunRow, 'startedAt' | 'finishedAt' | 'report'>): number | undefined {
  const reported = (r.report as { durationMs?: unknown } | null)?.durationMs
  if (typeof reported === 'number') return reported
  if (r.finishedAt === null) return undefined
  const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

export function historyLine (r: RunRow): string {
  const report = r.report as { counts?: { curated?: { machine_learning?: number } } } | null
  const ms = runDurationMs(r)
  return `run ${r.id}  ${r.startedAt}  ${r.status.padEnd(9)} ${JSON.stringify(r.options)}` +
    `  ${ms === undefined ? (r.finishedAt === null ? 'running' : 'duration unknown') : formatDurationMs(ms)}` +
    (report?.counts?.curated?.machine_learning !== undefined ? `  ml ${report.counts.curated.machine_learning}` : '') +
    (r.error !== null ? `  error: ${r.error}` : '')
}

export const pipelineCommands: Command[] = [run, schedule, history]
