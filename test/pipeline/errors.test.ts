// Bad input gets one clear line naming the path and what to do, and leaves nothing half-done.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import sqlite3 from 'sqlite3'
import { PIPELINE_ERRORS } from '../../pipeline/errors.js'
import { GATEWAY_ERRORS } from '../../gateway/errors.js'
import { REJECT_REASONS } from '../../contracts/readings.js'
import { QUARANTINE_REASONS } from '../../contracts/datasets.js'
import { T0, cli, customer, fingerprint, run, tempDir, writeLanding } from '../helpers/index.js'

const oneLine = (stderr: string): boolean => stderr.trim().split('\n').length === 1

t.test('a missing landing folder', async (t) => {
  const lakehouse = await tempDir(t)
  const result = await cli(['pipeline', 'run', '--landing', '/nonexistent/landing', '--lakehouse', lakehouse])
  t.equal(result.code, 1)
  t.ok(oneLine(result.stderr), result.stderr)
  t.match(result.stderr, /landing folder \/nonexistent\/landing does not exist: pass --landing .*\[PIPE_ERR_LANDING_MISSING\]/)
  t.same(await fs.readdir(lakehouse), [], 'the lakehouse was not touched')
})

t.test('a landing folder with none of the dataset folders', async (t) => {
  const landing = await tempDir(t)
  await fs.writeFile(path.join(landing, 'stray.json'), '{}\n')
  const result = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', await tempDir(t)])
  t.equal(result.code, 1)
  t.match(result.stderr, /has none of customer\/landing, .*\[PIPE_ERR_LANDING_EMPTY_LAYOUT\]/)
})

t.test('an unreadable landing file fails the run and leaves the previous version', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 })])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [{ user: 'a@test.com', timestamp: 1, x: 0, y: 0, z: 0 }])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  const before = await fingerprint(lakehouse, 'accelerometer_landing')
  await writeLanding(landing, 'accelerometer', 'accelerometer-2.json', [{ user: 'a@test.com', timestamp: 2, x: 0, y: 0, z: 0 }])
  // root reads any file whatever its mode: a link to nowhere is unreadable for everyone
  const broken = path.join(landing, 'accelerometer/landing/accelerometer-3.json')
  await fs.symlink('/nonexistent/target.json', broken)
  const result = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse])
  t.equal(result.code, 1)
  t.ok(oneLine(result.stderr), result.stderr)
  t.match(result.stderr, `cannot read landing file ${broken} (ENOENT): fix its permissions or move it out of the landing folder`)
  t.same(await fingerprint(lakehouse, 'accelerometer_landing'), before, 'the tables are as they were')
  await fs.rm(broken)
  const recovered = await run({ landingDir: landing, lakehouseDir: lakehouse })
  t.equal(recovered.counts.landing.accelerometer, 2, 'the next run reads the file it could not read before')
})

t.test('a folder that is not a lakehouse, or of another format version', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1')])
  const notLake = await tempDir(t)
  await fs.writeFile(path.join(notLake, 'precious.txt'), 'keep me')
  const result = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', notLake])
  t.equal(result.code, 1)
  t.match(result.stderr, /is not a lakehouse \(it is not empty and has no _state\/pipeline.sqlite\): choose a new or empty folder \[PIPE_ERR_NOT_A_LAKEHOUSE\]/)
  t.same(await fs.readdir(notLake), ['precious.txt'])

  const lakehouse = await tempDir(t)
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  await new Promise<void>((resolve, reject) => {
    const db = new sqlite3.Database(path.join(lakehouse, '_state/pipeline.sqlite'))
    db.run("UPDATE meta SET value = '99' WHERE key = 'format_version'", (err) => { db.close(); if (err != null) reject(err); else resolve() })
  })
  for (const args of [['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse], ['counts', '--lakehouse', lakehouse]]) {
    const r = await cli(args)
    t.equal(r.code, 1)
    t.ok(oneLine(r.stderr))
    t.match(r.stderr, /has format version 99, this stedi reads version 1: use a new --lakehouse folder .*\[PIPE_ERR_LAKEHOUSE_VERSION\]/)
  }

  const garbage = await tempDir(t)
  await fs.mkdir(path.join(garbage, '_state'))
  await fs.writeFile(path.join(garbage, '_state/pipeline.sqlite'), 'this is not a database, it is a text file of some length '.repeat(20))
  const r = await cli(['counts', '--lakehouse', garbage])
  t.equal(r.code, 1)
  t.match(r.stderr, /cannot read pipeline state .* \[PIPE_ERR_STATE_CORRUPT\]/)
})

t.test('reading a lakehouse that does not exist yet', async (t) => {
  const missing = path.join(await tempDir(t), 'nothing-here')
  for (const args of [['counts', '--lakehouse', missing, '--json'], ['query', '--lakehouse', missing, 'SELECT 1']]) {
    const r = await cli(args)
    t.equal(r.code, 1)
    t.match(r.stderr, `no lakehouse at ${missing}: run \`stedi pipeline run --lakehouse ${missing}\` first [PIPE_ERR_LAKEHOUSE_MISSING]`)
  }
  await t.resolves(fs.access(missing).then(() => { throw new Error('created') }, () => undefined), 'a reader creates nothing')
})

t.test('bad options are usage errors (exit 2) that say which flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['pipeline', 'run', '--consent-policy', 'lax'], /--consent-policy must be one of seed, strict \(got lax\)/],
    [['pipeline', 'run', '--ml-join', 'fuzzy'], /--ml-join must be one of seed, same-customer/],
    [['pipeline', 'run', '--bogus'], /Unknown option '--bogus'/],
    [['pipeline', 'run', '--wait', 'soon'], /--wait takes a duration/],
    [['pipeline', 'schedule', '--every', 'often'], /--every takes a duration/],
    [['query', '--format', 'xml', 'SELECT 1'], /--format must be one of table, json, csv/],
    [['query'], /give the SQL as one argument/],
    [['nonsense'], /unknown command "nonsense"/]
  ]
  for (const [args, pattern] of cases) {
    const r = await cli(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, pattern)
  }
})

t.test('every error code and refusal reason is documented in docs/errors.md', async (t) => {
  const doc = await fs.readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  for (const code of [...Object.keys(PIPELINE_ERRORS), ...Object.keys(GATEWAY_ERRORS), ...Object.keys(REJECT_REASONS), ...Object.keys(QUARANTINE_REASONS)]) {
    t.match(doc, `\`${code}`, code)
  }
})
