// `stedi pipeline verify` is a reader: it takes no lock, so it neither waits for a run holding the
// lakehouse nor makes a run wait, and it compares the versions current when it started, whatever
// runs commit meanwhile.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { type CliResult, STEDI_BIN, cli, killChild, linkPublished, startPausedRun, tempDir } from '../helpers/index.js'

t.test('a run holding the lakehouse does not hold verify up; verify compares the committed versions', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const places = ['--landing', landing, '--lakehouse', path.join(dir, 'lake')]
  await linkPublished(landing, (_rel, i) => i <= 4 || i === 10)
  t.equal((await cli(['pipeline', 'run', ...places])).code, 0)
  const committed = JSON.parse((await cli(['counts', '--lakehouse', path.join(dir, 'lake'), '--json'])).stdout) as { curated: { machine_learning: number } }
  await linkPublished(landing, (_rel, i) => !(i <= 4 || i === 10))
  const holder = await startPausedRun(places, 'jobs')
  t.teardown(async () => { await killChild(holder) })

  const started = performance.now()
  const r = await cli(['pipeline', 'verify', ...places, '--json'])
  t.equal(r.code, 0, r.stderr)
  const report = JSON.parse(r.stdout) as { tables: Array<{ table: string, current: number }> }
  t.equal(report.tables.find((x) => x.table === 'machine_learning_curated')?.current, committed.curated.machine_learning, 'the committed version, not the paused run\'s')
  t.comment(`verify beside a run holding the lakehouse: ${Math.round(performance.now() - started)} ms`)
})

t.test('verify holds nothing a run waits for: a run beside a paused verify, and runs committing during a verify', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const places = ['--landing', landing, '--lakehouse', path.join(dir, 'lake')]
  await linkPublished(landing, (_rel, i) => i <= 3 || i === 10)
  t.equal((await cli(['pipeline', 'run', ...places])).code, 0)

  // stopped by its test hook once it has its snapshot of the lakehouse
  const scratch = path.join(dir, 'scratch')
  await fs.mkdir(scratch)
  const paused = await startPausedRun([...places, '--scratch', scratch], 'snapshot', { command: ['pipeline', 'verify'] })
  t.teardown(async () => { await killChild(paused) })
  await linkPublished(landing, (_rel, i) => i === 4)
  const started = performance.now()
  const beside = await cli(['pipeline', 'run', ...places])
  t.equal(beside.code, 0, `a run without --wait is not refused: ${beside.stderr}`)
  t.ok(performance.now() - started < 30_000, 'and is not held up')
  await killChild(paused)

  // a verify from start to end while runs commit new versions: it compares the versions it started with
  const child = spawn(process.execPath, [STEDI_BIN, 'pipeline', 'verify', ...places, '--json'])
  t.teardown(async () => { await killChild(child) })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const runs: CliResult[] = []
  for (const pick of [(i: number) => i === 5 || i === 11, (i: number) => i === 6]) {
    await linkPublished(landing, (_rel, i) => pick(i))
    runs.push(await cli(['pipeline', 'run', ...places]))
  }
  t.same(runs.map((r) => r.code), [0, 0], runs.map((r) => r.stderr).join(''))
  t.equal(await exited, 0, stdout + stderr)
  t.equal((await fs.readdir(scratch)).length, 1, 'a killed verify leaves its scratch folder')
  t.equal((await cli(['pipeline', 'verify', ...places, '--scratch', scratch])).code, 0, 'and the lakehouse the runs left is equal too')
  t.same(await fs.readdir(scratch), [], 'the next verify removes the killed one\'s folder with its own')
})
