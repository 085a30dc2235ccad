// Erasure of customers from the landing zone and the lakehouse (stedi privacy erase).
// It is a run of its own: it takes the lakehouse's lock, and everything it changes becomes true at
// one commit, in this order:
//   1. tombstones for the customers' emails and all their records' serial numbers (keyed hashes);
//   2. every retained Parquet file holding a covered row is rewritten without it (new immutable
//      files; every version that named the old file now names the new one, with its new row count);
//   3. every landing file holding a covered line: its rewritten content's identity is recorded as
//      already read, and the file as a pending rewrite;
//   commit; then the landing files are replaced, the visible table names re-linked and the old
//   files deleted (reconcile), and a second small commit clears the pending rewrites.
// Killed before the commit, nothing happened; after it, the next run or erasure redoes the pending
// rewrites (deterministic: the same bytes, the identity already recorded) and reconciles.
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASET_NAMES, type DatasetName } from '../../contracts/datasets.js'
import { TABLES, type TableName, landingTableOf } from '../../contracts/lakehouse.js'
import { type Tombstone, TombstoneMatcher, identityHash, keyFingerprint } from '../../contracts/privacy.js'
import { DEFAULT_PRIVACY_KEY_FILE } from '../../common/privacy-key.js'
import type { PipelineConfig } from '../config.js'
import { type SqlEngine, createDuckDbEngine, sqlStringList } from '../engine/duckdb.js'
import { PipelineError } from '../errors.js'
import { type RunLakehouse, beginLocalRun } from '../lakehouse.js'
import type { S3Session } from '../s3/access.js'
import { beginS3Run } from '../s3/lakehouse.js'
import { type ErasedCounts, type NewLandingFile, type PendingRewrite, StateStore, type TableVersion } from '../state.js'
import { removeCoveredRows } from './covered-rows.js'
import { type LandingAccess, type LandingItem, landingAccess } from './landing-access.js'
import { rewriteLandingContent } from './landing-rewrite.js'

/** How long the second commit of an erasure waits for a run that took the lock between its commits. */
const FINISH_WAIT_MS = 10 * 60_000

export const ERASURE_PAUSE_POINTS = ['rewrite', 'commit'] as const
export type ErasurePausePoint = (typeof ERASURE_PAUSE_POINTS)[number]

export interface ErasureRequest {
  emails: readonly string[]
  /** serial numbers known to be the customers' beyond those their records still name (a second pass) */
  serials?: readonly string[]
  /** the erasure's time (epoch ms): its tombstones cover records dated up to it (default: now) */
  erasedAt?: number
  /** test hook: stop after the rewritten files are written (rewrite) or after the commit (commit) */
  pauseAfter?: ErasurePausePoint
}

/** What one erasure did, per place. It names customers by keyed hash only: it is kept in the state. */
export interface ErasureReceipt {
  erasureId: number
  erasedAt: string
  customers: Array<{ email: string, serials: string[] }>
  landing: { location: string, filesRewritten: number, linesRemoved: number, files: Array<{ path: string, lines: number }> }
  lakehouse: { location: string, filesRewritten: number, rowsRemoved: Record<string, number>, versionsRewritten: number }
  /** filled in by the caller for each gateway state or gateway it reached */
  gateways?: Array<Record<string, unknown>>
  durationMs: number
}

const hashLabel = (hash: string): string => hash.slice(0, 16)
const BACKSLASH = 0x5c

/** The tombstones of a lakehouse as a matcher; refuses without the key they were made with. */
export async function tombstoneMatcher (state: StateStore, key: Uint8Array | undefined): Promise<TombstoneMatcher> {
  const tombstones = await state.tombstones()
  if (tombstones.length === 0) return new TombstoneMatcher(new Uint8Array(), [])
  if (key === undefined) {
    throw new PipelineError('PIPE_ERR_PRIVACY_KEY',
      `lakehouse ${state.label} holds tombstones of erased customers, and no privacy key is set: set STEDI_PRIVACY_KEY (or the file ${DEFAULT_PRIVACY_KEY_FILE}, or STEDI_PRIVACY_KEY_FILE) to the key they were made with`,
      { path: state.label })
  }
  await checkKey(state, key)
  return new TombstoneMatcher(key, tombstones)
}

async function checkKey (state: StateStore, key: Uint8Array): Promise<void> {
  const recorded = await state.getMeta('privacy_key_fingerprint')
  if (recorded !== undefined && recorded !== keyFingerprint(key)) {
    throw new PipelineError('PIPE_ERR_PRIVACY_KEY',
      `the privacy key (fingerprint ${keyFingerprint(key)}) is not the one lakehouse ${state.label}'s tombstones were made with (fingerprint ${recorded}): set STEDI_PRIVACY_KEY to that key`,
      { path: state.label })
  }
}

/**
 * Inside a run: redoes the landing rewrites an erasure committed and did not finish (killed after
 * its commit). They leave the state at this run's commit.
 */
export async function finishPendingRewrites (
  config: Pick<PipelineConfig, 'landing'>, lakehouse: RunLakehouse, matcher: TombstoneMatcher, s3: S3Session | undefined
): Promise<void> {
  const pending = await lakehouse.state.pendingRewrites()
  if (pending.length === 0) return
  const access = landingAccess(config.landing, s3)
  const byPath = new Map((await access.list()).map((i) => [i.relPath, i]))
  for (const p of pending) {
    const item = byPath.get(p.path)
    if (item === undefined) continue
    const rewrite = rewriteLandingContent(item.dataset, await access.read(item), matcher)
    if (rewrite !== undefined) await access.replace(item, rewrite.content)
  }
  await lakehouse.state.clearPendingRewrites(pending.map((p) => p.path))
}

async function beginRun (config: PipelineConfig, s3: S3Session | undefined, options: Record<string, unknown>, waitMs = config.waitMs): Promise<RunLakehouse> {
  return config.lakehouse.kind === 's3'
    ? await beginS3Run(s3!.bucket(config.lakehouse.bucket), config.lakehouse, options, waitMs, config.leaseMs)
    : await beginLocalRun(config.lakehouse.path, options, waitMs)
}

export interface ErasureOutcome {
  receipt: ErasureReceipt
  /** the tombstones this erasure made, for the gateways that must hold them too */
  tombstones: Tombstone[]
  /** the serial numbers erased, in clear: in memory only, for a second pass (never printed or stored) */
  serials: string[]
}

export async function eraseCustomers (config: PipelineConfig, request: ErasureRequest): Promise<ErasureOutcome> {
  const started = performance.now()
  const key = config.privacyKey
  if (key === undefined) throw new PipelineError('PIPE_ERR_PRIVACY_KEY', 'an erasure needs the privacy key: set STEDI_PRIVACY_KEY or make var/privacy-key')
  const emails = [...new Set(request.emails.map((e) => e.trim()).filter((e) => e !== ''))]
  if (emails.length === 0) throw new PipelineError('PIPE_ERR_BAD_OPTION', 'name at least one customer to erase (--email, or --emails FILE)')
  const erasedAt = request.erasedAt ?? Date.now()
  const s3 = config.landing.kind === 's3' || config.lakehouse.kind === 's3' ? (await import('../s3/access.js')).openS3Session(config.s3) : undefined
  const options = { erasure: { customers: emails.length } }
  let receipt: ErasureReceipt
  let tombstones: Tombstone[]
  let rewritten: Array<{ item: LandingItem, content: Buffer, expected: string, known: boolean }> = []
  let serialsFound: string[] = []
  try {
    const lakehouse = await beginRun(config, s3, options)
    try {
      ({ receipt, rewritten, tombstones, serials: serialsFound } = await eraseUnderLock(config, lakehouse, s3, key, emails, request.serials ?? [], erasedAt, request.pauseAfter, started))
    } catch (err) {
      await lakehouse.abort(options, (err as Error).message)
      throw err
    } finally {
      await lakehouse.close()
    }
    // the pending rewrites done (and any S3 identity that is not the one foreseen): a second commit
    // the erasure has committed: a run that took the lock in between must not turn it into a failure
    const finish = await beginRun(config, s3, { erasure: { finish: receipt.erasureId } }, Math.max(config.waitMs, FINISH_WAIT_MS))
    try {
      await finishPendingRewrites(config, finish, await tombstoneMatcher(finish.state, key), s3)
      const counts = await finish.state.landingFileCounts()
      const fixes: NewLandingFile[] = []
      for (const r of rewritten) {
        const actual = (r as { actual?: string }).actual
        if (!r.known || actual === undefined || actual === r.expected) continue
        fixes.push({ path: r.item.relPath, sha256: actual, size: r.content.length, mtimeMs: 0, dataset: r.item.dataset, ...(counts.get(r.item.relPath) ?? { records: 0, quarantined: 0 }) })
      }
      await finish.commit({ status: 'erasure', fullRefresh: false, files: fixes, versions: [], report: { erasureId: receipt.erasureId, finished: true } })
    } catch (err) {
      await finish.abort({}, (err as Error).message)
      throw err
    } finally {
      await finish.close()
    }
  } finally {
    s3?.close()
  }
  if (config.lakehouse.kind === 'local') {
    // nothing deleted may survive in SQLite's free pages or its write-ahead log
    const state = await StateStore.open(config.lakehouse.path, { create: false })
    try {
      await state.compact()
    } catch (err) {
      // deleted rows are already zeroed (secure_delete); the next erasure compacts what this could not
      process.stderr.write(`stedi: the pipeline state was not compacted (${(err as Error).message}); the next erasure will\n`)
    } finally {
      await state.close()
    }
  }
  receipt.durationMs = Math.round(performance.now() - started)
  return { receipt, tombstones, serials: serialsFound }
}

async function eraseUnderLock (
  config: PipelineConfig, lakehouse: RunLakehouse, s3: S3Session | undefined, key: Uint8Array,
  emails: string[], knownSerials: readonly string[], erasedAt: number, pauseAfter: ErasurePausePoint | undefined, started = performance.now()
): Promise<{ receipt: ErasureReceipt, tombstones: Tombstone[], serials: string[], rewritten: Array<{ item: LandingItem, content: Buffer, expected: string, known: boolean, actual?: string }> }> {
  const { state, runId, scratch } = lakehouse
  await checkKey(state, key)
  // repairs whatever a killed run left, as a run does
  await lakehouse.reconcile(await state.currentVersions(), await state.retainedFiles(config.keepVersions))
  await lakehouse.clearScratch()
  await fs.mkdir(scratch, { recursive: true })
  const access = landingAccess(config.landing, s3)
  const items = await access.list()
  const engine = await createDuckDbEngine({
    threads: config.threads,
    memoryLimitMb: config.memoryLimitMb,
    tempDir: scratch,
    s3: config.lakehouse.kind === 's3' ? await s3!.duckdb(config.lakehouse.bucket) : undefined
  })
  try {
    // 1. who: the emails, and every serial number any of their customer records carries
    const retained = await state.retainedVersions(config.keepVersions)
    const serials = await serialsOf(engine, lakehouse, retained, access, items, emails)
    const allSerials = [...new Set([...serials.values()].flat().concat(knownSerials))].sort()
    const tombstones: Tombstone[] = [
      ...emails.map((e) => ({ kind: 'email' as const, hash: identityHash(key, 'email', e), erasedAt })),
      ...allSerials.map((s) => ({ kind: 'serial' as const, hash: identityHash(key, 'serial', s), erasedAt }))
    ]
    await state.addTombstones(tombstones, keyFingerprint(key))
    const matcher = new TombstoneMatcher(key, await state.tombstones())

    // 2. every retained table file holding a covered row, rewritten
    const erased = Object.fromEntries(DATASET_NAMES.map((d) => [d, { records: 0, quarantined: 0 }])) as ErasedCounts
    const replacedFile = new Map<string, { file: string, dropped: number }>()
    const rowsRemoved: Record<string, number> = {}
    const written: string[] = []
    for (const file of new Set(retained.flatMap((v) => v.files.map((f) => `${v.table}\u0000${f}`)))) {
      const [table, rel] = file.split('\u0000') as [TableName, string]
      const local = path.join(scratch, `erase-${replacedFile.size}.parquet`)
      const cut = await removeCoveredRows(engine, matcher, table, lakehouse.uri(rel), local)
      if (cut === undefined) continue
      const next = rel.replace(/\.parquet$/, `-e${runId}.parquet`)
      if (cut.kept > 0) {
        await lakehouse.place(local, next)
        written.push(next)
      }
      replacedFile.set(rel, { file: cut.kept > 0 ? next : '', dropped: cut.dropped })
      rowsRemoved[table] = (rowsRemoved[table] ?? 0) + cut.dropped
      const dataset = TABLES[table].dataset as DatasetName | undefined
      if (dataset !== undefined && table === landingTableOf(dataset)) erased[dataset].records += cut.dropped
      else if (dataset !== undefined && TABLES[table].zone === 'quarantine') erased[dataset].quarantined += cut.dropped
    }
    const replaced: TableVersion[] = []
    for (const v of retained) {
      if (!v.files.some((f) => replacedFile.has(f))) continue
      const dropped = v.files.reduce((a, f) => a + (replacedFile.get(f)?.dropped ?? 0), 0)
      replaced.push({ ...v, rows: v.rows - dropped, files: v.files.map((f) => replacedFile.get(f)?.file ?? f).filter((f) => f !== '') })
    }
    await lakehouse.durable(written)

    // 3. every landing file holding a covered line: its new content, recorded before it replaces the old
    const needles = [...emails, ...allSerials]
    const pendingBefore = new Set((await state.pendingRewrites()).map((p) => p.path))
    const known = await state.knownFiles()
    const counts = await state.landingFileCounts()
    const rewritten: Array<{ item: LandingItem, content: Buffer, expected: string, known: boolean, actual?: string }> = []
    const registry: NewLandingFile[] = []
    const pending: PendingRewrite[] = []
    let linesRemoved = 0
    const filesReport: Array<{ path: string, lines: number }> = []
    for (const item of items) {
      const content = await access.read(item)
      // a line may spell an identity with JSON escapes ("\u0040"): a file with any escape is read line by line
      if (!pendingBefore.has(item.relPath) && !needles.some((n) => content.includes(n)) && !content.includes(BACKSLASH)) continue
      const rewrite = rewriteLandingContent(item.dataset, content, matcher)
      if (rewrite === undefined) continue
      const expected = access.identityOf(item, rewrite.content)
      const wasRead = known.byPath.has(item.relPath)
      rewritten.push({ item, content: rewrite.content, expected, known: wasRead })
      pending.push({ path: item.relPath, identity: expected })
      linesRemoved += rewrite.lines
      filesReport.push({ path: item.relPath, lines: rewrite.lines })
      if (wasRead) {
        const before = counts.get(item.relPath) ?? { records: 0, quarantined: 0 }
        registry.push({
          path: item.relPath, sha256: expected, size: rewrite.content.length, mtimeMs: 0, dataset: item.dataset,
          records: Math.max(0, before.records - rewrite.records), quarantined: Math.max(0, before.quarantined - (rewrite.lines - rewrite.records))
        })
      }
    }
    engine.close()
    await pause(pauseAfter, 'rewrite')

    const receipt: ErasureReceipt = {
      erasureId: runId,
      erasedAt: new Date(erasedAt).toISOString(),
      customers: emails.map((e) => ({
        email: hashLabel(identityHash(key, 'email', e)),
        serials: (serials.get(e) ?? []).map((s) => hashLabel(identityHash(key, 'serial', s)))
      })),
      landing: { location: config.landingDir, filesRewritten: rewritten.length, linesRemoved, files: filesReport },
      lakehouse: { location: config.lakehouseDir, filesRewritten: replacedFile.size, rowsRemoved, versionsRewritten: replaced.length },
      durationMs: Math.round(performance.now() - started)
    }
    await lakehouse.commit({
      status: 'erasure', fullRefresh: false, files: registry, versions: [], replaced, erased,
      pending: { set: pending }, report: receipt as unknown as Record<string, unknown>
    })
    await pause(pauseAfter, 'commit')

    // committed: the landing files get their new content, the tables their new visible files
    for (const r of rewritten) r.actual = await access.replace(r.item, r.content)
    await lakehouse.reconcile(await state.currentVersions(), await state.retainedFiles(config.keepVersions))
    return { receipt, rewritten, tombstones, serials: allSerials }
  } finally {
    try { engine.close() } catch { /* closed */ }
  }
}

/** Every serial number the customers' records carry, in the lakehouse's customer tables and in the landing files. */
async function serialsOf (
  engine: SqlEngine, lakehouse: RunLakehouse, retained: readonly TableVersion[], access: LandingAccess, items: readonly LandingItem[], emails: readonly string[]
): Promise<Map<string, string[]>> {
  const found = new Map<string, Set<string>>(emails.map((e) => [e, new Set()]))
  const customerFiles = [...new Set(retained.filter((v) => TABLES[v.table].dataset === 'customer' && TABLES[v.table].zone !== 'quarantine').flatMap((v) => v.files))]
  if (customerFiles.length > 0) {
    const rows = await engine.rows<{ email: string, serialNumber: string }>(
      `SELECT DISTINCT email, serialNumber FROM read_parquet(${sqlStringList(customerFiles.map(lakehouse.uri))}, union_by_name = true)
       WHERE email IN (SELECT unnest(${sqlStringList(emails)})) AND serialNumber IS NOT NULL`)
    for (const r of rows) found.get(r.email)?.add(r.serialNumber)
  }
  for (const item of items.filter((i) => i.dataset === 'customer')) {
    const content = await access.read(item)
    if (!emails.some((e) => content.includes(e)) && !content.includes(BACKSLASH)) continue
    for (const line of content.toString('utf8').split('\n')) {
      let record: unknown
      try { record = JSON.parse(line.replace(/^\uFEFF/, '')) } catch { continue }
      const r = record as { email?: unknown, serialNumber?: unknown } | null
      if (r !== null && typeof r === 'object' && typeof r.email === 'string' && typeof r.serialNumber === 'string' && r.serialNumber !== '') {
        found.get(r.email)?.add(r.serialNumber)
      }
    }
  }
  return new Map([...found].map(([e, s]) => [e, [...s].sort()]))
}

async function pause (pauseAfter: ErasurePausePoint | undefined, point: ErasurePausePoint): Promise<void> {
  if (pauseAfter !== point) return
  process.stderr.write(`stedi: erasure paused after ${point}\n`)
  await new Promise(() => { setInterval(() => {}, 1 << 30) })
}
