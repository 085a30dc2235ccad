// npm run bench:incremental: what a promotion costs when the lakehouse already holds the history. On
// an N-fold copy of the published data (x30, and x100 with BENCH_X100=1, about 11 M landing rows), in
// one lakehouse: a cold run, then a run adding 0.1% new readings (phone and trainer, paired), then a
// run adding one customer's withdrawal, then a run with nothing new. Each is its own process (wall
// time and peak memory) and reports its own duration (the run inside the process, as `stedi start`
// and `pipeline schedule` run it: they load the engine once). Ratios are to the cold run of the same
// copy. Results (JSON) go to stdout, progress to stderr. Numbers are noisy: compare ratios of one run.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaledWorkspace } from './lib/landing.js'
import { measureNode } from './lib/measure.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const COPIES = process.env.BENCH_X100 === '1' ? [30, 100] : [30]
const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

interface Step { step: string, wallMs: number, runMs: number, maxRssMb: number, status: string, newRecords: number, machineLearningRows: number }

const lines = async (file: string): Promise<Array<Record<string, unknown>>> =>
  (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)

async function firstFile (dir: string): Promise<string> { return path.join(dir, (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort()[0]) }

/** 0.1% new readings: copies of the first file's readings with other values, as many trainer readings at the same times. */
async function addNewReadings (landing: string, landingRows: number): Promise<number> {
  const accelerometer = path.join(landing, 'accelerometer/landing')
  const trainer = path.join(landing, 'step_trainer/landing')
  const n = Math.round(landingRows * 0.001)
  const phones = (await lines(await firstFile(accelerometer))).slice(0, Math.ceil(n * 0.75))
  const trainers = (await lines(await firstFile(trainer))).slice(0, n - phones.length)
  await fs.writeFile(path.join(accelerometer, 'accelerometer-9999999999000-bench.json'), phones.map((r) => JSON.stringify({ ...r, x: (r.x as number) + 0.5 })).join('\n') + '\n')
  await fs.writeFile(path.join(trainer, 'step_trainer-9999999999000-bench.json'), trainers.map((r) => JSON.stringify({ ...r, distanceFromObject: (r.distanceFromObject as number) + 1 })).join('\n') + '\n')
  return phones.length + trainers.length
}

/** One consenting customer's later record without consent. */
async function addWithdrawal (landing: string): Promise<void> {
  const dir = path.join(landing, 'customer/landing')
  const c = (await lines(await firstFile(dir))).find((r) => r.shareWithResearchAsOfDate !== undefined)!
  const { shareWithResearchAsOfDate: _, ...withdrawn } = c
  await fs.writeFile(path.join(dir, 'customer-9999999999001-bench.json'), JSON.stringify({ ...withdrawn, lastUpdateDate: (c.lastUpdateDate as number) + 1 }) + '\n')
}

async function runStep (step: string, landing: string, lakehouse: string): Promise<Step> {
  const m = await measureNode(path.join(ROOT, 'bin/stedi.js'), ['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--json'])
  if (m.code !== 0) throw new Error(`${step} failed: ${m.stderr}`)
  const r = JSON.parse(m.stdout) as { status: string, durationMs: number, read: Record<string, { records: number }>, counts: { curated: { machine_learning: number } } }
  const s = {
    step, wallMs: Math.round(m.wallMs), runMs: r.durationMs, maxRssMb: Math.round(m.maxRssMb), status: r.status,
    newRecords: Object.values(r.read).reduce((a, d) => a + d.records, 0), machineLearningRows: r.counts.curated.machine_learning
  }
  log(`  ${step}: ${s.wallMs} ms wall, ${s.runMs} ms in the run, ${s.maxRssMb} MB, ${s.status}, ${s.newRecords} new records`)
  return s
}

log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`)
const results = []
for (const copies of COPIES) {
  const { work, landing, lakehouse } = await scaledWorkspace(copies, 'bench-incremental-', log)
  try {
    const cold = await runStep('cold', landing, lakehouse)
    await addNewReadings(landing, cold.newRecords)
    const added = await runStep('0.1% new readings', landing, lakehouse)
    await addWithdrawal(landing)
    const withdrawal = await runStep('one withdrawal', landing, lakehouse)
    const nothing = await runStep('nothing new', landing, lakehouse)
    const ratio = (s: Step): { wall: number, run: number } => ({ wall: Number((s.wallMs / cold.wallMs).toFixed(3)), run: Number((s.runMs / cold.runMs).toFixed(3)) })
    results.push({ copies, landingRecords: cold.newRecords, steps: [cold, added, withdrawal, nothing], ratios: { newReadings: ratio(added), withdrawal: ratio(withdrawal), nothingNew: ratio(nothing) } })
  } finally {
    await fs.rm(work, { recursive: true, force: true })
  }
}
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, results }, null, 2))
