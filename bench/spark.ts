// npm run bench:spark: the embedded engine and the Spark jobs (local, all cores) on the published
// data and on the x30 copy, in one run: wall time of a cold `stedi pipeline run` into a new
// lakehouse, and peak memory of the whole process tree (Spark's is python + JVM + workers).
// Results (JSON) go to stdout, progress to stderr. Needs `npm run setup:spark`.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaleLanding } from './lib/scale.js'
import { median } from './lib/measure.js'
import { sampleTree } from './lib/process-tree.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PUBLISHED = path.resolve(ROOT, '../shared/data/stedi')
const CACHE = path.join(ROOT, 'bench/.cache')
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1)
const COPIES = Number(process.env.BENCH_COPIES ?? 30)
const DRIVER_MEMORY = process.env.BENCH_SPARK_DRIVER_MEMORY ?? '4g'

const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

interface Run { wallMs: number, peakMb: number, ml: number }

async function runEngine (engine: 'duckdb' | 'spark', landing: string): Promise<Run> {
  const out = await fs.mkdtemp(path.join(os.tmpdir(), `bench-${engine}-`))
  try {
    const started = performance.now()
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/stedi.js'), 'pipeline', 'run', '--engine', engine, '--landing', landing, '--lakehouse', out, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STEDI_SPARK_DRIVER_MEMORY: DRIVER_MEMORY } })
    const sampler = sampleTree(child.pid!)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const wallMs = performance.now() - started
    const peakMb = await sampler.stop()
    if (code !== 0) throw new Error(`${engine} failed: ${stderr.slice(-2000)}`)
    const report = JSON.parse(stdout) as { counts: { curated: { machine_learning: number } } }
    return { wallMs, peakMb, ml: report.counts.curated.machine_learning }
  } finally {
    await fs.rm(out, { recursive: true, force: true })
  }
}

async function measureCase (name: string, landing: string): Promise<Record<string, unknown>> {
  const runs: Record<'duckdb' | 'spark', Run[]> = { duckdb: [], spark: [] }
  for (let i = 0; i < REPEAT; i++) {
    for (const engine of i % 2 === 0 ? ['duckdb', 'spark'] as const : ['spark', 'duckdb'] as const) {
      runs[engine].push(await runEngine(engine, landing))
      log(`${name} ${engine} #${i + 1}: ${runs[engine].at(-1)!.wallMs.toFixed(0)} ms, ${runs[engine].at(-1)!.peakMb.toFixed(0)} MB`)
    }
  }
  const summary = (xs: Run[]): Record<string, number> => ({
    wallMs: Math.round(median(xs.map((x) => x.wallMs))),
    peakMb: Math.round(Math.max(...xs.map((x) => x.peakMb))),
    machineLearningRows: xs[0].ml
  })
  const duckdb = summary(runs.duckdb)
  const spark = summary(runs.spark)
  if (duckdb.machineLearningRows !== spark.machineLearningRows) throw new Error(`the engines disagree: ${duckdb.machineLearningRows} vs ${spark.machineLearningRows} ML rows`)
  return { case: name, runs: REPEAT, duckdb, spark, sparkWallRatio: Number((spark.wallMs / duckdb.wallMs).toFixed(1)) }
}

log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; Spark driver memory ${DRIVER_MEMORY}`)
const scaled = path.join(CACHE, `x${COPIES}`)
await scaleLanding(PUBLISHED, scaled, COPIES)
const results = [await measureCase('published', PUBLISHED), await measureCase(`x${COPIES}`, scaled)]
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, results }, null, 2))
for (const r of results as Array<{ case: string, duckdb: Record<string, number>, spark: Record<string, number>, sparkWallRatio: number }>) {
  log(`| ${r.case} | ${r.duckdb.wallMs} ms, ${r.duckdb.peakMb} MB | ${r.spark.wallMs} ms, ${r.spark.peakMb} MB | ${r.sparkWallRatio}x | ${r.duckdb.machineLearningRows} |`)
}
