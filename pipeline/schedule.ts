// Scheduled promotion: a run every interval, never two at once on one lakehouse (the state lock),
// a failed run retried with exponential backoff, each attempt logged as one line.
import type { Logger } from '../common/logger.js'
import type { PipelineConfig } from './config.js'
import { isPipelineError } from './errors.js'
import { type RunHooks, runPipeline } from './run.js'
import type { RunReport } from './report.js'

export interface ScheduleOptions {
  everyMs: number
  /** attempts per tick after the first fails (default 3) */
  retries?: number
  /** first retry delay; doubles each attempt, never beyond everyMs (default 1000) */
  retryBaseMs?: number
  /** stop after this many ticks (default: until the signal) */
  maxTicks?: number
  logger: Logger
  signal?: AbortSignal
  /** injectable for tests: resolves after ms, or early when the signal aborts */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** injectable for tests: the clock ticks are measured on, in ms (default Date.now) */
  now?: () => number
  run?: (config: PipelineConfig, hooks?: RunHooks) => Promise<RunReport>
}

export async function sleepAbortable (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

export async function runSchedule (config: PipelineConfig, options: ScheduleOptions): Promise<{ ticks: number, failures: number }> {
  const { everyMs, retries = 3, retryBaseMs = 1000, maxTicks = Infinity, logger, signal } = options
  const sleep = options.sleep ?? sleepAbortable
  const now = options.now ?? Date.now
  const run = options.run ?? runPipeline
  const aborted = (): boolean => signal?.aborted === true
  let ticks = 0
  let failures = 0
  while (!aborted() && ticks < maxTicks) {
    // ticks are counted from each run's start: a run longer than the interval is followed at once by
    // the next, and the ticks it overran are not made up (that would be a burst of runs with nothing new)
    const tickStart = now()
    ticks++
    for (let attempt = 0; attempt <= retries && !aborted(); attempt++) {
      try {
        const report = await run(config)
        logger.info({ run: report.runId, status: report.status, counts: report.counts, durationMs: report.durationMs, crossCustomerPairs: report.warnings.crossCustomerPairs, retention: report.retention }, 'pipeline run finished')
        break
      } catch (err) {
        const code = isPipelineError(err) ? err.code : 'UNEXPECTED'
        if (code === 'PIPE_ERR_BUSY') {
          // another process is promoting this lakehouse right now: its run is as good as ours
          logger.info({ code }, 'pipeline run skipped: another run holds the lakehouse')
          break
        }
        failures++
        const last = attempt === retries
        const delayMs = Math.min(retryBaseMs * 2 ** attempt, everyMs)
        logger.error({ code, err: (err as Error).message, attempt: attempt + 1, retryInMs: last ? null : delayMs }, 'pipeline run failed')
        if (!last) await sleep(delayMs, signal)
      }
    }
    if (ticks >= maxTicks) break
    await sleep(Math.max(0, tickStart + everyMs - now()), signal)
  }
  return { ticks, failures }
}
