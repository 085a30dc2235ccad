// `stedi simulate fleet --watch-lakehouse DIR`: the fleet's acknowledgements go to the simulator's
// freshness tracker, and the pipeline's table watch tells it which rows machine_learning_curated
// gained. The two meet here, in the command line, because the simulator and the pipeline do not
// import each other.
import type { FleetAck } from '../simulator/fleet.js'
import { type FreshnessResult, FreshnessTracker, watchFreshness } from '../simulator/freshness.js'
import { watchTable } from '../pipeline/table-watch.js'

export interface FreshnessWatchOptions {
  lakehouse: string
  /** time between polls of the lakehouse's state */
  everyMs: number
  /** after the fleet stops, how long to wait for the readings not seen yet */
  timeoutMs: number
  sampleEvery: number
}

export interface FleetFreshness extends FreshnessResult {
  lakehouse: string
  pollEveryMs: number
  polls: number
  /** what the polls cost: time in all and at most, table files read, versions that were a new base */
  pollCost: { totalMs: number, maxMs: number, filesRead: number, rewrittenVersions: number }
  pollErrors: number
  lastPollError: string | null
}

/** Begins watching (the table's current version is the baseline); call before the fleet publishes. */
export async function startFreshnessWatch (o: FreshnessWatchOptions): Promise<{ onAck: (ack: FleetAck) => void, finish: () => Promise<FleetFreshness>, cancel: () => Promise<void> }> {
  const table = await watchTable(o.lakehouse, 'machine_learning_curated', {
    columns: ['serialNumber', 'sensorReadingTime', 'user', 'timestamp'], keyColumn: 'sensorReadingTime'
  })
  const tracker = new FreshnessTracker({ sampleEvery: o.sampleEvery })
  const cost = { totalMs: 0, maxMs: 0, filesRead: 0, rewrittenVersions: 0 }
  const watch = watchFreshness(tracker, async (instants) => {
    const started = performance.now()
    const polled = await table.poll(instants)
    const ms = performance.now() - started
    cost.totalMs += ms
    cost.maxMs = Math.max(cost.maxMs, ms)
    cost.filesRead += polled.filesRead
    if (polled.rewritten) cost.rewrittenVersions++
    return polled.rows
  }, { everyMs: o.everyMs })
  return {
    onAck: (ack) => { tracker.acknowledged(ack) },
    finish: async () => {
      await watch.settle(o.timeoutMs)
      const polling = await watch.stop()
      table.close()
      return { ...tracker.result(), lakehouse: o.lakehouse, pollEveryMs: o.everyMs, polls: polling.polls,
        pollCost: { ...cost, totalMs: Math.round(cost.totalMs), maxMs: Math.round(cost.maxMs) }, pollErrors: polling.errors, lastPollError: polling.lastError }
    },
    cancel: async () => {
      await watch.stop()
      table.close()
    }
  }
}

export function formatFreshness (f: FleetFreshness): string {
  const p = f.freshnessMs
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
  return [
    `freshness, PUBACK to visible in machine_learning_curated (1 reading in ${f.sampleEvery}, polled every ${s(f.pollEveryMs)}): ` +
      (p === null ? 'no reading seen' : `p50 ${s(p.p50)}, p95 ${s(p.p95)}, p99 ${s(p.p99)}, max ${s(p.max)}`),
    `followed ${f.sampled} readings of consenting customers: visible ${f.visible}, never visible ${f.neverVisible}` +
      (f.notFollowed > 0 ? `, ${f.notFollowed} more not followed (too many waiting at once)` : '') +
      `; readings of customers without consent: followed ${f.notConsenting.sampled}, visible ${f.notConsenting.visible}` +
      `; ${f.polls} polls took ${f.pollCost.totalMs} ms in all and read ${f.pollCost.filesRead} table files` +
      (f.pollErrors > 0 ? `; ${f.pollErrors} polls failed (last: ${f.lastPollError ?? ''})` : '')
  ].join('\n')
}
