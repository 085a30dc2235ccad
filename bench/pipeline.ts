// npm run bench:pipeline: wall time and peak memory of a cold `stedi pipeline run` on the published
// data, on a x30 copy (390 files) and on the same x30 records joined into one file per dataset,
// each beside a plain DuckDB load-join-write of the same files, interleaved in one run.
// BENCH_S3=1: instead, the x30 copy with landing and lakehouse in a local versitygw bucket beside
// the same run on local disk (what S3 costs the embedded engine, the server on the same 2 cores).
// BENCH_CASES=x30,x30-one-file: only those cases.
// Results (JSON) go to stdout, progress to stderr. Numbers are noisy: compare ratios of one run.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { joinLanding, scaleLanding } from './lib/scale.js'
import { measureNode, median } from './lib/measure.js'
import { startBenchS3 } from './lib/s3.js'
import { listLandingFiles } from '../pipeline/landing/scan.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PUBLISHED = path.resolve(ROOT, '../shared/data/stedi')
const CACHE = path.join(ROOT, 'bench/.cache')
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3)
const COPIES = Number(process.env.BENCH_COPIES ?? 30)

const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

interface Sample { wallMs: number, maxRssMb: number, cpuMs: number, ml: number, timingsMs?: Record<string, number> }
interface Case { name: string, landing: string }

/** Every case, pipeline and plain DuckDB, round after round, so that a busier minute of the machine hits all of them. */
async function measureCases (cases: Case[]): Promise<Array<Record<string, unknown>>> {
  const samples = cases.map(() => ({ pipeline: [] as Sample[], plain: [] as Sample[] }))
  for (let i = 0; i < REPEAT; i++) {
    for (const [c, { name, landing }] of cases.entries()) {
      // alternate the order so that neither side always runs on a warmer machine
      for (const side of (i + c) % 2 === 0 ? ['pipeline', 'plain'] as const : ['plain', 'pipeline'] as const) {
        const out = await fs.mkdtemp(path.join(os.tmpdir(), `bench-${side}-`))
        try {
          if (side === 'pipeline') {
            const m = await measureNode(path.join(ROOT, 'bin/stedi.js'), ['pipeline', 'run', '--landing', landing, '--lakehouse', out, '--json'])
            if (m.code !== 0) throw new Error(`pipeline failed: ${m.stderr}`)
            const report = JSON.parse(m.stdout) as { counts: { curated: { machine_learning: number } }, timingsMs: Record<string, number> }
            samples[c].pipeline.push({ wallMs: m.wallMs, maxRssMb: m.maxRssMb, cpuMs: m.cpuMs, ml: report.counts.curated.machine_learning, timingsMs: report.timingsMs })
          } else {
            const m = await measureNode(path.join(ROOT, 'bench/plain-duckdb.mjs'), [landing, out])
            if (m.code !== 0) throw new Error(`plain DuckDB failed: ${m.stderr}`)
            samples[c].plain.push({ wallMs: m.wallMs, maxRssMb: m.maxRssMb, cpuMs: m.cpuMs, ml: (JSON.parse(m.stdout) as { machine_learning: number }).machine_learning })
          }
          const last = samples[c][side].at(-1)!
          log(`${name} ${side} #${i + 1}: ${last.wallMs.toFixed(0)} ms, ${last.cpuMs.toFixed(0)} ms CPU`)
        } finally {
          await fs.rm(out, { recursive: true, force: true })
        }
      }
    }
  }
  return await Promise.all(cases.map(async ({ name, landing }, c) => {
    const p = summary(samples[c].pipeline)
    const b = summary(samples[c].plain)
    // the pipeline's own timings per phase (medians), to see where its time goes
    const phases = Object.keys(samples[c].pipeline[0].timingsMs ?? {})
    const phasesMs = Object.fromEntries(phases.map((k) => [k, Math.round(median(samples[c].pipeline.map((s) => s.timingsMs?.[k] ?? 0)))]))
    return {
      case: name,
      files: (await listLandingFiles(landing)).length,
      runs: REPEAT,
      pipeline: { ...p, phasesMs },
      plainDuckdb: b,
      wallRatio: Number((p.wallMs / b.wallMs).toFixed(2)),
      // the CPU ratio moves less than the wall ratio when others share the machine
      cpuRatio: Number((p.cpuMs / b.cpuMs).toFixed(2)),
      ratios: samples[c].pipeline.map((s, i) => Number((s.wallMs / samples[c].plain[i].wallMs).toFixed(2)))
    }
  }))
}

const summary = (xs: Sample[]): { wallMs: number, cpuMs: number, maxRssMb: number, machineLearningRows: number } => ({
  wallMs: Math.round(median(xs.map((x) => x.wallMs))),
  cpuMs: Math.round(median(xs.map((x) => x.cpuMs))),
  maxRssMb: Math.round(Math.max(...xs.map((x) => x.maxRssMb))),
  machineLearningRows: xs[0].ml
})

/** A cold run into a new lakehouse, landing and lakehouse in a bucket, against the same on local disk. */
async function measureS3Case (name: string, landing: string): Promise<Record<string, unknown>> {
  log(`${name}: uploading the landing files into a local versitygw`)
  const s3 = await startBenchS3(landing)
  const sides: Record<string, Sample[]> = { disk: [], s3: [] }
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
          sides[side].push({ wallMs: m.wallMs, maxRssMb: m.maxRssMb, cpuMs: m.cpuMs, ml: (JSON.parse(m.stdout) as { counts: { curated: { machine_learning: number } } }).counts.curated.machine_learning })
          log(`${name} ${side} #${i + 1}: ${m.wallMs.toFixed(0)} ms`)
        } finally {
          await fs.rm(out, { recursive: true, force: true })
        }
      }
    }
  } finally {
    await s3.stop()
  }
  const disk = summary(sides.disk)
  const bucket = summary(sides.s3)
  return { case: `${name} s3`, runs: REPEAT, pipeline: bucket, localDisk: disk, wallRatio: Number((bucket.wallMs / disk.wallMs).toFixed(2)) }
}

log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`)
log(`preparing the x${COPIES} copy in ${CACHE} (once)`)
const scaled = path.join(CACHE, `x${COPIES}`)
await scaleLanding(PUBLISHED, scaled, COPIES)
const joined = path.join(CACHE, `x${COPIES}-one-file`)
await joinLanding(scaled, joined, `x${COPIES}`)
const wanted = process.env.BENCH_CASES?.split(',')
const cases = [
  { name: 'published', landing: PUBLISHED },
  { name: `x${COPIES}`, landing: scaled },
  { name: `x${COPIES}-one-file`, landing: joined }
].filter((c) => wanted === undefined || wanted.includes(c.name))
const results = process.env.BENCH_S3 === '1'
  ? [await measureS3Case('published', PUBLISHED), await measureS3Case(`x${COPIES}`, scaled)]
  : await measureCases(cases)
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, results }, null, 2))
for (const r of results as Array<{ case: string, pipeline: Record<string, number>, plainDuckdb?: Record<string, number>, localDisk?: Record<string, number>, wallRatio: number, cpuRatio?: number }>) {
  // S3 cases: the run in a bucket beside the same run on local disk; the others: beside plain DuckDB
  const other = r.localDisk ?? r.plainDuckdb!
  log(`| ${r.case} | ${r.pipeline.wallMs} ms, ${r.pipeline.maxRssMb} MB | ${other.wallMs} ms, ${other.maxRssMb} MB | ${r.wallRatio}x | ${r.cpuRatio ?? '-'}x CPU | ${r.pipeline.machineLearningRows} |`)
}
