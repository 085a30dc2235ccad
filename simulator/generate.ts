// Deterministic landing data shaped like the published STEDI data: customers (some consenting to
// research), each with a Step Trainer and a phone that read at the same instants during exercise
// sessions. The same seed gives the same files, so tests know the counts to expect. Optionally
// salts the files with bad lines of every kind the pipeline must quarantine, and with exact
// duplicates as at-least-once delivery makes them.
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS, type DatasetName } from '../contracts/datasets.js'

export interface GenerateOptions {
  customers: number
  seed: number
  /** share of customers with shareWithResearchAsOfDate (the published data: 482 of 956) */
  consentRatio: number
  /** share of extra bad lines added to the reading files (0 = clean) */
  badRatio: number
  /** share of readings delivered twice (0 = none) */
  duplicateRatio: number
  /** epoch ms of the first registration */
  startMs: number
}

export const GENERATE_DEFAULTS: Omit<GenerateOptions, 'customers'> = Object.freeze({
  seed: 1,
  consentRatio: 482 / 956,
  badRatio: 0,
  duplicateRatio: 0,
  startMs: 1_655_560_000_000
})

export interface GeneratedSummary {
  files: Record<DatasetName, string[]>
  lines: Record<DatasetName, number>
  badLines: Record<DatasetName, number>
}

/** mulberry32: a small, fast, seedable PRNG; not for secrets. */
export function createRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FIRST = ['Santosh', 'Frank', 'Jerry', 'Bobby', 'Sarah', 'Liz', 'Ben', 'Lyn', 'Chris', 'Jo', 'Kate', 'Ada', 'Grace', 'Alan', 'Edsger']
const LAST = ['Clayton', 'Doshi', 'Aristotle', 'Lincoln', 'Habschied', 'Mitra', 'Gonzalez', 'Spencer', 'Jackson', 'Wu', 'Hopper', 'Turing']

/** Kinds of bad line the generator can write; each is quarantined with a known reason. */
export const BAD_LINES: ReadonlyArray<(r: () => number) => string> = [
  () => '{"user": "truncated@test.com", "timestamp": 16555',
  () => 'not json at all',
  () => '[1, 2, 3]',
  (r) => JSON.stringify({ timestamp: 1655564444103 + Math.floor(r() * 1000), x: 1, y: 0, z: -1 }),
  (r) => JSON.stringify({ user: 'Some.One@test.com', timestamp: String(1655564444103 + Math.floor(r() * 1000)), x: 1, y: 0, z: -1 }),
  () => '{"user": "Some.One@test.com", "timestamp": 1655564444103.5, "x": 1, "y": 0, "z": -1}',
  () => '{"user": "Some.One@test.com", "timestamp": 1655564444103, "x": "1", "y": 0, "z": -1}',
  () => '"just a string"'
]

const uuid = (r: () => number): string => {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('')
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${(8 + Math.floor(r() * 4)).toString(16)}${hex(3)}-${hex(12)}`
}

export async function generateLanding (outDir: string, input: Partial<GenerateOptions> & { customers: number }): Promise<GeneratedSummary> {
  const o: GenerateOptions = { ...GENERATE_DEFAULTS, ...input }
  const r = createRandom(o.seed)
  const customers: string[] = []
  const accel: string[] = []
  const trainer: string[] = []
  let clock = o.startMs
  for (let i = 0; i < o.customers; i++) {
    const first = FIRST[Math.floor(r() * FIRST.length)]
    const last = LAST[Math.floor(r() * LAST.length)]
    const email = `${first}.${last}.${i}@test.com`
    const serialNumber = uuid(r)
    const registrationDate = clock + Math.floor(r() * 60_000)
    const consenting = r() < o.consentRatio
    const consentAt = registrationDate + Math.floor(r() * 120_000)
    const record: Record<string, unknown> = {
      customerName: `${first} ${last}`, email, phone: '8015551212', birthDay: '1990-01-01', serialNumber,
      registrationDate, lastUpdateDate: consentAt
    }
    if (consenting) {
      record.shareWithResearchAsOfDate = consentAt
      record.shareWithPublicAsOfDate = consentAt
    }
    customers.push(JSON.stringify(record))
    // sessions start around consent: some readings fall before it (the strict policy drops them)
    let t = consentAt - 30_000 + Math.floor(r() * 60_000)
    const sessions = 1 + Math.floor(r() * 3)
    for (let s = 0; s < sessions; s++) {
      const instants = 8 + Math.floor(r() * 8)
      for (let k = 0; k < instants; k++) {
        t += 500 + Math.floor(r() * 2500)
        trainer.push(JSON.stringify({ sensorReadingTime: t, serialNumber, distanceFromObject: 201 + Math.floor(r() * 100) }))
        const phoneReadings = 1 + Math.floor(r() * 3)
        for (let p = 0; p < phoneReadings; p++) {
          accel.push(JSON.stringify({ user: email, timestamp: t, x: Math.floor(r() * 3) - 1, y: Math.floor(r() * 3) - 1, z: Math.floor(r() * 3) - 1 }))
        }
      }
      t += 60_000 + Math.floor(r() * 600_000)
    }
    clock += 5_000 + Math.floor(r() * 20_000)
  }
  const salt = (lines: string[]): { lines: string[], bad: number } => {
    const out: string[] = []
    let bad = 0
    for (const line of lines) {
      out.push(line)
      if (o.duplicateRatio > 0 && r() < o.duplicateRatio) out.push(line)
      if (o.badRatio > 0 && r() < o.badRatio) {
        out.push(BAD_LINES[Math.floor(r() * BAD_LINES.length)](r))
        bad++
      }
    }
    return { lines: out, bad }
  }
  const summary: GeneratedSummary = {
    files: { customer: [], accelerometer: [], step_trainer: [] },
    lines: { customer: 0, accelerometer: 0, step_trainer: 0 },
    badLines: { customer: 0, accelerometer: 0, step_trainer: 0 }
  }
  const write = async (dataset: DatasetName, lines: string[], perFile: number): Promise<void> => {
    const dir = path.join(outDir, DATASETS[dataset].landingDir)
    await fs.mkdir(dir, { recursive: true })
    for (let start = 0, n = 0; start < lines.length; start += perFile, n++) {
      const name = `${dataset}-${o.startMs + n}.json`
      await fs.writeFile(path.join(dir, name), lines.slice(start, start + perFile).join('\n') + '\n')
      summary.files[dataset].push(path.join(dir, name))
    }
    summary.lines[dataset] = lines.length
  }
  const salted = { accelerometer: salt(accel), step_trainer: salt(trainer) }
  summary.badLines.accelerometer = salted.accelerometer.bad
  summary.badLines.step_trainer = salted.step_trainer.bad
  await write('customer', customers, 10_000)
  await write('accelerometer', salted.accelerometer.lines, 10_000)
  await write('step_trainer', salted.step_trainer.lines, 10_000)
  return summary
}
