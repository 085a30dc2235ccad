// `stedi pipeline verify` honours erasure: erased customers stay out of the recomputation (their
// tombstones, with the key they were made with), and an unfinished erasure is waited for.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { copyPublished, cli, killChild, rows, startPausedRun, tempDir } from '../helpers/index.js'
import { verify } from '../helpers/verify.js'

const env = { STEDI_PRIVACY_KEY: 'verify-test-privacy-key-0123456789' }

const verifyWithKey = async (args: string[], withEnv: NodeJS.ProcessEnv = env): ReturnType<typeof verify> => await verify(args, withEnv)

/** A writable copy of the published landing, promoted once. */
async function promoted (t: Parameters<typeof tempDir>[0]): Promise<{ dir: string, landing: string, lakehouse: string, places: string[] }> {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lake')
  const places = ['--landing', landing, '--lakehouse', lakehouse]
  await copyPublished(landing)
  const run = await cli(['pipeline', 'run', ...places], { env })
  if (run.code !== 0) throw new Error(run.stderr)
  return { dir, landing, lakehouse, places }
}

t.test('equal after an erasure; without the key verify refuses; a redelivered file brings nobody back', async (t) => {
  const { dir, landing, lakehouse, places } = await promoted(t)
  const [{ email }] = await rows(lakehouse, 'SELECT "user" AS email FROM machine_learning_curated ORDER BY 1 LIMIT 1')
  const before = (await rows(lakehouse, 'SELECT count(*) AS n FROM machine_learning_curated'))[0].n as number
  // the file as it was before the erasure, to deliver again later
  const original = await fs.readFile(path.join(landing, 'accelerometer/landing/accelerometer-1691348231445.json'))

  const erased = await cli(['privacy', 'erase', '--email', String(email), ...places], { env })
  t.equal(erased.code, 0, erased.stderr)
  t.ok((await rows(lakehouse, 'SELECT count(*) AS n FROM machine_learning_curated'))[0].n as number < before, 'the erasure removed rows')
  const r = await verifyWithKey(places)
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.same(r.report?.drift, [])

  const keyless = await verifyWithKey(places, { STEDI_PRIVACY_KEY: '', STEDI_PRIVACY_KEY_FILE: path.join(dir, 'no-key') })
  t.equal(keyless.code, 1)
  t.match(keyless.stderr, /PIPE_ERR_PRIVACY_KEY/)

  await fs.writeFile(path.join(landing, 'accelerometer/landing/accelerometer-1791348231445.json'), original)
  t.equal((await cli(['pipeline', 'run', ...places], { env })).code, 0)
  t.same((await rows(lakehouse, `SELECT count(*) AS n FROM accelerometer_trusted WHERE "user" = '${String(email)}'`))[0].n, 0)
  const again = await verifyWithKey(places)
  t.equal(again.code, 0, again.stdout + again.stderr)
})

t.test('an erasure killed after its commit: verify waits for it to be finished', async (t) => {
  const { landing, lakehouse, places } = await promoted(t)
  const [{ email }] = await rows(lakehouse, 'SELECT email FROM customer_curated ORDER BY 1 LIMIT 1')
  await killChild(await startPausedRun(['--email', String(email), ...places], 'commit', { command: ['privacy', 'erase'], env }))
  const pending = await verifyWithKey(places)
  t.equal(pending.code, 1)
  t.match(pending.stderr, /has landing files to rewrite.*\[PIPE_ERR_ERASURE_PENDING\]/)
  t.equal((await cli(['pipeline', 'run', ...places], { env })).code, 0, 'a run finishes the erasure')
  const r = await verifyWithKey(places)
  t.equal(r.code, 0, r.stdout + r.stderr)
})
