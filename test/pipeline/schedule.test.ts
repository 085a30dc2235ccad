// The scheduler: a run per tick, failures retried with exponential backoff, a busy lakehouse
// skipped, and a stop between runs. The clock is injected: nothing sleeps.
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../common/logger.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { PipelineError } from '../../pipeline/errors.js'
import type { RunReport } from '../../pipeline/report.js'
import { runSchedule } from '../../pipeline/schedule.js'
import { PUBLISHED, tempDir } from '../helpers/index.js'

function capture (): { logger: ReturnType<typeof createLogger>, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } })
  return { logger: createLogger({ destination }), lines }
}

const fakeReport = (runId: number): RunReport => ({ runId, status: 'ok', counts: { curated: { machine_learning: 1 } }, warnings: { crossCustomerPairs: 0 }, durationMs: 1 }) as unknown as RunReport

t.test('a failing run is retried with doubling delays, capped at the interval', async (t) => {
  const config = createPipelineConfig({ landingDir: '/l', lakehouseDir: '/h' })
  const sleeps: number[] = []
  let calls = 0
  const { logger, lines } = capture()
  const result = await runSchedule(config, {
    everyMs: 5000,
    retries: 4,
    retryBaseMs: 1000,
    maxTicks: 2,
    logger,
    sleep: async (ms) => { sleeps.push(ms) },
    run: async () => {
      calls++
      if (calls <= 4) throw new PipelineError('PIPE_ERR_ENGINE', `boom ${calls}`)
      return fakeReport(calls)
    }
  })
  t.same(result, { ticks: 2, failures: 4 })
  t.same(sleeps.slice(0, 4), [1000, 2000, 4000, 5000], 'backoff 1 s, 2 s, 4 s, then the interval')
  t.equal(sleeps.length, 5, 'then one wait for the next tick')
  t.same(lines.filter((l) => l.msg === 'pipeline run failed').map((l) => l.attempt), [1, 2, 3, 4])
  t.equal(lines.filter((l) => l.msg === 'pipeline run finished').length, 2)
})

t.test('a busy lakehouse skips the tick without counting a failure; the signal stops the loop', async (t) => {
  const config = createPipelineConfig({ landingDir: '/l', lakehouseDir: '/h' })
  const controller = new AbortController()
  const { logger, lines } = capture()
  let calls = 0
  const result = await runSchedule(config, {
    everyMs: 1000,
    logger,
    signal: controller.signal,
    sleep: async () => { if (calls >= 3) controller.abort() },
    run: async () => {
      calls++
      if (calls === 2) throw new PipelineError('PIPE_ERR_BUSY', 'held')
      return fakeReport(calls)
    }
  })
  t.same(result, { ticks: 3, failures: 0 })
  t.equal(lines.filter((l) => l.msg === 'pipeline run skipped: another run holds the lakehouse').length, 1)
})

t.test('stedi pipeline schedule runs the real pipeline on each tick', async (t) => {
  const lakehouse = await tempDir(t)
  const { logger, lines } = capture()
  const result = await runSchedule(createPipelineConfig({ landingDir: PUBLISHED, lakehouseDir: lakehouse }), {
    everyMs: 10, maxTicks: 2, logger
  })
  t.same(result, { ticks: 2, failures: 0 })
  const runs = lines.filter((l) => l.msg === 'pipeline run finished')
  t.same(runs.map((r) => r.status), ['ok', 'unchanged'])
  t.same((runs[0].counts as { curated: unknown }).curated, { customer: 482, machine_learning: 43681 })
})

t.test('a run longer than the interval is followed at once by the next; the ticks it overran are not made up', async (t) => {
  const config = createPipelineConfig({ landingDir: '/l', lakehouseDir: '/h' })
  const { logger } = capture()
  let now = 0
  const starts: number[] = []
  const sleeps: number[] = []
  const durations = [25_000, 3_000, 1_000]
  const result = await runSchedule(config, {
    everyMs: 10_000,
    maxTicks: 3,
    logger,
    now: () => now,
    sleep: async (ms) => { sleeps.push(ms); now += ms },
    run: async () => { starts.push(now); now += durations[starts.length - 1]; return fakeReport(starts.length) }
  })
  t.same(result, { ticks: 3, failures: 0 })
  t.same(starts, [0, 25_000, 35_000], 'the second run starts as the 25 s run ends, the third one interval after the second started')
  t.same(sleeps, [0, 7_000], 'no burst of runs for the ticks missed')
})
