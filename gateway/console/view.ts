// Every number the operator console shows, in one JSON document (GET /v1/console). The gateway's
// own figures come from its metrics and outbox; the lakehouse's from an optional provider that the
// process owner passes in (`stedi start` has a lakehouse, `stedi gateway` alone has none), so that
// gateway/ never imports pipeline/. Identities never appear here: devices are counted by kind.
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import type { GatewayMetrics } from '../metrics.js'
import type { RateHistory } from './rate-history.js'

type PerDataset = Record<DatasetName, number>

/** What the lakehouse side reports (built by cli/console-pipeline.ts under `stedi start`). */
export interface ConsolePipeline {
  /** newest first */
  runs: Array<{ id: number, status: string, startedAt: string, finishedAt: string | null, durationMs: number | null, newFiles: number | null, error: string | null }>
  /** the zones' row counts (the current table versions: what `stedi counts` prints), and where the
   *  records that did not reach trusted went (the accounting of run `accountingRun`) */
  funnel: {
    landing: PerDataset
    trusted: PerDataset
    curated: { customer: number, machine_learning: number }
    quarantined: PerDataset
    filtered: Record<DatasetName, Record<string, number>>
    accountingRun: number | null
  } | null
  warnings: { crossCustomerPairs: number | null }
  /** the end of the last run that committed or found nothing new */
  lastPromotionAt: string | null
  /** why the lakehouse could not be read (none yet, say) */
  problem: string | null
}

export interface ConsoleView {
  generatedAt: string
  uptimeSeconds: number
  devices: { total: number, byKind: Record<string, number> }
  readings: {
    accepted: PerDataset
    /** average over the last 10 complete seconds */
    perSecond: PerDataset
    /** one count per second, oldest first, the last ending at endsAt */
    history: { seconds: number, endsAt: string, series: Record<DatasetName, number[]> }
  }
  ackLatencyMs: { count: number, p50: number | null, p99: number | null }
  /** refused unacknowledged (the device sends again), by reason */
  refusals: { total: number, byReason: Record<string, number> }
  /** acknowledged and refused as invalid, by reason */
  rejected: { total: number, byReason: Record<string, number> }
  authFailures: { total: number, byReason: Record<string, number> }
  outbox: { depth: PerDataset }
  landing: { flushes: PerDataset, records: PerDataset, lastFlushAt: string | null, secondsSinceLastFlush: number | null }
  freshness: { secondsSinceLanded: number | null, secondsSincePromotion: number | null }
  pipeline: ConsolePipeline | null
}

export interface ConsoleSources {
  metrics: GatewayMetrics
  rates: RateHistory
  outboxDepth: (dataset: DatasetName) => number
  connected: () => { total: number, byKind: Record<string, number> }
  startedAtMs: number
  pipeline?: () => Promise<ConsolePipeline>
  now?: () => number
}

const perDataset = (read: (d: DatasetName) => number): PerDataset =>
  Object.fromEntries(DATASET_NAMES.map((d) => [d, read(d)])) as PerDataset
const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits
const total = (byReason: Record<string, number>): number => Object.values(byReason).reduce((a, b) => a + b, 0)
const secondsSince = (ms: number | null | undefined, nowMs: number): number | null =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? null : Math.max(0, Math.round((nowMs - ms) / 1000))

export async function buildConsoleView (s: ConsoleSources): Promise<ConsoleView> {
  const nowMs = (s.now ?? Date.now)()
  const { metrics } = s
  const history = s.rates.series(nowMs)
  const p50 = metrics.ackLatency.quantile(0.5)
  const p99 = metrics.ackLatency.quantile(0.99)
  const pipeline = s.pipeline === undefined ? null : await s.pipeline()
  const lastFlushAtMs = metrics.lastFlushAtMs ?? null
  const refusals = metrics.refusals.by('reason')
  const rejected = metrics.rejected.by('reason')
  const authFailures = metrics.authFailures.by('reason')
  return {
    generatedAt: new Date(nowMs).toISOString(),
    uptimeSeconds: Math.round((nowMs - s.startedAtMs) / 1000),
    devices: s.connected(),
    readings: {
      accepted: perDataset((d) => metrics.accepted.get({ dataset: d })),
      // the current second is still filling: the 10 before it
      perSecond: perDataset((d) => round(history.series[d].slice(-11, -1).reduce((a, b) => a + b, 0) / 10, 1)),
      history: { seconds: s.rates.seconds, endsAt: new Date(history.endsAtMs).toISOString(), series: history.series }
    },
    ackLatencyMs: { count: metrics.ackLatency.count, p50: p50 === undefined ? null : round(p50 * 1000, 2), p99: p99 === undefined ? null : round(p99 * 1000, 2) },
    refusals: { total: total(refusals), byReason: refusals },
    rejected: { total: total(rejected), byReason: rejected },
    authFailures: { total: total(authFailures), byReason: authFailures },
    outbox: { depth: perDataset(s.outboxDepth) },
    landing: {
      flushes: perDataset((d) => metrics.batchesFlushed.get({ dataset: d })),
      records: perDataset((d) => metrics.recordsFlushed.get({ dataset: d })),
      lastFlushAt: lastFlushAtMs === null ? null : new Date(lastFlushAtMs).toISOString(),
      secondsSinceLastFlush: secondsSince(lastFlushAtMs, nowMs)
    },
    freshness: {
      secondsSinceLanded: secondsSince(lastFlushAtMs, nowMs),
      secondsSincePromotion: secondsSince(pipeline?.lastPromotionAt === null || pipeline === null ? null : Date.parse(pipeline.lastPromotionAt), nowMs)
    },
    pipeline
  }
}
