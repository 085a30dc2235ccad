// The command-line contract of erasure and its proof, and erasures killed at each point.
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { PUBLISHED, cli, killChild, rows, startPausedRun, tempDir } from '../helpers/index.js'
import { diffLakehouses } from '../helpers/spark.js'

const env = { STEDI_PRIVACY_KEY: 'cli-test-privacy-key-0123456789' }

async function copyPublished (to: string): Promise<void> {
  await fs.cp(PUBLISHED, to, { recursive: true, filter: (src) => !src.endsWith('README.md') })
}

const pausedErasure = async (args: string[], point: string): Promise<ChildProcessWithoutNullStreams> =>
  await startPausedRun(args, point, { command: ['privacy', 'erase'], env })

t.test('erase, verify and report from the command line; a killed erasure is finished by the next erasure or run', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lakehouse')
  await copyPublished(landing)
  const places = ['--landing', landing, '--lakehouse', lakehouse]
  t.equal((await cli(['pipeline', 'run', ...places], { env })).code, 0)
  const picked = await rows(lakehouse, `SELECT email FROM customer_curated ORDER BY email LIMIT 2`)
  const [a, b] = picked.map((r) => String(r.email))

  const report = await cli(['privacy', 'report', '--email', a, ...places, '--json'], { env })
  t.equal(report.code, 0, report.stderr)
  const where = JSON.parse(report.stdout) as { customers: Array<{ used: boolean, consentDate?: string }>, where: Array<{ zone: string, table?: string }> }
  t.equal(where.customers[0].used, true, 'report: used for training, with its consent date')
  t.match(where.customers[0].consentDate, /^20\d\d-/)
  t.ok(where.where.some((w) => w.table === 'machine_learning_curated') && where.where.some((w) => w.zone.startsWith('landing')), 'report: by zone, table and file')
  t.notOk(report.stdout.includes(a), 'the report names the customer by keyed hash only')

  const dirty = await cli(['privacy', 'verify', '--email', a, ...places], { env })
  t.equal(dirty.code, 1, 'verify fails while the data is there')
  t.match(dirty.stderr, /PIPE_ERR_PRIVACY_REMAINS/)
  t.match(dirty.stdout, /accelerometer\/landing\/.*email occurrence/)

  // killed after writing its new files, before its commit: nothing happened; erasing again does it all
  await killChild(await pausedErasure(['--email', a, ...places], 'rewrite'))
  t.equal((await cli(['privacy', 'verify', '--email', a, ...places], { env })).code, 1, 'a kill before the commit erased nothing yet')
  const erase = await cli(['privacy', 'erase', '--email', a, ...places, '--json'], { env })
  t.equal(erase.code, 0, erase.stderr)
  t.notOk(erase.stdout.includes(a), 'the printed receipt names nobody in clear')
  const verified = await cli(['privacy', 'verify', '--email', a, ...places, '--json'], { env })
  t.equal(verified.code, 0, verified.stdout + verified.stderr)
  t.equal(JSON.parse(verified.stdout).clean, true)

  // killed after its commit, before the landing files were replaced: the next run finishes them
  await killChild(await pausedErasure(['--email', b, ...places], 'commit'))
  t.equal((await cli(['privacy', 'verify', '--email', b, ...places], { env })).code, 1, 'landing files still hold the second customer')
  t.equal((await cli(['pipeline', 'run', ...places], { env })).code, 0)
  const second = await cli(['privacy', 'verify', '--email', b, ...places], { env })
  t.equal(second.code, 0, second.stdout + second.stderr)

  // the same as erasing both at once on a fresh copy
  const landing2 = path.join(dir, 'landing2')
  const lakehouse2 = path.join(dir, 'lakehouse2')
  await copyPublished(landing2)
  const emails = path.join(dir, 'emails.txt')
  await fs.writeFile(emails, `# to forget\n${a}\n\n${b}\n`)
  t.equal((await cli(['pipeline', 'run', '--landing', landing2, '--lakehouse', lakehouse2], { env })).code, 0)
  t.equal((await cli(['privacy', 'erase', '--emails', emails, '--landing', landing2, '--lakehouse', lakehouse2], { env })).code, 0)
  for (const d of await diffLakehouses(lakehouse, lakehouse2)) {
    if (d.table.endsWith('_trusted') || d.table.endsWith('_curated')) t.same([d.onlyA, d.onlyB], [0, 0], `${d.table}: killed erasures end as one clean erasure`)
  }
  for (const rel of ['customer/landing/customer-1691348231425.json']) {
    t.equal(await fs.readFile(path.join(landing, rel), 'utf8'), await fs.readFile(path.join(landing2, rel), 'utf8'), 'the rewritten landing files are the same bytes')
  }
  t.equal((await cli(['pipeline', 'run', ...places])).code, 1, 'a run without the key refuses')
})
