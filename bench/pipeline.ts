// npm run bench:pipeline: wall time and peak memory of a cold `stedi pipeline run` on the published
// data and on a x30 copy, beside a plain DuckDB load-join-write of the same files, in one run.
// Results (JSON) go to stdout, progress to stderr. Numbers are noisy: compare ratios of one run.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaleLanding } from './lib/scale.js'
import { measureNode, median } from './lib/measure.js'

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

log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`)
log(`preparing the x${COPIES} copy in ${CACHE} (once)`)
const scaled = path.join(CACHE, `x${COPIES}`)
await scaleLanding(PUBLISHED, scaled, COPIES)
const results = [await measureCase('published', PUBLISHED), await measureCase(`x${COPIES}`, scaled)]
console.log(JSON.stringify({ machine: { cores: os.cpus().length, node: process.version }, results }, null, 2))
for (const r of results as Array<{ case: string, pipeline: Record<string, number>, plainDuckdb: Record<string, number>, wallRatio: number }>) {
  log(`| ${r.case} | ${r.pipeline.wallMs} ms, ${r.pipeline.maxRssMb} MB | ${r.plainDuckdb.wallMs} ms, ${r.plainDuckdb.maxRssMb} MB | ${r.wallRatio}x | ${r.pipeline.machineLearningRows} |`)
}
