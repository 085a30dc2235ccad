// npm run bench:pipeline: wall time and peak memory of a cold `stedi pipeline run` on the published
// data and on a x30 copy, beside a plain DuckDB load-join-write of the same files, in one run.
// BENCH_S3=1: instead, the x30 copy with landing and lakehouse in a local versitygw bucket beside
// the same run on local disk (what S3 costs the embedded engine, the server on the same 2 cores).
// Results (JSON) go to stdout, progress to stderr. Numbers are noisy: compare ratios of one run.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaleLanding } from './lib/scale.js'
import { measureNode, median } from './lib/measure.js'
import { startBenchS3 } from './lib/s3.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PUBLISHED = path.resolve(ROOT, '../shared/data/stedi')
const CACHE = path.join(ROOT, 'bench/.cache')
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3)
const COPIES = Number(process.env.BENCH_COPIES ?? 30)

const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

async function measureCase (name: string, landing: string): Promise<Record<string, unknown>> {
  const pipeline: Array<{ wallMs: number, maxRssMb: number, ml: number }> = []
  const plain: Array<{ wallMs: number, maxRssMb: number, ml: number }> = []
  for (let i = 0; i < REPEAT; i++) {
    // alternate the order so that neither side always runs on a warmer machine
    for (const side of i % 2 === 0 ? ['pipeline', 'plain'] : ['plain', 'pipeline']) {
      const out = await fs.mkdtemp(path.join(os.tmpdir(), `bench-${side}-`))
      try {
        if (side === 'pipeline') {
          const m = await measureNode(path.join(ROOT, 'bin/stedi.js'), ['pipeline', 'run', '--landing', landing, '--lakehouse', out, '--json'])
          if (m.code !== 0) throw new Error(`pipeline failed: ${m.stderr}`)
          const report = JSON.parse(m.stdout) as { counts: { curated: { machine_learning: number } } }
          pipeline.push({ wallMs: m.wallMs, maxRssMb: m.maxRssMb, ml: report.counts.curated.machine_learning })
        } else {
          const m = await measureNode(path.join(ROOT, 'bench/plain-duckdb.mjs'), [landing, out])
          if (m.code !== 0) throw new Error(`plain DuckDB failed: ${m.stderr}`)
          plain.push({ wallMs: m.wallMs, maxRssMb: m.maxRssMb, ml: (JSON.parse(m.stdout) as { machine_learning: number }).machine_learning })
        }
        log(`${name} ${side} #${i + 1}: ${(side === 'pipeline' ? pipeline : plain).at(-1)?.wallMs.toFixed(0)} ms`)
      } finally {
        await fs.rm(out, { recursive: true, force: true })
      }
    }
  }
  const summary = (xs: typeof pipeline): Record<string, number> => ({
    wallMs: Math.round(median(xs.map((x) => x.wallMs))),
    maxRssMb: Math.round(Math.max(...xs.map((x) => x.maxRssMb))),
    machineLearningRows: xs[0].ml
  })
  const p = summary(pipeline)
  const b = summary(plain)
  return { case: name, runs: REPEAT, pipeline: p, plainDuckdb: b, wallRatio: Number((p.wallMs / b.wallMs).toFixed(2)) }
}

/** A cold run into a new lakehouse, landing and lakehouse in a bucket, against the same on local disk. */
async function measureS3Case (name: string, landing: string): Promise<Record<string, unknown>> {
  log(`${name}: uploading the landing files into a local versitygw`)
  const s3 = await startBenchS3(landing)
  const sides: Record<string, Array<{ wallMs: number, maxRssMb: number, ml: number }>> = { disk: [], s3: [] }
  try {
    for (let i = 0; i < REPEAT; i++) {
      for (const side of i % 2 === 0 ? ['disk', 's3'] : ['s3', 'disk']) {
        const out = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-disk-'))
        const args = side === 'disk'
          ? ['--landing', landing, '--lakehouse', out]
          : ['--landing', s3.uri('landing'), '--lakehouse', s3.uri(`lake-${i}`)]
        try {
          const m = await measureNode(path.join(ROOT, 'bin/stedi.js'), ['pipeline', 'run', ...args, '--json'], s3.env)
          if (m.code !== 0) throw new Error(`${side} run failed: ${m.stderr}`)
          sides[side].push({ wallMs: m.wallMs, maxRssMb: m.maxRssMb, ml: (JSON.parse(m.stdout) as { counts: { curated: { machine_learning: number } } }).counts.curated.machine_learning })
          log(`${name} ${side} #${i + 1}: ${m.wallMs.toFixed(0)} ms`)
        } finally {
          await fs.rm(out, { recursive: true, force: true })
        }
      }
    }
  } finally {
    await s3.stop()
  }
  const summary = (xs: Array<{ wallMs: number, maxRssMb: number, ml: number }>): Record<string, number> => ({
    wallMs: Math.round(median(xs.map((x) => x.wallMs))), maxRssMb: Math.round(Math.max(...xs.map((x) => x.maxRssMb))), machineLearningRows: xs[0].ml
  })
  const disk = summary(sides.disk)
  const bucket = summary(sides.s3)
  return { case: `${name} s3`, runs: REPEAT, pipeline: bucket, localDisk: disk, wallRatio: Number((bucket.wallMs / disk.wallMs).toFixed(2)) }
}

log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`)
log(`preparing the x${COPIES} copy in ${CACHE} (once)`)
const scaled = path.join(CACHE, `x${COPIES}`)
await scaleLanding(PUBLISHED, scaled, COPIES)
const results = process.env.BENCH_S3 === '1'
  ? [await measureS3Case('published', PUBLISHED), await measureS3Case(`x${COPIES}`, scaled)]
  : [await measureCase('published', PUBLISHED), await measureCase(`x${COPIES}`, scaled)]
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, results }, null, 2))
for (const r of results as Array<{ case: string, pipeline: Record<string, number>, plainDuckdb?: Record<string, number>, localDisk?: Record<string, number>, wallRatio: number }>) {
  // S3 cases: the run in a bucket beside the same run on local disk; the others: beside plain DuckDB
  const other = r.localDisk ?? r.plainDuckdb!
  log(`| ${r.case} | ${r.pipeline.wallMs} ms, ${r.pipeline.maxRssMb} MB | ${other.wallMs} ms, ${other.maxRssMb} MB | ${r.wallRatio}x | ${r.pipeline.machineLearningRows} |`)
}
