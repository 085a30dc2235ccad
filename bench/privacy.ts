// npm run bench:privacy: how long erasure and its proof take. On a copy of the published data and
// of the x30 copy (erasure rewrites landing files, so never on the originals): a cold promotion,
// then `stedi privacy erase` of one customer, of ten at once, and `stedi privacy verify` (the scan
// of every stored byte). Wall time and peak memory of each command. JSON on stdout.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaleLanding } from './lib/scale.js'
import { measureNode } from './lib/measure.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PUBLISHED = path.resolve(ROOT, '../shared/data/stedi')
const CACHE = path.join(ROOT, 'bench/.cache')
const COPIES = Number(process.env.BENCH_COPIES ?? 30)
const STEDI = path.join(ROOT, 'bin/stedi.js')
const env = { STEDI_PRIVACY_KEY: 'bench-privacy-key-0123456789abcdef' }

const log = (msg: string): void => { process.stderr.write(`${msg}\n`) }

async function step (name: string, args: string[]): Promise<{ wallMs: number, maxRssMb: number, stdout: string }> {
  const m = await measureNode(STEDI, args, env)
  if (m.code !== 0) throw new Error(`${name} failed (${String(m.code)}): ${m.stderr}`)
  log(`  ${name}: ${m.wallMs.toFixed(0)} ms, ${m.maxRssMb.toFixed(0)} MB`)
  return m
}

async function customersOf (landing: string, n: number): Promise<string[]> {
  const dir = path.join(landing, 'customer/landing')
  const emails: string[] = []
  for (const name of (await fs.readdir(dir)).sort()) {
    for (const line of (await fs.readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (line.trim() === '') continue
      const r = JSON.parse(line) as { email: string, shareWithResearchAsOfDate?: number }
      // consenting customers: their data reaches every table, the most an erasure has to find
      if (r.shareWithResearchAsOfDate !== undefined && !emails.includes(r.email)) emails.push(r.email)
      if (emails.length >= n) return emails
    }
  }
  return emails
}

async function measureCase (name: string, source: string): Promise<Record<string, unknown>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-privacy-'))
  try {
    const landing = path.join(dir, 'landing')
    const lakehouse = path.join(dir, 'lakehouse')
    await fs.cp(source, landing, { recursive: true, filter: (src) => !path.basename(src).startsWith('.') && !src.endsWith('README.md') })
    log(`${name}:`)
    const places = ['--landing', landing, '--lakehouse', lakehouse]
    const promote = await step('cold promotion', ['pipeline', 'run', ...places, '--json'])
    const [one, ...ten] = await customersOf(landing, 11)
    const eraseOne = await step('erase 1 customer', ['privacy', 'erase', '--email', one, ...places, '--json'])
    const verifyOne = await step('verify 1 customer', ['privacy', 'verify', '--email', one, ...places, '--json'])
    const emailsFile = path.join(dir, 'emails.txt')
    await fs.writeFile(emailsFile, ten.join('\n'))
    const eraseTen = await step('erase 10 customers', ['privacy', 'erase', '--emails', emailsFile, ...places, '--json'])
    const next = await step('next promotion', ['pipeline', 'run', ...places, '--json'])
    const receipt = JSON.parse(eraseOne.stdout) as { landing: { linesRemoved: number }, lakehouse: { filesRewritten: number } }
    const scanned = JSON.parse(verifyOne.stdout) as { files: number, bytes: number }
    return {
      case: name,
      promoteMs: Math.round(promote.wallMs),
      eraseOne: { wallMs: Math.round(eraseOne.wallMs), maxRssMb: Math.round(eraseOne.maxRssMb), landingLinesRemoved: receipt.landing.linesRemoved, tableFilesRewritten: receipt.lakehouse.filesRewritten },
      verifyOne: { wallMs: Math.round(verifyOne.wallMs), maxRssMb: Math.round(verifyOne.maxRssMb), files: scanned.files, megabytes: Math.round(scanned.bytes / 1e6) },
      eraseTen: { wallMs: Math.round(eraseTen.wallMs), maxRssMb: Math.round(eraseTen.maxRssMb) },
      nextPromotionMs: Math.round(next.wallMs)
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

const results = [await measureCase('published', PUBLISHED)]
if (COPIES > 1) {
  const scaled = path.join(CACHE, `landing-x${COPIES}`)
  await scaleLanding(PUBLISHED, scaled, COPIES)
  results.push(await measureCase(`x${COPIES}`, scaled))
}
console.log(JSON.stringify({ cores: os.availableParallelism(), results }, null, 2))
