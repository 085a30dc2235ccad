// `stedi pipeline verify`: the current tables against what a full recomputation from landing gives,
// every row of all eleven tables hashed. The recomputation is the real promotion, run as a full
// refresh on a private copy of the lakehouse (lakehouse-copy.ts), with the options of the run that
// built the tables and the instant it judged consent at, over the landing files those tables were
// built from (landing-inputs.ts); the tombstones in the copy keep erased customers out, and the rows
// of retired landing files come from the current versions, as in any full refresh. Verify takes no
// lock: the lakehouse is read at the start (and again only to list the rows of a table that
// differs), and a run may go on meanwhile.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { TABLE_NAMES, type TableName } from '../../contracts/lakehouse.js'
import type { S3ConnectionConfig } from '../../common/s3-connection.js'
import { createPipelineConfig, type PipelineConfig } from '../config.js'
import { PipelineError } from '../errors.js'
import { type Row, type SqlEngine, createDuckDbEngine } from '../engine/duckdb.js'
import { runPipeline } from '../run.js'
import { openS3Session } from '../s3/access.js'
import { StateStore } from '../state.js'
import { type LandingInputs, gatherLandingInputs } from './landing-inputs.js'
import { redactRow } from './redact.js'
import { type Fingerprint, LEFT_OUT_COLUMNS, type TableDiff, diffRowHashes, extraRows, fingerprint, writeRowHashes } from './row-hashes.js'
import { type SourceRun, copyLakehouse } from './lakehouse-copy.js'

export const VERIFY_PAUSE_POINTS = ['snapshot'] as const
export type VerifyPausePoint = (typeof VERIFY_PAUSE_POINTS)[number]

export interface VerifyOptions {
  lakehouseDir: string
  landingDir: string
  s3?: S3ConnectionConfig
  /** needed when the lakehouse holds tombstones; also keys the ids of example rows */
  privacyKey?: Uint8Array
  threads?: number
  memoryLimitMb?: number
  /** the folder the recomputation is written in (a folder of its own inside, removed at the end; default: the system's temporary folder) */
  scratchDir?: string
  /** rows listed per differing table and side (default 3) */
  examples?: number
  /** example rows as they are, identities included (default: hashed) */
  showIdentities?: boolean
  /** test hook: stop once the lakehouse is copied and its tables hashed, holding nothing */
  pauseAfter?: VerifyPausePoint
  onProgress?: (message: string) => void
}

export interface TableVerdict extends TableDiff {
  table: TableName
  equal: boolean
  /** a few of the rows each side has more of (present only for a table that differs) */
  examples?: { current: Row[], recomputed: Row[] }
}

export interface VerifyReport {
  ok: boolean
  lakehouse: string
  landing: string
  /** the run whose tables were recomputed: its options, and its start, as of which consent was judged */
  source: Omit<SourceRun, 'startedAtMs'>
  landingFiles: LandingInputs
  tables: TableVerdict[]
  /** the tables that differ */
  drift: TableName[]
  /** the lineage columns the comparison leaves out */
  leftOut: string[]
  /** how example rows name customers */
  ids: 'keyed' | 'sha256' | 'shown'
  durationMs: number
  timingsMs: Record<string, number>
}

export async function verifyLakehouse (options: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now()
  const config = createPipelineConfig({
    landingDir: options.landingDir, lakehouseDir: options.lakehouseDir, s3: options.s3, threads: options.threads,
    memoryLimitMb: options.memoryLimitMb, privacyKey: options.privacyKey
  })
  const progress = options.onProgress ?? (() => {})
  const timings: Record<string, number> = {}
  let t = performance.now()
  const lap = (name: string): void => { timings[name] = Math.round(performance.now() - t); t = performance.now() }
  const s3 = config.landing.kind === 's3' || config.lakehouse.kind === 's3' ? openS3Session(config.s3) : undefined
  const work = await workFolder(options.scratchDir ?? os.tmpdir())
  try {
    const lakehouse = path.join(work, 'lakehouse')
    const hashes = (side: 'current' | 'recomputed', table: TableName): string => path.join(work, 'hashes', `${side}-${table}.parquet`)
    await fs.mkdir(path.join(work, 'hashes'))
    progress('reading the lakehouse')
    const copy = await copyLakehouse(config.lakehouse, lakehouse, s3, config.privacyKey)
    // the current side first: its files are read while they are surely still kept
    const currentPrints = await withEngine(config, work, async (engine) => {
      const prints = new Map<TableName, Fingerprint>()
      for (const table of TABLE_NAMES) prints.set(table, await fingerprint(engine, table, copy.files(table)))
      return prints
    })
    lap('current')
    await pause(options.pauseAfter, 'snapshot')

    progress('gathering the landing files')
    const landing = path.join(work, 'landing')
    const landingFiles = await gatherLandingInputs(config.landing, landing, s3, copy.known, copy.retired)
    lap('landing')
    const reference = createPipelineConfig({
      landingDir: landing, lakehouseDir: lakehouse, threads: config.threads, memoryLimitMb: config.memoryLimitMb, privacyKey: config.privacyKey,
      fullRefresh: true, consentPolicy: copy.run.consentPolicy, mlJoin: copy.run.mlJoin, runStartedMs: copy.run.startedAtMs
    })
    await runPipeline(reference, { onProgress: (m) => { progress(`recomputing: ${m}`) } })
    lap('recompute')

    progress('comparing')
    const recomputed = await currentFiles(lakehouse)
    const judge = {
      examples: options.examples ?? 3,
      show: (rows: Row[]): Row[] => options.showIdentities === true ? rows : rows.map((r) => redactRow(r, config.privacyKey)),
      label: config.lakehouseDir
    }
    const tables = await withEngine(config, work, async (engine) => {
      const out: TableVerdict[] = []
      for (const table of TABLE_NAMES) {
        out.push(await judgeTable(engine, table, currentPrints.get(table)!, { current: copy.files(table), recomputed: recomputed.get(table) ?? [] }, hashes, judge))
      }
      return out
    })
    lap('compare')
    const { startedAtMs: _, ...source } = copy.run
    return {
      ok: tables.every((v) => v.equal),
      lakehouse: config.lakehouseDir,
      landing: config.landingDir,
      source,
      landingFiles,
      tables,
      drift: tables.filter((v) => !v.equal).map((v) => v.table),
      leftOut: [...LEFT_OUT_COLUMNS],
      ids: options.showIdentities === true ? 'shown' : config.privacyKey === undefined ? 'sha256' : 'keyed',
      durationMs: Math.round(performance.now() - started),
      timingsMs: timings
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true })
    s3?.close()
  }
}

/**
 * One table's verdict: equal fingerprints are equal; otherwise the row hashes of both sides counted,
 * and a few rows of each side's surplus.
 */
async function judgeTable (
  engine: SqlEngine, table: TableName, current: Fingerprint, files: { current: string[], recomputed: string[] },
  hashes: (side: 'current' | 'recomputed', table: TableName) => string,
  options: { examples: number, show: (rows: Row[]) => Row[], label: string }
): Promise<TableVerdict> {
  const again = await fingerprint(engine, table, files.recomputed)
  if (current.rows === again.rows && current.hashSum === again.hashSum) {
    return { table, equal: true, current: current.rows, recomputed: again.rows, onlyCurrent: 0, onlyRecomputed: 0 }
  }
  // kept for a few versions after they stop being current: gone only if runs moved the lakehouse on far meanwhile
  await Promise.all(files.current.map(async (f) => { await fs.access(f) })).catch((err: unknown) => {
    throw new PipelineError('PIPE_ERR_VERIFY_DRIFT',
      `drift in ${table} (its row hashes differ from the recomputation's), and its files are gone from ${options.label} since verify read them ` +
      '(runs moved the lakehouse on): run verify again to count and list the rows', { cause: err })
  })
  const [ownCurrent, ownRecomputed] = [hashes('current', table), hashes('recomputed', table)]
  await writeRowHashes(engine, table, files.current, ownCurrent)
  await writeRowHashes(engine, table, files.recomputed, ownRecomputed)
  return {
    table,
    equal: false,
    ...await diffRowHashes(engine, ownCurrent, ownRecomputed),
    examples: {
      current: options.show(await extraRows(engine, table, files.current, ownCurrent, ownRecomputed, options.examples)),
      recomputed: options.show(await extraRows(engine, table, files.recomputed, ownRecomputed, ownCurrent, options.examples))
    }
  }
}

const WORK_PREFIX = 'stedi-verify-'
const OWNER_FILE = 'owner.pid'

/**
 * A folder of its own for the recomputation, in `parent`. The folders of verifies that were killed
 * (their process is gone) go first: they may hold customers' rows, which an erasure would not reach.
 */
async function workFolder (parent: string): Promise<string> {
  for (const name of await fs.readdir(parent).catch(() => [])) {
    if (!name.startsWith(WORK_PREFIX)) continue
    const owner = Number(await fs.readFile(path.join(parent, name, OWNER_FILE), 'utf8').catch(() => ''))
    if (Number.isSafeInteger(owner) && owner > 0 && !isAlive(owner)) await fs.rm(path.join(parent, name), { recursive: true, force: true })
  }
  const work = await fs.mkdtemp(path.join(parent, WORK_PREFIX))
  await fs.writeFile(path.join(work, OWNER_FILE), String(process.pid))
  return work
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** An engine for one step, closed after it: the recomputation runs with none open beside it. */
async function withEngine<T> (config: PipelineConfig, work: string, step: (engine: SqlEngine) => Promise<T>): Promise<T> {
  const engine = await createDuckDbEngine({ threads: config.threads, memoryLimitMb: config.memoryLimitMb, tempDir: path.join(work, 'tmp') })
  try {
    return await step(engine)
  } finally {
    engine.close()
  }
}

async function currentFiles (lakehouse: string): Promise<Map<TableName, string[]>> {
  const state = await StateStore.open(lakehouse, { create: false })
  try {
    return new Map([...await state.currentVersions()].map(([table, v]) => [table, v.files.map((f) => path.join(lakehouse, f))]))
  } finally {
    await state.close()
  }
}

async function pause (pauseAfter: VerifyPausePoint | undefined, point: VerifyPausePoint): Promise<void> {
  if (pauseAfter !== point) return
  process.stderr.write(`stedi: paused after ${point}\n`)
  // keeps the process alive until a test kills it
  await new Promise(() => { setInterval(() => {}, 1 << 30) })
}

const num = (n: number): string => n.toLocaleString('en-US')
const rows = (n: number): string => `${num(n)} row${n === 1 ? '' : 's'}`

/** The human report: what was recomputed from what, each table's verdict, and the differing rows' examples. */
export function formatVerify (r: VerifyReport): string {
  const f = r.landingFiles
  const landing = [`${num(f.compared)} landing files recomputed`, `${num(f.retired)} retired (their rows taken from the lakehouse)`]
  if (f.notYetRead > 0) landing.push(`${num(f.notYetRead)} not read by any run yet (left out)`)
  if (f.changed > 0) landing.push(`${num(f.changed)} changed since they were read (left out: their earlier rows are only in the lakehouse)`)
  if (f.missing > 0) landing.push(`${num(f.missing)} read before and gone from landing without retention (their rows are only in the lakehouse)`)
  const width = Math.max(...r.tables.map((v) => v.table.length))
  const lines = [
    `verify of ${r.lakehouse} against a recomputation from ${r.landing}`,
    `  as run ${r.source.runId} built the tables: consent policy ${r.source.consentPolicy}, ml join ${r.source.mlJoin}, consent judged as of ${r.source.startedAt}`,
    `  ${landing.join(', ')}`
  ]
  for (const v of r.tables) {
    if (v.equal) { lines.push(`  ${v.table.padEnd(width)}  equal  ${rows(v.current)}`); continue }
    lines.push(`  ${v.table.padEnd(width)}  DRIFT  ${rows(v.current)} current, ${num(v.recomputed)} recomputed: ` +
      `${num(v.onlyCurrent)} only in current, ${num(v.onlyRecomputed)} only in recomputed`)
    for (const row of v.examples?.current ?? []) lines.push(`      only in current:    ${JSON.stringify(row)}`)
    for (const row of v.examples?.recomputed ?? []) lines.push(`      only in recomputed: ${JSON.stringify(row)}`)
  }
  lines.push(`compared: every row as a multiset of row hashes, every column except the lineage columns ${r.leftOut.join(' and ')}` +
    (r.ok || r.ids === 'shown' ? '' : `; in the examples, emails and serial numbers by ${r.ids === 'keyed' ? 'keyed' : 'SHA-256'} short id, other personal values ${r.ids === 'keyed' ? 'by keyed hash' : 'hidden'}`))
  const seconds = `${(r.durationMs / 1000).toFixed(1)} s`
  lines.push(r.ok ? `all ${r.tables.length} tables equal (${seconds})` : `drift in ${r.drift.length} of ${r.tables.length} tables: ${r.drift.join(', ')} (${seconds})`)
  return lines.join('\n')
}
