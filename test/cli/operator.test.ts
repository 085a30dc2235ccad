// What an operator sees: the version, a close match for a mistyped command, every run's duration in
// the history, a quarantine hint to paste as it is, and a warning for landing data that is not read.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import sqlite3 from 'sqlite3'
import { editDistance, suggestCommand } from '../../cli/suggest.js'
import { runDurationMs } from '../../cli/commands/pipeline.js'
import { ROOT, T0, cli, customer, run, tempDir, writeLanding } from '../helpers/index.js'

t.test('stedi --version prints the version of package.json', async (t) => {
  const { version } = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const r = await cli(['--version'])
  t.equal(r.code, 0)
  t.equal(r.stdout, `stedi ${version}\n`)
})

t.test('edit distance and suggestions', async (t) => {
  t.equal(editDistance('pipline run', 'pipeline run'), 1)
  t.equal(editDistance('', 'abc'), 3)
  t.equal(editDistance('kitten', 'sitting'), 3)
  const names = ['pipeline run', 'pipeline schedule', 'load-test', 'simulate fleet', 'demo']
  t.equal(suggestCommand(['pipline', 'run', '--landing', 'x'], names), 'pipeline run')
  t.equal(suggestCommand(['pipeline', 'shedule'], names), 'pipeline schedule')
  t.equal(suggestCommand(['loadtest'], names), 'load-test')
  t.equal(suggestCommand(['pipeline', 'foo'], names), undefined, 'another word altogether is no typo')
  t.equal(suggestCommand(['deploy'], names), undefined)
})

t.test('a mistyped command: exit 2 and the close match', async (t) => {
  const r = await cli(['pipline', 'run'])
  t.equal(r.code, 2)
  t.match(r.stderr, 'did you mean: stedi pipeline run?')
  const group = await cli(['simulat'])
  t.match(group.stderr, 'did you mean: stedi simulate?')
  const far = await cli(['frobnicate'])
  t.notMatch(far.stderr, 'did you mean')
})

t.test('a run\'s duration: from its report, else from its start and end', async (t) => {
  t.equal(runDurationMs({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.500Z', report: { durationMs: 1234 } }), 1234)
  t.equal(runDurationMs({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.500Z', report: null }), 2500)
  t.equal(runDurationMs({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null, report: null }), undefined)
})

t.test('pipeline history prints every run\'s duration, quarantine hint names the lakehouse', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 }), '{not json'])
  const first = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout + first.stderr, `stedi query --lakehouse ${lakehouse} "SELECT * FROM accelerometer_quarantine"`)
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  // an older report, without durationMs
  await new Promise<void>((resolve, reject) => {
    const db = new sqlite3.Database(path.join(lakehouse, '_state/pipeline.sqlite'))
    db.run("UPDATE runs SET report = json_remove(report, '$.durationMs'), finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', started_at, '+3 seconds') WHERE id = 1",
      (err) => { db.close(); if (err != null) reject(err); else resolve() })
  })
  const history = await cli(['pipeline', 'history', '--lakehouse', lakehouse])
  t.equal(history.code, 0, history.stderr)
  const lines = history.stdout.trim().split('\n')
  t.equal(lines.length, 2)
  t.match(lines[1], /^run 1 .*  3\.00 s/, 'computed from its start and end')
  t.match(lines[0], /^run 2 .*  \d+(\.\d+)? (ms|s)/, 'from its report')
})

t.test('look-alike landing folders and files are named in a warning, not a silent zero', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('a@test.com', 's1', { shareWithResearchAsOfDate: T0 })])
  for (const dir of ['step-trainer/landing', 'stepTrainer', 'Customer', 'accelerometer/landing']) await fs.mkdir(path.join(landing, dir), { recursive: true })
  await fs.writeFile(path.join(landing, 'step-trainer/landing/step-1.json'), '{}\n')
  await fs.writeFile(path.join(landing, 'accelerometer/landing/phone-1.ndjson'), '{}\n')
  await fs.writeFile(path.join(landing, 'accelerometer/landing/phone-2.jsonl'), '{}\n')
  await fs.writeFile(path.join(landing, 'accelerometer/phone-3.json.ndjson'), '{}\n')
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
  const warnings = report.warnings.landing ?? []
  t.equal(warnings.length, 5, warnings.join('\n'))
  for (const name of ['step-trainer/', 'stepTrainer/', 'Customer/']) t.ok(warnings.some((w) => w.includes(`has ${name}, which is not read`)), name)
  t.ok(warnings.some((w) => /2 file\(s\) in accelerometer\/landing\/ end in .ndjson or .jsonl/.test(w)))
  t.ok(warnings.some((w) => w.includes('accelerometer/phone-3.json.ndjson')))
  const r = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout + r.stderr, 'has step-trainer/, which is not read: the pipeline reads step_trainer/landing/', 'printed by an unchanged run too')
  const clean = await tempDir(t)
  await writeLanding(clean, 'customer', 'customer-1.json', [customer('a@test.com', 's1')])
  t.same((await run({ landingDir: clean, lakehouseDir: await tempDir(t) })).warnings.landing, undefined, 'none for a clean landing folder')
})
