// Decides when a dataset's waiting readings become a landing file: at max records, max bytes, or
// when the oldest has waited max age (so a quiet device's reading lands within seconds). One flush
// at a time per dataset; a failed flush stays claimed and is retried before anything newer.
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import type { Logger } from '../../common/logger.js'
import type { BatchPolicy } from '../config.js'
import type { GatewayMetrics } from '../metrics.js'
import type { Flush, Outbox } from '../outbox/outbox.js'
import type { Sink } from './sinks/sink.js'

export interface Batcher {
  start: () => Promise<void>
  /** check the size thresholds now (called after each accepted group) */
  poke: () => void
  /** publish everything waiting, regardless of thresholds (shutdown) */
  drain: () => Promise<void>
  stop: () => Promise<void>
  /** the last flush error, for readiness */
  lastError: () => string | undefined
}

export function createBatcher (deps: { outbox: Outbox, sink: Sink, policy: BatchPolicy, metrics: GatewayMetrics, logger: Logger }): Batcher {
  const { outbox, sink, policy, metrics, logger } = deps
  const busy = new Map<DatasetName, Promise<void>>()
  let timer: NodeJS.Timeout | undefined
  let error: string | undefined
  let retryAfterMs = 0
  let failures = 0
  // datasets with a claimed flush that failed: retried on the next ticks even if nothing new arrives
  const unfinished = new Set<DatasetName>()

  const publish = async (flush: Flush): Promise<void> => {
    const started = performance.now()
    const files = await outbox.flushFiles(flush)
    // a flush whose messages were all redeliveries or refusals has nothing to publish
    if (files.length > 0) await sink.publish(flush, files)
    await outbox.completeFlush(flush, files)
    if (files.length === 0) return
    metrics.batchesFlushed.inc({ dataset: flush.dataset })
    metrics.lastFlushAtMs = Date.now()
    let records = 0
    let bytes = 0
    for (const f of files) for (const line of f.lines) { records++; bytes += Buffer.byteLength(line) + 1 }
    metrics.recordsFlushed.inc({ dataset: flush.dataset }, records)
    metrics.bytesFlushed.inc({ dataset: flush.dataset }, bytes)
    metrics.flushLatency.observe((performance.now() - started) / 1000)
  }

  const due = (dataset: DatasetName, force: boolean): boolean => {
    const p = outbox.pendingStats(dataset)
    if (p.records === 0) return false
    return force || p.records >= policy.maxRecords || p.bytes >= policy.maxBytes ||
      (p.oldestMs !== null && Date.now() - p.oldestMs >= policy.maxAgeMs)
  }

  const flushDataset = async (dataset: DatasetName, force: boolean): Promise<void> => {
    if (Date.now() < retryAfterMs && !force) return
    try {
      for (const unfinished of (await outbox.unfinishedFlushes()).filter((f) => f.dataset === dataset)) await publish(unfinished)
      while (due(dataset, force)) {
        const flush = await outbox.claimFlush(dataset, policy.maxRecords, policy.maxBytes)
        if (flush === undefined) break
        await publish(flush)
      }
      error = undefined
      failures = 0
      unfinished.delete(dataset)
    } catch (err) {
      unfinished.add(dataset)
      failures++
      error = (err as Error).message
      retryAfterMs = Date.now() + Math.min(100 * 2 ** failures, 10_000)
      metrics.sinkErrors.inc({ dataset })
      logger.error({ dataset, err: error, failures }, 'flush failed; the batch stays in the outbox and is retried')
      if (force) throw err
    }
  }

  const run = (dataset: DatasetName, force: boolean): Promise<void> => {
    const current = busy.get(dataset)
    if (current !== undefined) return force ? current.then(async () => await run(dataset, force)) : current
    const work = flushDataset(dataset, force).finally(() => busy.delete(dataset))
    busy.set(dataset, work)
    return work
  }

  const tick = (): void => { for (const d of DATASET_NAMES) if (unfinished.has(d) || due(d, false)) void run(d, false) }

  return {
    start: async () => {
      // a crash between a claim and its file: finish those first, with the same file names (a sink
      // that is down now is retried on the ticks, like any failed flush)
      for (const flush of await outbox.unfinishedFlushes()) {
        await publish(flush).catch((err: unknown) => {
          unfinished.add(flush.dataset)
          error = (err as Error).message
          logger.error({ dataset: flush.dataset, err: error }, 'an unfinished flush failed again; retried later')
        })
      }
      timer = setInterval(tick, Math.max(10, Math.min(250, policy.maxAgeMs / 4)))
      timer.unref()
    },
    poke: tick,
    drain: async () => {
      // messages with nothing to land (refusals, redeliveries) are settled by the ledger, not by a flush
      await outbox.settle()
      for (const d of DATASET_NAMES) await run(d, true)
    },
    stop: async () => {
      if (timer !== undefined) clearInterval(timer)
      await Promise.all([...busy.values()].map(async (p) => await p.catch(() => undefined)))
    },
    lastError: () => error
  }
}
