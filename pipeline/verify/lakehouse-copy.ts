// What `stedi pipeline verify` checks, taken once without the lakehouse's lock: a private copy of the
// state as last committed, and the files of its current table versions made readable beside it (a
// local lakehouse: symbolic links; a bucket: downloads). The copy is itself a lakehouse, so the
// recomputation can run the real promotion on it as a full refresh: it finds the current versions
// there (the rows of retired landing files are carried from them), and the tombstones.
import fs from 'node:fs/promises'
import path from 'node:path'
import { CONSENT_POLICIES, type ConsentPolicy, ML_JOINS, type MlJoin, STATE_DB, type TableName } from '../../contracts/lakehouse.js'
import { type StorageLocation, locationText, s3Key } from '../../common/storage-location.js'
import { PipelineError } from '../errors.js'
import { runStartMs } from '../privacy/audit.js'
import { tombstoneMatcher } from '../privacy/erase.js'
import type { S3Session } from '../s3/access.js'
import { openS3StateForRead } from '../s3/lakehouse.js'
import { type KnownFile, type RetiredFile, StateStore, type TableVersion } from '../state.js'

/** The run whose tables are checked: its options, and the instant it judged consent at. */
export interface SourceRun {
  runId: number
  startedAt: string
  startedAtMs: number
  consentPolicy: ConsentPolicy
  mlJoin: MlJoin
}

export interface LakehouseCopy {
  /** the lakehouse as the user named it */
  label: string
  versions: Map<TableName, TableVersion>
  /** the local paths of a table's current files (empty for a table without a version) */
  files: (table: TableName) => string[]
  run: SourceRun
  /** per landing path, the identity the state last recorded for it */
  known: ReadonlyMap<string, KnownFile>
  /** landing files --retain-landing deleted: their rows are only in the lakehouse */
  retired: RetiredFile[]
}

/**
 * Copies the lakehouse's state into `into` (which becomes a lakehouse of its own) and makes the files
 * of its current versions readable there. Refuses a lakehouse whose erasure is unfinished, and one
 * with tombstones when the key is not theirs.
 */
export async function copyLakehouse (location: StorageLocation, into: string, s3: S3Session | undefined, key: Uint8Array | undefined): Promise<LakehouseCopy> {
  const label = locationText(location)
  await fs.mkdir(path.dirname(path.join(into, STATE_DB)), { recursive: true })
  await copyState(location, path.join(into, STATE_DB), s3)
  const state = await StateStore.open(into, { create: false, label })
  let copy: Omit<LakehouseCopy, 'files'>
  try {
    const versions = await state.currentVersions()
    const trusted = versions.get('customer_trusted')
    if (trusted === undefined) {
      throw new PipelineError('PIPE_ERR_LAKEHOUSE_MISSING', `lakehouse ${label} has no trusted tables yet: run \`stedi pipeline run\` first`, { path: label })
    }
    if ((await state.pendingRewrites()).length > 0) {
      // its landing files still hold what the tables no longer do: the recomputation would disagree
      throw new PipelineError('PIPE_ERR_ERASURE_PENDING',
        `an interrupted erasure of ${label} has landing files to rewrite: run \`stedi privacy erase\` again or \`stedi pipeline run\`, which finish it, then verify`, { path: label })
    }
    await tombstoneMatcher(state, key)
    copy = {
      label,
      versions,
      run: await sourceRun(state, trusted.runId, label),
      known: (await state.knownFiles()).byPath,
      retired: await state.retiredCount() > 0 ? await state.retiredFiles() : []
    }
  } finally {
    await state.close()
  }
  await placeCurrentFiles(location, into, copy.versions, s3)
  return { ...copy, files: (table) => (copy.versions.get(table)?.files ?? []).map((f) => path.join(into, f)) }
}

async function copyState (location: StorageLocation, file: string, s3: S3Session | undefined): Promise<void> {
  if (location.kind === 'local') {
    const state = await StateStore.open(location.path, { create: false })
    try {
      await state.copyTo(file)
    } finally {
      await state.close()
    }
    return
  }
  const { state, dispose } = await openS3StateForRead(s3!.bucket(location.bucket), location)
  try {
    await state.copyTo(file)
  } finally {
    await dispose()
  }
}

/**
 * The run whose judgement of consent the tables hold. The embedded engine's latest run that made
 * versions (status ok): an incremental run keeps customer_trusted's version when no customer record is new
 * and no consent dated ahead has come due, so its tables are as of its own start even when
 * customer_trusted is older. A Spark run runs each job as a run of its own: the one that built the
 * current customer_trusted.
 */
async function sourceRun (state: StateStore, trustedRunId: number, label: string): Promise<SourceRun> {
  const latest = (await state.runs(50)).find((r) => r.status === 'ok')
  const embedded = latest !== undefined && latest.id >= trustedRunId && (latest.report as { engine?: string } | null)?.engine !== 'spark'
  const runId = embedded ? latest.id : trustedRunId
  const run = await state.run(runId)
  const consentPolicy = run?.options.consentPolicy as ConsentPolicy
  const mlJoin = (run?.options.mlJoin ?? 'seed') as MlJoin
  if (run === undefined || !CONSENT_POLICIES.includes(consentPolicy) || !ML_JOINS.includes(mlJoin)) {
    throw new PipelineError('PIPE_ERR_STATE_CORRUPT', `the state of ${label} does not record the options of run ${runId}, which built customer_trusted`, { path: label })
  }
  return { runId, startedAt: run.startedAt, startedAtMs: await runStartMs(state, runId), consentPolicy, mlJoin }
}

async function placeCurrentFiles (location: StorageLocation, into: string, versions: ReadonlyMap<TableName, TableVersion>, s3: S3Session | undefined): Promise<void> {
  for (const v of versions.values()) {
    for (const rel of v.files) {
      const local = path.join(into, rel)
      await fs.mkdir(path.dirname(local), { recursive: true })
      // a file is kept for a few versions after it stops being current: gone means moved on far, or lost
      const present = location.kind === 'local'
        ? await fs.access(path.join(location.path, rel)).then(async () => { await fs.symlink(path.join(location.path, rel), local); return true }, () => false)
        : await s3!.bucket(location.bucket).download(s3Key(location, rel), local) !== undefined
      if (!present) {
        throw new PipelineError('PIPE_ERR_STATE_CORRUPT',
          `${rel}, a file of ${v.table} (version ${v.version}), is missing from ${locationText(location)}: run verify again; if it is still missing, rebuild with \`stedi pipeline run --full-refresh\``,
          { path: locationText(location) })
      }
    }
  }
}
