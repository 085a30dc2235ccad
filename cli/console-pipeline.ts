// The lakehouse side of the operator console under `stedi start`: recent runs, the zone funnel
// (the current table versions' row counts, as `stedi counts` prints them, with the latest run's
// accounting of what was filtered out), the cross-customer warning and the last promotion. It lives
// here, in the process owner, because gateway/ does not import pipeline/. Read at most once a
// second whatever the number of pages polling, and never holding the lakehouse's lock.
import type { ConsolePipeline } from '../gateway/console/view.js'
import type { S3ConnectionConfig } from '../common/s3-connection.js'
import type { DatasetName } from '../contracts/datasets.js'
import { type Counts, type DatasetAccounting, countsFromRows } from '../pipeline/report.js'
import { openStateForRead } from '../pipeline/snapshot.js'
import { runDurationMs } from './commands/pipeline.js'

const RUNS_SHOWN = 10
/** runs looked through for the latest accounting (a failed run has none) */
const RUNS_SEARCHED = 50

export function createConsolePipeline (lakehouse: string, options: { s3?: S3ConnectionConfig, maxAgeMs?: number } = {}): () => Promise<ConsolePipeline> {
  const maxAgeMs = options.maxAgeMs ?? 1000
  let last: { atMs: number, value: Promise<ConsolePipeline> } | undefined
  return async () => {
    if (last === undefined || Date.now() - last.atMs >= maxAgeMs) last = { atMs: Date.now(), value: read(lakehouse, options.s3) }
    return await last.value
  }
}

async function read (lakehouse: string, s3: S3ConnectionConfig | undefined): Promise<ConsolePipeline> {
  let opened: Awaited<ReturnType<typeof openStateForRead>>
  try {
    opened = await openStateForRead(lakehouse, { s3 })
  } catch (err) {
    return { runs: [], funnel: null, warnings: { crossCustomerPairs: null }, lastPromotionAt: null, problem: `no lakehouse to show yet: ${(err as Error).message}` }
  }
  try {
    const { state } = opened
    const rows = await state.runs(RUNS_SEARCHED)
    const versions = await state.currentVersions()
    const reportOf = (r: typeof rows[number]): { newFiles?: Record<string, number>, accounting?: Record<DatasetName, DatasetAccounting> | null, warnings?: { crossCustomerPairs?: number | null } } | null =>
      r.report as never
    const withAccounting = rows.find((r) => reportOf(r)?.accounting != null)
    const latestReport = rows.find((r) => r.status === 'ok' || r.status === 'unchanged')
    const promoted = rows.find((r) => (r.status === 'ok' || r.status === 'unchanged') && r.finishedAt !== null)
    let funnel: ConsolePipeline['funnel'] = null
    if (versions.size > 0) {
      const counts: Counts = countsFromRows(new Map([...versions].map(([table, v]) => [table, v.rows])))
      const accounting = withAccounting === undefined ? null : reportOf(withAccounting)!.accounting!
      const filtered = { customer: {}, accelerometer: {}, step_trainer: {} } as Record<DatasetName, Record<string, number>>
      if (accounting !== null) for (const [d, a] of Object.entries(accounting) as Array<[DatasetName, DatasetAccounting]>) filtered[d] = { ...a.filtered }
      funnel = { ...counts, filtered, accountingRun: withAccounting?.id ?? null }
    }
    return {
      runs: rows.slice(0, RUNS_SHOWN).map((r) => {
        const newFiles = reportOf(r)?.newFiles
        return {
          id: r.id,
          status: r.finishedAt === null && r.status !== 'failed' ? 'running' : r.status,
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
          // the run row's own start and end: a committed report says durationMs 0 (it is set after the commit)
          durationMs: runDurationMs({ ...r, report: null }) ?? null,
          newFiles: newFiles === undefined ? null : Object.values(newFiles).reduce((a, b) => a + b, 0),
          error: r.error
        }
      }),
      funnel,
      warnings: { crossCustomerPairs: latestReport === undefined ? null : reportOf(latestReport)?.warnings?.crossCustomerPairs ?? null },
      lastPromotionAt: promoted?.finishedAt ?? null,
      problem: versions.size === 0 ? 'no run has committed yet' : null
    }
  } catch (err) {
    return { runs: [], funnel: null, warnings: { crossCustomerPairs: null }, lastPromotionAt: null, problem: `the lakehouse could not be read: ${(err as Error).message}` }
  } finally {
    await opened.dispose()
  }
}
