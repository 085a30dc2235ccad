// One pipeline run: read what is new in landing, rebuild the zone tables, commit, publish.
// Landing is read incrementally (only files whose identity, path + content hash, or key + size +
// ETag in a bucket, is new); the trusted and curated tables are recomputed from all landing records
// each run, because consent is read from each customer's latest record and a change of consent
// reaches back over all readings. The lakehouse is a local folder or an S3 prefix (lakehouse.ts).
import fs from 'node:fs/promises'
import path from 'node:path'
import { DATASETS, DATASET_NAMES, type DatasetName } from '../contracts/datasets.js'
import { JOBS } from '../contracts/jobs.js'
import { STATE_DB, TABLE_NAMES, type TableName, landingTableOf, quarantineTableOf } from '../contracts/lakehouse.js'
import { s3Key } from '../common/storage-location.js'
import { defineTableView, tableQuery } from './catalog.js'
import { type PipelineConfig, type PausePoint, transformOptions } from './config.js'
import { createDuckDbEngine, sqlString } from './engine/duckdb.js'
import { PipelineError } from './errors.js'
import { ingestDataset } from './landing/ingest.js'
import { type RetiringFile, carryRetiredRows, deleteRetired, planRetirement } from './landing/retain.js'
import type { ScannedFile } from './landing/prescan.js'
import { prescanFiles } from './landing/prescan-pool.js'
import { type LandingFile, scanLanding } from './landing/scan.js'
import { type RunLakehouse, beginLocalRun } from './lakehouse.js'
import { type RunReport, countsFromRows } from './report.js'
import type { S3Session } from './s3/access.js'
import { type LandingObject, downloadLanding, listLandingObjects, objectIdentity } from './s3/landing.js'
import { beginS3Run } from './s3/lakehouse.js'
import { runStartMs } from './privacy/audit.js'
import { loadSql } from './sql.js'
import type { ZoneContext } from './zones/context.js'
import { accountFully, accountIncrementally } from './zones/accounting.js'
import { checkFully, checkIncrementally } from './zones/checks.js'
import { promoteFully } from './zones/full.js'
import { promoteIncrementally } from './zones/incremental.js'
import { compactParts } from './zones/compaction.js'
import { type KnownFile, type NewLandingFile, type StateStore, type TableVersion, fileIdentity } from './state.js'
import { newTableFile } from './storage.js'
import { removeCoveredRows } from './privacy/covered-rows.js'
import { finishPendingRewrites, tombstoneMatcher } from './privacy/erase.js'
import type { ErasedCounts } from './state.js'

export interface RunHooks {
  /** a short description of what the run is doing now (for a progress line on a terminal) */
  onProgress?: (message: string) => void
}

export async function runPipeline (config: PipelineConfig, hooks: RunHooks = {}): Promise<RunReport> {
  const progress = hooks.onProgress ?? (() => {})
  const runOptions = { ...transformOptions(config), fullRefresh: config.fullRefresh }
  const s3 = config.landing.kind === 's3' || config.lakehouse.kind === 's3' ? (await import('./s3/access.js')).openS3Session(config.s3) : undefined
  let lakehouse: RunLakehouse | undefined
  try {
    const started = performance.now()
    progress('scanning landing')
    const listed = await listLanding(config, s3)
    lakehouse = config.lakehouse.kind === 's3'
      ? await beginS3Run(s3!.bucket(config.lakehouse.bucket), config.lakehouse, runOptions, config.waitMs, config.leaseMs)
      : await beginLocalRun(config.lakehouse.path, runOptions, config.waitMs)
    return await promote(config, lakehouse, listed, s3, progress, started)
  } catch (err) {
    await lakehouse?.abort(runOptions, (err as Error).message)
    throw err
  } finally {
    await lakehouse?.close()
    s3?.close()
  }
}

type Listed = { kind: 'local', files: LandingFile[], warnings: string[] } | { kind: 's3', objects: LandingObject[] }

async function listLanding (config: PipelineConfig, s3: S3Session | undefined): Promise<Listed> {
  if (config.landing.kind === 'local') return { kind: 'local', ...await scanLanding(config.landing.path) }
  const bucket = s3!.bucket(config.landing.bucket)
  await bucket.check()
  try {
    return { kind: 's3', objects: await listLandingObjects(bucket, config.landing) }
  } catch (err) {
    // retention may have emptied a bucket's landing (it has no folders left): nothing new for a lakehouse that exists
    if ((err as PipelineError).code !== 'PIPE_ERR_LANDING_EMPTY_LAYOUT' || !await lakehouseExists(config, s3!)) throw err
    return { kind: 's3', objects: [] }
  }
}

async function lakehouseExists (config: PipelineConfig, s3: S3Session): Promise<boolean> {
  const lakehouse = config.lakehouse
  if (lakehouse.kind === 'local') return await fs.stat(path.join(lakehouse.path, STATE_DB)).then(() => true, () => false)
  return await s3.bucket(lakehouse.bucket).head(s3Key(lakehouse, STATE_DB)) !== undefined
}

const landingWarnings = (listed: Listed): { landing?: string[] } => listed.kind === 'local' && listed.warnings.length > 0 ? { landing: listed.warnings } : {}

interface NewLanding {
  /** files with a new identity, prescanned: to read */
  fresh: ScannedFile[]
  /** known content under a new stat: only remembered, so that it is not hashed again */
  touched: NewLandingFile[]
  /** the local folder the fresh files' relative paths are below */
  root: string
}

async function findNewLanding (
  config: PipelineConfig, listed: Listed, known: { byPath: Map<string, KnownFile>, identities: Set<string> },
  scratch: string, s3: S3Session | undefined, progress: (m: string) => void
): Promise<NewLanding> {
  if (listed.kind === 's3') {
    // key, size and ETag are in the listing: a known object is never fetched again
    const wanted = listed.objects.filter((o) => !known.identities.has(fileIdentity(o.relPath, objectIdentity(o))))
    const root = path.join(scratch, 'landing')
    const bucket = s3!.bucket((config.landing as { bucket: string }).bucket)
    const local = await downloadLanding(bucket, wanted, root, (done) => { if (done % 50 === 0) progress(`fetching new landing objects ${done}/${wanted.length}`) })
    const scanned = await prescanFiles(local, scratch, config.threads)
    return { fresh: scanned.map((f, i) => ({ ...f, sha256: objectIdentity(wanted[i]) })), touched: [], root }
  }
  const changed = listed.files.filter((f) => {
    const k = known.byPath.get(f.relPath)
    return k === undefined || k.size !== f.size || k.mtimeMs !== f.mtimeMs
  })
  const scanned = await prescanFiles(changed, scratch, config.threads, (done) => {
    if (done % 50 === 0) progress(`hashing new landing files ${done}/${changed.length}`)
  })
  const fresh = scanned.filter((f) => !known.identities.has(fileIdentity(f.relPath, f.sha256)))
  const touched: NewLandingFile[] = scanned.filter((f) => !fresh.includes(f))
    .map((f) => ({ path: f.relPath, sha256: f.sha256, size: f.size, mtimeMs: f.mtimeMs, dataset: f.dataset, records: 0, quarantined: 0 }))
  return { fresh, touched, root: path.resolve(config.landingDir) }
}

async function promote (
  config: PipelineConfig, lakehouse: RunLakehouse, listed: Listed, s3: S3Session | undefined, progress: (m: string) => void, started: number
): Promise<RunReport> {
  const timings: Record<string, number> = {}
  const lap = (name: string, since: number): number => { timings[name] = Math.round(performance.now() - since); return performance.now() }
  const runOptions = { ...transformOptions(config), fullRefresh: config.fullRefresh }
  const { state, runId, scratch } = lakehouse
  const location = config.lakehouseDir
  let t = performance.now()
  const current = await state.currentVersions()
  // repairs whatever a killed run left: unpublished versions, orphan files, scratch
  await lakehouse.reconcile(current, await state.retainedFiles(config.keepVersions))
  await lakehouse.clearScratch()

  // tombstones cover new landing records too: a redelivered file must not bring an erased customer back
  const matcher = await tombstoneMatcher(state, config.privacyKey)
  await finishPendingRewrites(config, lakehouse, matcher, s3)

  // a full refresh reads every file again, except retired contents redelivered (their rows are carried)
  const known = config.fullRefresh ? { byPath: new Map(), identities: new Set((await state.retiredFiles()).map((r) => fileIdentity(r.path, r.sha256))) } : await state.knownFiles()
  const { fresh, touched, root: landingRoot } = await findNewLanding(config, listed, known, scratch, s3, progress)
  t = lap('scan', t)

  const last = await state.lastOptions()
  const optionsChanged = last === undefined || last.consentPolicy !== config.consentPolicy || last.mlJoin !== config.mlJoin
  const newFiles = Object.fromEntries(DATASET_NAMES.map((d) => [d, fresh.filter((f) => f.dataset === d).length])) as Record<DatasetName, number>
  const emptyRead = Object.fromEntries(DATASET_NAMES.map((d) => [d, { records: 0, quarantined: 0, fastFiles: 0, lineFiles: 0 }])) as RunReport['read']

  // a consent dated in the future comes due with nothing new in landing: its customer enters trusted then
  const due = await state.consentDueMs()
  const consentCameDue = typeof due === 'number' && Date.now() >= due
  if (fresh.length === 0 && !optionsChanged && !config.fullRefresh && !consentCameDue && current.size > 0) {
    const report: RunReport = {
      runId, status: 'unchanged', lakehouse: location, options: runOptions, newFiles, read: emptyRead,
      counts: countsFromRows(new Map([...current].map(([k, v]) => [k, v.rows]))),
      accounting: null, warnings: { crossCustomerPairs: null, ...landingWarnings(listed) },
      durationMs: Math.round(performance.now() - started), timingsMs: timings
    }
    const previous = (await state.runs(5)).find((r) => r.status === 'ok')?.report as RunReport | undefined
    report.accounting = previous?.accounting ?? null
    if (due !== undefined) report.consentDueMs = due
    report.warnings = { crossCustomerPairs: previous?.warnings.crossCustomerPairs ?? null, ...landingWarnings(listed) }
    if (previous?.audit !== undefined) report.audit = previous.audit
    const retiring = await planRetention(config, listed, known, touched, state, report)
    await lakehouse.commit({ status: 'unchanged', fullRefresh: false, files: touched, versions: [], report: report as unknown as Record<string, unknown>, retired: retiring })
    await retire(config, retiring, s3, report)
    return report
  }

  await lakehouse.prepare()
  await fs.mkdir(scratch, { recursive: true })
  const engine = await createDuckDbEngine({
    threads: config.threads,
    memoryLimitMb: config.memoryLimitMb,
    tempDir: scratch,
    s3: config.lakehouse.kind === 's3' ? await s3!.duckdb(config.lakehouse.bucket) : undefined
  })
  let engineOpen = true
  const closeEngine = (): void => { if (engineOpen) { engineOpen = false; engine.close() } }
  try {
    const uri = lakehouse.uri
    const fileOf = (table: TableName): string => newTableFile(table, runId, nextVersion(table), lakehouse.fileTag)
    const versions = new Map<TableName, TableVersion>()
    const nextVersion = (table: TableName): number => (current.get(table)?.version ?? 0) + 1
    const written: string[] = []

    // 1. landing and quarantine: one new part each per dataset with new records
    const read = emptyRead
    const newLandingParts = new Map<TableName, string>()
    const registry: NewLandingFile[] = [...touched]
    const erased = Object.fromEntries(DATASET_NAMES.map((d) => [d, { records: 0, quarantined: 0 }])) as ErasedCounts
    for (const dataset of DATASET_NAMES) {
      const files = fresh.filter((f) => f.dataset === dataset)
      progress(`reading ${dataset} landing: ${files.length} new files`)
      const landingTable = landingTableOf(dataset)
      const quarantineTable = quarantineTableOf(dataset)
      const landingPart = fileOf(landingTable)
      const quarantinePart = fileOf(quarantineTable)
      let { result, wroteLanding, wroteQuarantine } = files.length === 0
        ? { result: { records: 0, quarantined: 0, perFile: new Map(), fastFiles: 0, lineFiles: 0 }, wroteLanding: false, wroteQuarantine: false }
        : await ingestDataset(engine, DATASETS[dataset], landingRoot, files, runId, {
            landingPart: uri(landingPart),
            quarantinePart: uri(quarantinePart),
            stagingPart: path.join(scratch, `${dataset}-staging.parquet`),
            placeStaging: async (staging) => { await lakehouse.place(staging, landingPart) }
          })
      if (matcher.size > 0) {
        // records a tombstone covers are dropped here, counted as erased, and never reach a table
        for (const [kind, table, part] of [['records', landingTable, landingPart], ['quarantined', quarantineTable, quarantinePart]] as const) {
          if (!(kind === 'records' ? wroteLanding : wroteQuarantine)) continue
          const local = path.join(scratch, `${dataset}-${kind}-uncovered.parquet`)
          const cut = await removeCoveredRows(engine, matcher, table, uri(part), local)
          if (cut === undefined) continue
          erased[dataset][kind] += cut.dropped
          result[kind] -= cut.dropped
          for (const [file, n] of cut.droppedByFile) {
            const outcome = result.perFile.get(file)
            if (outcome !== undefined) outcome[kind] -= n
          }
          // a part left empty is not named by any version: reconcile removes it
          if (cut.kept > 0) await lakehouse.place(local, part)
          else if (kind === 'records') wroteLanding = false
          else wroteQuarantine = false
        }
      }
      t = lap(`ingest:${dataset}`, t)
      read[dataset] = { records: result.records, quarantined: result.quarantined, fastFiles: result.fastFiles, lineFiles: result.lineFiles }
      for (const f of files) {
        const outcome = result.perFile.get(f.relPath) ?? { records: 0, quarantined: 0 }
        registry.push({ path: f.relPath, sha256: f.sha256, size: f.size, mtimeMs: f.mtimeMs, dataset, ...outcome })
      }
      for (const [table, part, wrote, rows] of [
        [landingTable, landingPart, wroteLanding, result.records],
        [quarantineTable, quarantinePart, wroteQuarantine, result.quarantined]
      ] as Array<[TableName, string, boolean, number]>) {
        const base = config.fullRefresh ? undefined : current.get(table)
        if (wrote) written.push(part)
        if (wrote && table === landingTable) newLandingParts.set(table, part)
        if (wrote || base === undefined) {
          versions.set(table, {
            table,
            version: nextVersion(table),
            runId,
            rows: (base?.rows ?? 0) + (wrote ? rows : 0),
            files: [...(base?.files ?? []), ...(wrote ? [part] : [])]
          })
        }
      }
    }
    if (config.fullRefresh) {
      // retired files are gone from landing: their rows come from the current parts, not the files
      const carried = await carryRetiredRows(engine, await state.retiredFiles(), (table) => (current.get(table)?.files ?? []).map(uri),
        (table) => uri(fileOf(table).replace(/\.parquet$/, '-retired.parquet')))
      for (const [table, rows] of carried) {
        const part = fileOf(table).replace(/\.parquet$/, '-retired.parquet')
        const v = versions.get(table)!
        versions.set(table, { ...v, rows: v.rows + rows, files: [...v.files, part] })
        written.push(part)
      }
    }
    // landing and quarantine keep at most MAX_PARTS parts (zones/compaction.ts)
    for (const [table, v] of versions) {
      if (!(table.endsWith('_landing') || table.endsWith('_quarantine'))) continue
      const compacted = await compactParts(engine, v, newTableFile(table, runId, v.version, lakehouse.fileTag, 'compacted'), uri)
      versions.set(table, compacted.version)
      if (compacted.written !== undefined) written.push(compacted.written)
    }
    const effective = (table: TableName): TableVersion | undefined => versions.get(table) ?? current.get(table)
    for (const table of TABLE_NAMES) {
      if (table.endsWith('_landing') || table.endsWith('_quarantine')) {
        await defineTableView(engine, table, (effective(table)?.files ?? []).map(uri))
      }
    }
    t = lap('views', t)
    await pause(config, 'ingest')

    // 2. the five jobs: over what is new when the previous run's tables carry over (same options, no
    // full refresh), else each one SELECT from sql/ over every landing record
    // consent counts from its date on: a record dated after this run's start has not consented yet
    const runStartedMs = config.runStartedMs ?? await runStartMs(state, runId)
    await engine.exec(`CREATE OR REPLACE VIEW pipeline_options AS SELECT ${sqlString(config.consentPolicy)} AS consent_policy, ${sqlString(config.mlJoin)} AS ml_join, CAST(${runStartedMs} AS BIGINT) AS run_started_ms`)
    const zoneContext: ZoneContext = {
      engine, runId, uri, current, newLandingParts,
      // not known (a run of an earlier release or of Spark made the tables): assume it may
      customersMayChange: newLandingParts.has('customer_landing') || consentCameDue || due === undefined,
      newFile: (table, kind) => newTableFile(table, runId, nextVersion(table), lakehouse.fileTag, kind)
    }
    // the previous tables carry over only as the previous run of these jobs left them: with its
    // figures, and a passing audit (after an erasure, or a table written by anything else, or a
    // failed audit, the jobs run over every record again)
    const previous = !config.fullRefresh && !optionsChanged && JOBS.every((job) => current.has(job.output)) ? await state.carriedFigures() : undefined
    const incremental = previous !== undefined && previous.audit.ok
    const lapJob = (name: string): void => { t = lap(name, t) }
    const zones = incremental
      ? await promoteIncrementally(zoneContext, { lap: lapJob })
      : await promoteFully(zoneContext, { onJob: (name, i) => { progress(`job ${i + 1}/${JOBS.length} ${name}`) }, lap: lapJob })
    for (const v of zones.versions) versions.set(v.table, v)
    written.push(...zones.written)

    // 3. accounting: every valid landing record is trusted or filtered out for a named reason; an
    // incremental run counts from the previous run's figures when nothing else (an erasure) changed them
    progress('accounting')
    const rowsOf = (table: TableName): number => effective(table)?.rows ?? 0
    const committedErased = config.fullRefresh ? {} : await state.erasedCounts()
    const erasedTotal = (d: DatasetName): number => (committedErased[d]?.records ?? 0) + erased[d].records
    const accounting = incremental
      ? await accountIncrementally(engine, { previous: previous!.accounting, previousCustomers: tableQuery('customer_landing', (current.get('customer_landing')?.files ?? []).map(uri)), runId }, rowsOf, erasedTotal)
      : await accountFully(engine, rowsOf, erasedTotal)
    t = lap('accounting', t)
    // 3b. cross-customer pairs, and the privacy audit of the new machine-learning table from the
    // landing records: a failure flags the run, it does not block it
    progress('privacy audit')
    const auditRun = { runId, startedAtMs: runStartedMs, consentPolicy: config.consentPolicy }
    const checks = incremental
      ? await checkIncrementally(engine, auditRun, previous!, rowsOf('machine_learning_curated'))
      : await checkFully(engine, auditRun)
    const { crossCustomerPairs: pairs, audit } = checks
    const [{ due: consentDueMs }] = await engine.rows<{ due: number | null }>(loadSql('consent_due'))
    t = lap('audit', t)
    await pause(config, 'jobs')

    // 4. durable, then committed (the moment the new versions become current), then published
    progress('committing')
    await lakehouse.durable(written)
    closeEngine()
    const counts = countsFromRows(new Map(TABLE_NAMES.map((table) => [table, rowsOf(table)])))
    const report: RunReport = {
      runId, status: 'ok', lakehouse: location, options: runOptions, consentDueMs, newFiles, read, counts, accounting,
      warnings: { crossCustomerPairs: Number(pairs), ...landingWarnings(listed) }, audit,
      // as stored at the commit (the returned report has the whole run, publication included)
      durationMs: Math.round(performance.now() - started), timingsMs: timings
    }
    for (const d of DATASET_NAMES) if (erased[d].records + erased[d].quarantined > 0) read[d].erased = erased[d].records + erased[d].quarantined
    const retiring = await planRetention(config, listed, known, registry, state, report)
    await lakehouse.commit({ status: 'ok', fullRefresh: config.fullRefresh, files: registry, versions: [...versions.values()], report: report as unknown as Record<string, unknown>, erased, retired: retiring })
    await pause(config, 'commit')
    await lakehouse.reconcile(await state.currentVersions(), await state.retainedFiles(config.keepVersions))
    t = lap('commit', t)
    await retire(config, retiring, s3, report)
    if (retiring !== undefined) lap('retention', t)
    report.durationMs = Math.round(performance.now() - started)
    return report
  } finally {
    closeEngine()
  }
}

/** --retain-landing: the files this run's commit retires (and their figures in the report it stores). */
async function planRetention (
  config: PipelineConfig, listed: Listed, known: { byPath: Map<string, KnownFile>, identities: Set<string> },
  read: readonly NewLandingFile[], state: StateStore, report: RunReport
): Promise<RetiringFile[] | undefined> {
  if (config.retainLandingMs === undefined) return undefined
  const pending = new Set((await state.pendingRewrites()).map((p) => p.path))
  const retiring = planRetirement({ retainLandingMs: config.retainLandingMs, nowMs: Date.now(), listed, known, read, pending })
  report.retention = { retired: retiring.length, bytes: retiring.reduce((sum, f) => sum + f.size, 0) }
  return retiring
}

/** After the commit: deletes the retired files still as read; the report tells what was deleted. */
async function retire (config: PipelineConfig, retiring: RetiringFile[] | undefined, s3: S3Session | undefined, report: RunReport): Promise<void> {
  if (retiring === undefined) return
  const landing = config.landing
  report.retention = landing.kind === 's3'
    ? await deleteRetired(retiring, s3!.bucket(landing.bucket), landing)
    : await deleteRetired(retiring)
}

async function pause (config: PipelineConfig, point: PausePoint): Promise<void> {
  if (config.pauseAfter !== point) return
  process.stderr.write(`stedi: paused after ${point}\n`)
  // keeps the process alive until a test kills it
  await new Promise(() => { setInterval(() => {}, 1 << 30) })
}
