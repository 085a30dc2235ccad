// `stedi pipeline run --engine spark`: the five Spark jobs in scripts/ run in order in one local
// Spark session (scripts/run_all.py), each committing its own run to the same state; the report is
// assembled from the jobs' reports, in the shape the embedded engine returns.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import { packageRoot } from '../../common/package-root.js'
import type { PipelineConfig } from '../config.js'
import { PIPELINE_ERRORS, PipelineError, type PipelineErrorCode, isPipelineError } from '../errors.js'
import type { Counts, DatasetAccounting, RunReport } from '../report.js'
import { auditLakehouse } from '../privacy/audit.js'
import { openStateForRead } from '../snapshot.js'

export interface SparkOptions {
  /** Spark master (default local[THREADS]); driver memory comes from STEDI_SPARK_DRIVER_MEMORY */
  master?: string
}

/** What one job prints on stdout (scripts/stedi_spark/job.py). */
interface JobReport {
  runId: number
  status: 'ok' | 'unchanged'
  job: string
  read: Partial<Record<DatasetName, { newFiles: number, records: number, quarantined: number, erased?: number }>>
  counts: Counts
  accounting: Partial<Record<DatasetName, DatasetAccounting>>
  warnings: { crossCustomerPairs?: number }
  durationMs: number
}

/** The Python that has scripts/requirements.txt installed: STEDI_SPARK_PYTHON, or .venv in the package. */
export function sparkPython (): string {
  const python = process.env.STEDI_SPARK_PYTHON ?? path.join(packageRoot(), '.venv', 'bin', 'python')
  if (!fs.existsSync(python)) {
    throw new PipelineError('PIPE_ERR_SPARK_UNAVAILABLE',
      `no Python environment for Spark at ${python}: run \`npm run setup:spark\` (a .venv with scripts/requirements.txt; Java 17 must be on PATH), or set STEDI_SPARK_PYTHON`)
  }
  return python
}

export async function runSparkPipeline (config: PipelineConfig, options: SparkOptions = {}, onProgress: (m: string) => void = () => {}): Promise<RunReport> {
  const started = performance.now()
  const python = sparkPython()
  if (config.fullRefresh) await refuseRetiredFullRefresh(config)
  const args = [
    path.join(packageRoot(), 'scripts', 'run_all.py'),
    '--landing', config.landingDir, '--lakehouse', config.lakehouseDir,
    '--consent-policy', config.consentPolicy, '--ml-join', config.mlJoin,
    '--keep-versions', String(config.keepVersions), '--wait-seconds', String(config.waitMs / 1000),
    '--lease-seconds', String(config.leaseMs / 1000),
    '--master', options.master ?? `local[${config.threads}]`, '--json'
  ]
  if (config.fullRefresh) args.push('--full-refresh')
  // the jobs reach S3 as the AWS tools do: the same settings, passed as the environment. The
  // privacy key comes the same way: STEDI_PRIVACY_KEY or STEDI_PRIVACY_KEY_FILE are inherited, and
  // the default var/privacy-key is found because the jobs run in this process's working folder
  const env = config.s3 === undefined
    ? process.env
    : { ...process.env, AWS_REGION: config.s3.region, ...(config.s3.endpoint === undefined ? {} : { AWS_ENDPOINT_URL_S3: config.s3.endpoint }) }
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
  const reports: JobReport[] = []
  const tail: string[] = []
  eachLine(child.stdout, (line) => { if (line.startsWith('{')) reports.push(JSON.parse(line) as JobReport) })
  eachLine(child.stderr, (line) => {
    tail.push(line)
    if (tail.length > 40) tail.shift()
    if (line.startsWith('stedi-spark: ')) onProgress(line.slice('stedi-spark: '.length))
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) throw failure(code, tail)
  const report = assemble(config, reports, Math.round(performance.now() - started))
  // the jobs' machine-learning table, audited as an embedded run audits its own (flagged, not blocked)
  onProgress('privacy audit')
  const audit = await auditLakehouse(config.lakehouseDir, { s3: config.s3 })
  report.audit = { ok: audit.ok, rows: audit.rows, violations: audit.violations, byReason: audit.byReason }
  return report
}

function eachLine (stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) onLine(line.trimEnd())
  })
}

function failure (code: number | null, tail: string[]): PipelineError {
  const last = [...tail].reverse().find((l) => l.startsWith('stedi-spark: '))?.slice('stedi-spark: '.length)
  const match = last === undefined ? null : /^([A-Z_]+): (.*)$/.exec(last)
  if (match !== null && match[1] in PIPELINE_ERRORS) return new PipelineError(match[1] as PipelineErrorCode, match[2])
  return new PipelineError('PIPE_ERR_SPARK_FAILED',
    `the Spark jobs failed (exit ${String(code)}): ${last ?? tail.slice(-5).join(' | ')}`)
}

function assemble (config: PipelineConfig, reports: JobReport[], durationMs: number): RunReport {
  const last = reports.at(-1)
  if (last === undefined) throw new PipelineError('PIPE_ERR_SPARK_FAILED', 'the Spark jobs exited without a report')
  const newFiles = {} as RunReport['newFiles']
  const read = {} as RunReport['read']
  const accounting = {} as Record<DatasetName, DatasetAccounting>
  for (const d of DATASET_NAMES) {
    const r = reports.find((x) => x.read[d] !== undefined)?.read[d]
    newFiles[d] = r?.newFiles ?? 0
    read[d] = { records: r?.records ?? 0, quarantined: r?.quarantined ?? 0, fastFiles: 0, lineFiles: r?.newFiles ?? 0, ...(r?.erased === undefined ? {} : { erased: r.erased }) }
    const a = reports.find((x) => x.accounting[d] !== undefined)?.accounting[d]
    if (a !== undefined) accounting[d] = a
  }
  return {
    runId: last.runId,
    // each job commits its own run: the whole is unchanged only when every job was
    status: reports.every((r) => r.status === 'unchanged') ? 'unchanged' : 'ok',
    engine: 'spark',
    lakehouse: config.lakehouseDir,
    options: { consentPolicy: config.consentPolicy, mlJoin: config.mlJoin, fullRefresh: config.fullRefresh },
    newFiles,
    read,
    counts: last.counts,
    accounting: Object.keys(accounting).length === DATASET_NAMES.length ? accounting : null,
    warnings: { crossCustomerPairs: last.warnings.crossCustomerPairs ?? null },
    durationMs,
    timingsMs: Object.fromEntries(reports.map((r) => [`job:${r.job}`, r.durationMs]))
  }
}

/**
 * The Spark jobs rebuild landing from the files present; the rows of files --retain-landing deleted
 * exist only in the lakehouse, and the embedded engine's full refresh carries them. The jobs refuse
 * too (scripts/stedi_spark/job.py), for a Glue run; this says so before Spark starts.
 */
async function refuseRetiredFullRefresh (config: PipelineConfig): Promise<void> {
  let opened
  try {
    opened = await openStateForRead(config.lakehouseDir, { s3: config.s3 })
  } catch (err) {
    // no lakehouse yet (or not one): nothing retired; the jobs report what is wrong themselves
    if (isPipelineError(err)) return
    throw err
  }
  try {
    const retired = await opened.state.retiredCount()
    if (retired > 0) throw retiredFullRefresh(config.lakehouseDir, retired)
  } finally {
    await opened.dispose()
  }
}

function retiredFullRefresh (lakehouse: string, retired: number): PipelineError {
  return new PipelineError('PIPE_ERR_RETIRED_FULL_REFRESH',
    `${lakehouse} holds the rows of ${retired} landing files deleted by --retain-landing: a Spark full refresh rebuilds landing from the files present and would lose them; ` +
    'run the full refresh with --engine duckdb, which keeps them', { path: lakehouse })
}
