// Retention (--retain-landing): after a successful run, landing files already promoted and older
// than the period are deleted; their rows stay, a redelivery of the same content is not read again,
// a full refresh keeps their rows, and a run killed between its commit and the deletion leaves
// files the next run deletes.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { DATASETS, type DatasetName } from '../../contracts/datasets.js'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import { openDatabase } from '../../common/sqlite.js'
import { parseDurationMs } from '../../common/duration.js'
import { deleteRetired, planRetirement } from '../../pipeline/landing/retain.js'
import { listLandingFiles } from '../../pipeline/landing/scan.js'
import { T0, STEDI_BIN, cli, customer, fingerprint, killChild, rows, run, startPausedRun, tempDir, writeLanding } from '../helpers/index.js'

const DAY_MS = 86_400_000
const RETAIN = { retainLandingMs: 30 * DAY_MS }

const reading = (user: string, i: number): Record<string, unknown> => ({ user, timestamp: T0 + i * 1000, x: i, y: 0, z: 1 })
const trainer = (serial: string, i: number): Record<string, unknown> => ({ sensorReadingTime: T0 + i * 1000, serialNumber: serial, distanceFromObject: 200 + i })

/** Writes a landing file last modified `ageDays` ago. */
async function landed (landing: string, dataset: DatasetName, name: string, lines: Array<string | object>, ageDays: number): Promise<string> {
  const file = await writeLanding(landing, dataset, name, lines)
  const when = new Date(Date.now() - ageDays * DAY_MS)
  await fs.utimes(file, when, when)
  return file
}

const rel = (dataset: DatasetName, name: string): string => `${DATASETS[dataset].landingDir}/${name}`
const exists = async (file: string): Promise<boolean> => await fs.stat(file).then(() => true, () => false)

async function retiredRows (lakehouse: string): Promise<Array<{ path: string, sha256: string }>> {
  const db = await openDatabase(path.join(lakehouse, '_state/pipeline.sqlite'), { create: false, busyTimeoutMs: 1000 })
  try {
    return await db.all<{ path: string, sha256: string }>('SELECT path, sha256 FROM retired_landing_files ORDER BY path')
  } finally {
    await db.close()
  }
}

/** Old files in every dataset, two recent ones, and old files that are not landing files. */
async function seedLanding (landing: string): Promise<{ old: string[], recent: string[], others: string[] }> {
  const old = [
    await landed(landing, 'customer', 'c-old.json', [customer('a@test.com', 'sn-a', { shareWithResearchAsOfDate: T0 }), customer('b@test.com', 'sn-b', { shareWithResearchAsOfDate: T0 })], 40),
    await landed(landing, 'accelerometer', 'a-old.json', [reading('a@test.com', 1), reading('b@test.com', 2)], 31),
    await landed(landing, 'step_trainer', 's-old.json', [trainer('sn-a', 1), trainer('sn-b', 2), '{broken'], 90)
  ]
  const recent = [
    await landed(landing, 'customer', 'c-new.json', [customer('c@test.com', 'sn-c', { shareWithResearchAsOfDate: T0 })], 29),
    await landed(landing, 'accelerometer', 'a-new.json', [reading('c@test.com', 3)], 0)
  ]
  const others = [
    await landed(landing, 'accelerometer', '.hidden.json', [reading('x@test.com', 9)], 99),
    await landed(landing, 'accelerometer', '_part.json', [reading('x@test.com', 9)], 99),
    await landed(landing, 'accelerometer', 'notes.txt', [{ note: 'not landing' }], 99)
  ]
  return { old, recent, others }
}

t.test('durations take days', async (t) => {
  t.equal(parseDurationMs('30d'), 30 * DAY_MS)
  t.equal(parseDurationMs('12h'), 12 * 3_600_000)
  t.equal(parseDurationMs('1.5d'), 1.5 * DAY_MS)
  t.equal(parseDurationMs('30x'), undefined)
})

t.test('only old files already read go; recent ones and non-landing files stay; counts unchanged', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const { old, recent, others } = await seedLanding(landing)
  const first = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(first.retention, undefined, 'no retention figures without the option')
  for (const f of [...old, ...recent]) t.ok(await exists(f), `${path.basename(f)} kept without --retain-landing`)

  // an old file not read yet: this run reads it, and its commit promotes it, so it may go after that commit
  const unread = await landed(landing, 'accelerometer', 'a-old-unread.json', [reading('a@test.com', 4)], 45)
  const sizes = await Promise.all([...old, unread].map(async (f) => (await fs.stat(f)).size))
  const started = performance.now()
  const second = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  const ms = performance.now() - started
  t.equal(second.status, 'ok')
  t.same(second.newFiles, { customer: 0, accelerometer: 1, step_trainer: 0 }, 'the unread old file was read first')
  t.same(second.retention, { retired: 4, bytes: sizes.reduce((a, b) => a + b, 0) })
  for (const f of [...old, unread]) t.notOk(await exists(f), `${path.basename(f)} retired`)
  for (const f of [...recent, ...others]) t.ok(await exists(f), `${path.basename(f)} kept`)
  t.same((await retiredRows(lakehouse)).map((r) => r.path).sort(),
    [rel('accelerometer', 'a-old-unread.json'), rel('accelerometer', 'a-old.json'), rel('customer', 'c-old.json'), rel('step_trainer', 's-old.json')])
  t.equal(second.counts.landing.accelerometer, first.counts.landing.accelerometer + 1)
  t.equal(second.counts.quarantined.step_trainer, 1, 'the quarantined line of a retired file stays quarantined')
  t.comment(`run with 4 files retired: ${Math.round(ms)} ms`)

  // the same tables as a lakehouse that never retired anything
  const reference = await tempDir(t)
  const whole = await tempDir(t)
  for (const [d, n, lines] of [
    ['customer', 'c-old.json', [customer('a@test.com', 'sn-a', { shareWithResearchAsOfDate: T0 }), customer('b@test.com', 'sn-b', { shareWithResearchAsOfDate: T0 })]],
    ['accelerometer', 'a-old.json', [reading('a@test.com', 1), reading('b@test.com', 2)]],
    ['step_trainer', 's-old.json', [trainer('sn-a', 1), trainer('sn-b', 2), '{broken']],
    ['customer', 'c-new.json', [customer('c@test.com', 'sn-c', { shareWithResearchAsOfDate: T0 })]],
    ['accelerometer', 'a-new.json', [reading('c@test.com', 3)]],
    ['accelerometer', 'a-old-unread.json', [reading('a@test.com', 4)]]
  ] as Array<[DatasetName, string, object[]]>) await writeLanding(whole, d, n, lines)
  await run({ landingDir: whole, lakehouseDir: reference })
  for (const table of TABLE_NAMES) t.same(await fingerprint(lakehouse, table), await fingerprint(reference, table), table)

  const third = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  t.equal(third.status, 'unchanged')
  t.same(third.retention, { retired: 0, bytes: 0 })
  t.same(third.counts, second.counts)
})

t.test('a redelivered retired file is known (no duplicate rows); new content under its path is read', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await seedLanding(landing)
  const first = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  t.equal(first.retention?.retired, 3)

  // the same content again, under the same path: recent, then old
  const lines = [reading('a@test.com', 1), reading('b@test.com', 2)]
  await landed(landing, 'accelerometer', 'a-old.json', lines, 0)
  const again = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  t.equal(again.status, 'unchanged', 'nothing new to read')
  t.same(again.counts, first.counts)
  t.same(again.retention, { retired: 0, bytes: 0 }, 'recent: kept')
  await landed(landing, 'accelerometer', 'a-old.json', lines, 60)
  const old = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  t.equal(old.status, 'unchanged')
  t.same(old.counts, first.counts)
  t.equal(old.retention?.retired, 1, 'old again: retired again')
  t.equal((await retiredRows(lakehouse)).length, 3, 'one mark per identity')

  // new content under a retired path is a new file
  await landed(landing, 'accelerometer', 'a-old.json', [reading('a@test.com', 7)], 60)
  const changed = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  t.same(changed.newFiles, { customer: 0, accelerometer: 1, step_trainer: 0 })
  t.equal(changed.counts.landing.accelerometer, first.counts.landing.accelerometer + 1)
  t.equal(changed.retention?.retired, 1)
  t.same(await rows(lakehouse, "SELECT count(*) AS n FROM accelerometer_landing WHERE _file = 'accelerometer/landing/a-old.json'"), [{ n: 3 }])
})

t.test('--full-refresh keeps the rows of retired files, once, and re-reads what is present', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await seedLanding(landing)
  const before = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  const fingerprints = await Promise.all(TABLE_NAMES.map(async (table) => await fingerprint(lakehouse, table)))
  // a retired file redelivered (same content) must not be read twice
  await landed(landing, 'customer', 'c-old.json', [customer('a@test.com', 'sn-a', { shareWithResearchAsOfDate: T0 }), customer('b@test.com', 'sn-b', { shareWithResearchAsOfDate: T0 })], 1)

  for (const round of [1, 2]) {
    const refresh = await run({ landingDir: landing, lakehouseDir: lakehouse, fullRefresh: true })
    t.equal(refresh.status, 'ok')
    t.same(refresh.newFiles, { customer: 1, accelerometer: 1, step_trainer: 0 }, `round ${round}: the files present, the redelivered retired one aside`)
    t.same(refresh.counts, before.counts, `round ${round}: counts as before`)
    for (const [i, table] of TABLE_NAMES.entries()) t.same(await fingerprint(lakehouse, table), fingerprints[i], `round ${round}: ${table}`)
  }
  t.same(await rows(lakehouse, 'SELECT count(*) AS n FROM step_trainer_quarantine'), [{ n: 1 }], 'quarantined lines of retired files kept')

  // a retired path holding new content: the new content is read, the retired content's rows kept
  await landed(landing, 'step_trainer', 's-old.json', [trainer('sn-c', 5)], 1)
  const mixed = await run({ landingDir: landing, lakehouseDir: lakehouse, fullRefresh: true })
  t.equal(mixed.counts.landing.step_trainer, before.counts.landing.step_trainer + 1)
  const again = await run({ landingDir: landing, lakehouseDir: lakehouse, fullRefresh: true })
  t.same(again.counts, mixed.counts, 'a full refresh after it: the same')
})

t.test('deletion checks the content read: a file rewritten after the plan stays, a touched one goes', async (t) => {
  const landing = await tempDir(t)
  const a = await landed(landing, 'accelerometer', 'a.json', [reading('a@test.com', 1)], 40)
  const b = await landed(landing, 'accelerometer', 'b.json', [reading('a@test.com', 2)], 40)
  const files = await listLandingFiles(landing)
  const { createHash } = await import('node:crypto')
  const sha = async (f: string): Promise<string> => createHash('sha256').update(await fs.readFile(f)).digest('hex')
  const known = { byPath: new Map(), identities: new Set<string>() }
  const read = await Promise.all(files.map(async (f) => ({ path: f.relPath, sha256: await sha(f.absPath), size: f.size, mtimeMs: f.mtimeMs, dataset: f.dataset, records: 1, quarantined: 0 })))
  t.same(planRetirement({ retainLandingMs: 30 * DAY_MS, nowMs: Date.now(), listed: { kind: 'local', files }, known, read: [], pending: new Set() }), [], 'nothing read: nothing to retire')
  t.same(planRetirement({ retainLandingMs: 30 * DAY_MS, nowMs: Date.now(), listed: { kind: 'local', files }, known, read, pending: new Set([files[0].relPath]) }).map((f) => f.path),
    [files[1].relPath], 'a file an erasure has yet to rewrite stays')
  const plan = planRetirement({ retainLandingMs: 30 * DAY_MS, nowMs: Date.now(), listed: { kind: 'local', files }, known, read, pending: new Set() })
  t.equal(plan.length, 2)
  // a: same size, other content; b: same content, touched
  await fs.writeFile(a, JSON.stringify(reading('a@test.com', 3)) + '\n')
  await fs.utimes(b, new Date(), new Date())
  t.same(await deleteRetired(plan), { retired: 1, bytes: files[1].size })
  t.ok(await exists(a), 'rewritten: kept')
  t.notOk(await exists(b), 'touched, same content: deleted')
})

t.test('killed between commit and deletion: the files stay known; the next run with the option deletes them', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const { old } = await seedLanding(landing)
  const child = await startPausedRun(['--landing', landing, '--lakehouse', lakehouse, '--retain-landing', '30d'], 'commit')
  await killChild(child)
  for (const f of old) t.ok(await exists(f), `${path.basename(f)} still there`)
  t.equal((await retiredRows(lakehouse)).length, 3, 'the commit marked them retired')
  const without = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(without.status, 'unchanged', 'present and retired: known, not read again')
  for (const f of old) t.ok(await exists(f), 'without the option nothing is deleted')
  const next = await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  t.equal(next.status, 'unchanged')
  t.equal(next.retention?.retired, 3)
  for (const f of old) t.notOk(await exists(f), `${path.basename(f)} deleted by the next run`)
  t.same(next.counts, without.counts)
})

t.test('the CLI: --retain-landing on pipeline run, schedule and start', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const { recent } = await seedLanding(landing)
  const bad = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--retain-landing', 'a month'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--retain-landing takes a duration such as 30d or 12h \(got a month\)/)
  const spark = await cli(['pipeline', 'run', '--engine', 'spark', '--retain-landing', '30d'])
  t.equal(spark.code, 2)
  const ok = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--retain-landing', '30d', '--json'])
  t.equal(ok.code, 0, ok.stderr)
  t.same(JSON.parse(ok.stdout).retention.retired, 3)
  const text = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--retain-landing', '30d'])
  t.match(text.stdout, /; 0 landing files retired \(0 bytes\)/)
  for (const command of [['pipeline', 'run'], ['pipeline', 'schedule'], ['start']]) {
    const help = await cli([...command, '--help'])
    t.match(help.stdout, /--retain-landing DURATION/, `${command.join(' ')} --help`)
  }
  const schedule = await cli(['pipeline', 'schedule', '--landing', landing, '--lakehouse', lakehouse, '--retain-landing', '12h', '--max-runs', '1', '--every', '1s'])
  t.equal(schedule.code, 0, schedule.stderr)
  t.match(schedule.stdout, /"retention":\{"retired":1,"bytes":\d+\}/, 'the 29-day-old customer file goes with 12h')
  t.notOk(await exists(recent[0]))
  t.ok(await exists(recent[1]))

  // stedi start parses it into the scheduled promotion (and refuses a bad one)
  const badStart = await cli(['start', '--var', await tempDir(t), '--retain-landing', '0d'])
  t.equal(badStart.code, 2)
  const varDir = await tempDir(t)
  const child = spawn(process.execPath, [STEDI_BIN, 'start', '--var', varDir, '--mqtt-port', '0', '--http-port', '0', '--retain-landing', '30d'],
    { env: { ...process.env, STEDI_GATEWAY_SECRET: 'retention-test-secret-0123456789' } })
  t.teardown(() => { child.kill('SIGKILL') })
  child.stderr.resume()
  const ready = await new Promise<string>((resolve) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out) })
  })
  t.match(ready, /stedi platform ready: .* landing retained 2592000000 ms/)
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})

t.test('--engine spark --full-refresh refuses a lakehouse with retired files (it would lose their rows)', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await seedLanding(landing)
  await run({ landingDir: landing, lakehouseDir: lakehouse, ...RETAIN })
  const refused = await cli(['pipeline', 'run', '--engine', 'spark', '--full-refresh', '--landing', landing, '--lakehouse', lakehouse])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /holds the rows of 3 landing files deleted by --retain-landing: .* run the full refresh with --engine duckdb, which keeps them \[PIPE_ERR_RETIRED_FULL_REFRESH\]/)
})
