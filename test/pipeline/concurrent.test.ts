// A run refused because another holds the lakehouse (exit 3), or a scheduler tick that skips for
// the same reason, touches nothing of the run that holds it: checked file by file against a paused
// run, and end to end against a real run hammered by refusals from start to finish.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../common/logger.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { isPipelineError } from '../../pipeline/errors.js'
import { runPipeline } from '../../pipeline/run.js'
import { runSchedule } from '../../pipeline/schedule.js'
import { PUBLISHED, STEDI_BIN, cli, fileTree, killChild, startPausedRun, tempDir } from '../helpers/index.js'

const SEED_COUNTS = {
  landing: { customer: 956, accelerometer: 81273, step_trainer: 28680 },
  trusted: { customer: 482, accelerometer: 40981, step_trainer: 14460 },
  curated: { customer: 482, machine_learning: 43681 }
}

/** Scheduler ticks against the lakehouse; returns how many skipped as busy and how many ran. */
async function ticks (config: ReturnType<typeof createPipelineConfig>, n: number): Promise<{ skipped: number, finished: number, failed: number }> {
  const lines: Array<{ msg: string }> = []
  const destination = new Writable({ write (chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as { msg: string }); cb() } })
  await runSchedule(config, { everyMs: 1, maxTicks: n, retries: 0, logger: createLogger({ destination }), sleep: async () => {} })
  const count = (msg: string): number => lines.filter((l) => l.msg === msg).length
  return { skipped: count('pipeline run skipped: another run holds the lakehouse'), finished: count('pipeline run finished'), failed: count('pipeline run failed') }
}

t.test('refused runs and skipped ticks leave a paused run\'s scratch exactly as it was', async (t) => {
  const lakehouse = path.join(await tempDir(t), 'lake')
  const args = ['--landing', PUBLISHED, '--lakehouse', lakehouse]
  const child = await startPausedRun(args, 'ingest')
  t.teardown(async () => { await killChild(child) })
  const scratch = path.join(lakehouse, '_state/tmp')
  const before = await fileTree(scratch)
  t.ok(before.some((e) => e.includes('.numbered.json')), 'the paused run keeps numbered copies of the customer files in its scratch')

  for (let i = 0; i < 3; i++) {
    const refused = await cli(['pipeline', 'run', ...args])
    t.equal(refused.code, 3, 'a second `stedi pipeline run` is refused')
  }
  const config = createPipelineConfig({ landingDir: PUBLISHED, lakehouseDir: lakehouse, threads: 1 })
  t.same(await ticks(config, 5), { skipped: 5, finished: 0, failed: 0 }, 'every scheduler tick skips')
  t.same(await fileTree(scratch), before, 'the running run\'s scratch is untouched')
})

t.test('a real run completes with the seed counts while refusals hammer its lakehouse from start to end', async (t) => {
  const lakehouse = path.join(await tempDir(t), 'lake')
  const config = createPipelineConfig({ landingDir: PUBLISHED, lakehouseDir: lakehouse, threads: 1 })
  const owner = path.join(lakehouse, '_state/run-owner.json')
  for (const round of ['first run', 'full refresh']) {
    // one engine thread: a longer run, and a core left for the refusals
    const child = spawn(process.execPath, [STEDI_BIN, 'pipeline', 'run', '--landing', PUBLISHED, '--lakehouse', lakehouse, '--json', '--threads', '1',
      ...(round === 'full refresh' ? ['--full-refresh'] : [])])
    t.teardown(async () => { await killChild(child) })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    let done = false
    void exited.then(() => { done = true })
    // the refusals start once the run holds the lock, and go on until it exits
    while (!done) {
      const holder = await fs.readFile(owner, 'utf8').then((s) => (JSON.parse(s) as { pid: number }).pid, () => undefined)
      if (holder === child.pid) break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    t.notOk(done, `${round}: the refusals began while the run held the lakehouse`)
    const breathe = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 5)) }
    let refused = 0
    let processes = 0
    let skipped = 0
    const unexpected: string[] = []
    const hammer = async (): Promise<void> => {
      while (!done) {
        try {
          const report = await runPipeline(config)
          // the run ended meanwhile and this attempt got the lock: it finds nothing new
          if (report.status !== 'unchanged') unexpected.push(`a refused attempt ran: ${report.status}`)
        } catch (err) {
          if (isPipelineError(err) && err.code === 'PIPE_ERR_BUSY') refused++
          else unexpected.push(String(err))
        }
        await breathe()
      }
    }
    const processHammer = async (): Promise<void> => {
      while (!done) {
        const res = await cli(['pipeline', 'run', '--landing', PUBLISHED, '--lakehouse', lakehouse])
        if (res.code === 3) processes++
        else if (res.code !== 0) unexpected.push(res.stderr)
      }
    }
    const tickHammer = async (): Promise<void> => {
      while (!done) {
        const r = await ticks(config, 3)
        skipped += r.skipped
        if (r.failed > 0) unexpected.push(`${r.failed} scheduler ticks failed`)
        await breathe()
      }
    }
    await Promise.all([hammer(), processHammer(), tickHammer()])
    const code = await exited
    t.equal(code, 0, `${round}: the run holding the lakehouse completed`, { stderr: stderr.slice(-2000) })
    if (code === 0) t.match((JSON.parse(stdout) as { counts: unknown }).counts, SEED_COUNTS, `${round}: with the seed counts`)
    t.same(unexpected, [], `${round}: every other attempt was refused or found nothing new`)
    // refused processes are load here (each takes about as long as the run); the paused test counts them
    t.ok(refused >= 10 && skipped >= 3,
      `${round}: refused ${refused} runs in process, ${processes} \`stedi pipeline run\` processes, skipped ${skipped} ticks`)
  }
})
