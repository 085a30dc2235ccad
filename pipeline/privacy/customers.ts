// The customer records the privacy audit judges consent by, read without the pipeline's jobs: the
// landing files themselves (parsed here, in plain TypeScript), or the rows of a lakehouse's
// customer_landing parts. Each record keeps where it arrived (run, file, line), because a customer's
// latest record is the one with the largest lastUpdateDate and, on a tie, the one that arrived later.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS, type FieldSpec, isLandingFileName } from '../../contracts/datasets.js'
import type { SqlEngine } from '../engine/duckdb.js'
import { sqlStringList } from '../engine/duckdb.js'
import type { StateStore } from '../state.js'

export interface CustomerRecord {
  email: string
  serialNumber: string
  lastUpdateDate: number | null
  shareWithResearchAsOfDate: number | null
  /** arrival: the run that read the record, its landing file (relative path), its line (1-based) */
  run: number
  file: string
  line: number
}

const CUSTOMER = DATASETS.customer

/** Whether a parsed value is a valid customer record by the contract's field rules (the pipeline quarantines the others). */
function isValidCustomer (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const record = value as Record<string, unknown>
  return CUSTOMER.fields.every((f) => fieldOk(f, record[f.name]))
}

function fieldOk (f: FieldSpec, v: unknown): boolean {
  if (v === undefined || v === null) return !f.required
  switch (f.kind) {
    case 'string': return typeof v === 'string' && (f.nonEmpty !== true || v !== '')
    case 'number': return typeof v === 'number' && Number.isFinite(v)
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v) && (f.range === undefined || (v >= f.range.min && v < f.range.max))
  }
}

const dateOrNull = (v: unknown): number | null => typeof v === 'number' ? v : null

/**
 * The valid customer records of one landing file's text. Blank, unparseable and invalid lines are
 * skipped (the pipeline quarantines them). Not detected: a line with a key twice (JSON.parse keeps the
 * last; the pipeline quarantines it) and a date written as 1.6e12 (the pipeline wants an integer literal).
 */
export function parseCustomerLines (text: string, file: string, run: number): CustomerRecord[] {
  const out: CustomerRecord[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i]
    if (i === 0 && raw.startsWith('\uFEFF')) raw = raw.slice(1)
    if (raw.trim() === '') continue
    let value: unknown
    try { value = JSON.parse(raw) } catch { continue }
    if (!isValidCustomer(value)) continue
    out.push({
      email: value.email as string,
      serialNumber: value.serialNumber as string,
      lastUpdateDate: dateOrNull(value.lastUpdateDate),
      shareWithResearchAsOfDate: dateOrNull(value.shareWithResearchAsOfDate),
      run,
      file,
      line: i + 1
    })
  }
  return out
}

export interface LandingRead {
  records: CustomerRecord[]
  /** customer landing files read (those a run up to the audited one had read) */
  files: number
  /** files in the folder that no run up to the audited one had read (new since, or changed): left out */
  notYetRead: number
  /** files the state says were read that the folder no longer has */
  missing: number
}

/**
 * The customer records of a local landing folder as of run `upTo`: a file counts when the state
 * records that content (path and SHA-256) as read by a run up to `upTo`, and that run orders it.
 */
export async function readCustomerLanding (landingDir: string, state: StateStore, upTo: number): Promise<LandingRead> {
  const read = new Map<string, number>()
  const firstRead = new Map<string, number>()
  const known = await state.landingFilesRead('customer')
  for (const f of known) {
    if (f.runId > upTo) continue
    read.set(`${f.path}\u0000${f.sha256}`, f.runId)
    if (!firstRead.has(f.path)) firstRead.set(f.path, f.runId)
  }
  // a file an erasure rewrote later is the file that run read, without the erased customers' lines
  const rewritten = new Set<string>()
  for (const f of known) {
    const run = firstRead.get(f.path)
    if (f.byErasure && f.runId > upTo && run !== undefined) {
      read.set(`${f.path}\u0000${f.sha256}`, run)
      rewritten.add(f.path)
    }
  }
  const dir = path.join(landingDir, CUSTOMER.landingDir)
  const names = (await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return []; throw err }))
    .filter(isLandingFileName).sort()
  const records: CustomerRecord[] = []
  let files = 0
  let notYetRead = 0
  const seen = new Set<string>()
  for (const name of names) {
    const rel = `${CUSTOMER.landingDir}/${name}`
    const content = await fs.readFile(path.join(dir, name))
    const identity = `${rel}\u0000${createHash('sha256').update(content).digest('hex')}`
    const run = read.get(identity)
    if (run === undefined) { notYetRead++; continue }
    seen.add(identity)
    files++
    records.push(...parseCustomerLines(content.toString('utf8'), rel, run))
  }
  const missing = [...read.keys()].filter((k) => !seen.has(k) && !(rewritten.has(k.split('\u0000')[0]) && [...seen].some((x) => x.startsWith(`${k.split('\u0000')[0]}\u0000`))))
  return { records, files, notYetRead, missing: missing.length }
}

/** The customer records of customer_landing rows (a view, or Parquet parts), those read by a run up to `upTo`. */
export async function readCustomerRows (engine: SqlEngine, source: { view: string } | { files: readonly string[] }, upTo: number, where?: string): Promise<CustomerRecord[]> {
  const from = 'view' in source ? source.view : `read_parquet(${sqlStringList(source.files)})`
  if ('files' in source && source.files.length === 0) return []
  // by column: tens of thousands of records, read into JavaScript while the engine waits
  const c = await engine.columns(
    `SELECT email, serialNumber, lastUpdateDate, shareWithResearchAsOfDate, _run, _file, _line FROM ${from} WHERE _run <= ${Math.trunc(upTo)}${where === undefined ? '' : ` AND (${where})`}`)
  return c.email.map((email, i) => ({
    email: email as string,
    serialNumber: c.serialNumber[i] as string,
    lastUpdateDate: c.lastUpdateDate[i] as number | null,
    shareWithResearchAsOfDate: c.shareWithResearchAsOfDate[i] as number | null,
    run: c._run[i] as number,
    file: c._file[i] as string,
    line: c._line[i] as number
  }))
}

/**
 * Whether record a is more recent than b, as customer_landing_to_trusted.sql ranks them: larger
 * lastUpdateDate (none is oldest), then later file by name, later line, later run.
 */
function newer (a: CustomerRecord, b: CustomerRecord): boolean {
  const da = a.lastUpdateDate ?? -Infinity
  const db = b.lastUpdateDate ?? -Infinity
  if (da !== db) return da > db
  if (a.file !== b.file) return a.file > b.file
  if (a.line !== b.line) return a.line > b.line
  return a.run > b.run
}

/** Each customer's (email's) latest record. */
export function latestRecords (records: Iterable<CustomerRecord>): Map<string, CustomerRecord> {
  const latest = new Map<string, CustomerRecord>()
  for (const r of records) {
    const held = latest.get(r.email)
    if (held === undefined || newer(r, held)) latest.set(r.email, r)
  }
  return latest
}
