// The privacy audit (issue 12, "Privacy you can prove"): every row of the current
// machine_learning_curated table pairs readings of customers who had consented to research, judged
// from the customer records themselves rather than from the trusted and curated tables the jobs
// wrote. A row names two customers: the phone's user (its email) and the trainer's owner (the
// customer whose latest record carries the serial number). Each must have, in their latest record as
// of the run that built the table, a shareWithResearchAsOfDate at or before that run's start; under
// the strict consent policy also at or before the reading's time. `stedi privacy audit` runs it on a
// lakehouse; every embedded run runs it on its own result before committing (pipeline/run.ts).
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { CONSENT_POLICIES, type ConsentPolicy } from '../../contracts/lakehouse.js'
import { type IdentityKind, identityHash } from '../../contracts/privacy.js'
import type { S3ConnectionConfig } from '../../common/s3-connection.js'
import { type SqlEngine, createDuckDbEngine, sqlString, sqlStringList } from '../engine/duckdb.js'
import { PipelineError } from '../errors.js'
import { openSnapshot, openStateForRead } from '../snapshot.js'
import type { StateStore } from '../state.js'
import { type CustomerRecord, latestRecords, readCustomerLanding, readCustomerRows } from './customers.js'

export const AUDIT_REASONS = Object.freeze({
  unknown_customer: 'no customer record (as of the run) has this email, or carries this serial number',
  no_consent: 'the customer\'s latest record has no shareWithResearchAsOfDate',
  consent_after_run: 'the customer\'s research consent is dated after the run that built the table started',
  before_consent_strict: 'under the strict consent policy: a reading taken before the customer\'s research consent'
} as const)
export type AuditReason = keyof typeof AUDIT_REASONS
const REASON_NAMES = Object.keys(AUDIT_REASONS) as AuditReason[]

/** The run whose result is audited: consent is judged as of its start, under its policy. */
export interface AuditRun {
  runId: number
  startedAtMs: number
  consentPolicy: ConsentPolicy
}

/** The columns of a machine_learning_curated row the audit reads. */
export interface MlRow { user: string, serialNumber: string, sensorReadingTime: number, timestamp: number }

export interface AuditViolation {
  reason: AuditReason
  /** which of the row's customers: the phone's user, or the trainer's owner */
  role: 'phone_user' | 'trainer_owner'
  /** a short hashed id of the customer (of the serial number, for a trainer nobody owns) */
  id: string
  sensorReadingTime: number
  timestamp: number
}

export interface AuditFindings {
  ok: boolean
  /** machine-learning rows checked */
  rows: number
  /** distinct customers the rows name */
  customers: number
  /** violations (a row may have two: its phone user and its trainer owner) */
  violations: number
  violatingRows: number
  byReason: Record<AuditReason, number>
  /** serial numbers carried by the latest records of more than one customer (a row passes when one owner passes) */
  sharedSerials: number
  /** the first violations, ordered by reading time */
  listed: AuditViolation[]
}

/** A short id for output: the first 12 hex of the keyed identity hash with a privacy key, else of SHA-256 of `kind:value`. */
export function shortId (kind: IdentityKind, value: string, key?: Uint8Array): string {
  const hex = key === undefined
    ? createHash('sha256').update(`${kind}:${value}`, 'utf8').digest('hex')
    : identityHash(key, kind, value)
  return hex.slice(0, 12)
}

/** Judges one row at a time against the customers' latest records. */
export function createJudge (records: Iterable<CustomerRecord>, run: AuditRun, key?: Uint8Array): {
  check: (row: MlRow) => AuditViolation[]
  /** the emails a row names (its user and the trainer's owners) */
  customersOf: (row: MlRow) => string[]
  sharedSerials: number
} {
  const latest = latestRecords(records)
  const owners = new Map<string, CustomerRecord[]>()
  for (const r of latest.values()) {
    const list = owners.get(r.serialNumber)
    if (list === undefined) owners.set(r.serialNumber, [r])
    else list.push(r)
  }
  for (const list of owners.values()) list.sort((a, b) => a.email < b.email ? -1 : 1)
  const strict = run.consentPolicy === 'strict'
  const judge = (c: CustomerRecord | undefined, row: MlRow): AuditReason | undefined => {
    if (c === undefined) return 'unknown_customer'
    const consent = c.shareWithResearchAsOfDate
    if (consent === null) return 'no_consent'
    if (consent > run.startedAtMs) return 'consent_after_run'
    if (strict && (consent > row.sensorReadingTime || consent > row.timestamp)) return 'before_consent_strict'
    return undefined
  }
  const ids = new Map<string, string>()
  const idOf = (kind: IdentityKind, value: string): string => {
    const k = `${kind}:${value}`
    let id = ids.get(k)
    if (id === undefined) { id = shortId(kind, value, key); ids.set(k, id) }
    return id
  }
  return {
    check: (row) => {
      const found: AuditViolation[] = []
      const at = { sensorReadingTime: row.sensorReadingTime, timestamp: row.timestamp }
      const userReason = judge(latest.get(row.user), row)
      if (userReason !== undefined) found.push({ reason: userReason, role: 'phone_user', id: idOf('email', row.user), ...at })
      const held = owners.get(row.serialNumber)
      if (held === undefined) {
        found.push({ reason: 'unknown_customer', role: 'trainer_owner', id: idOf('serial', row.serialNumber), ...at })
      } else if (held.every((o) => judge(o, row) !== undefined)) {
        found.push({ reason: judge(held[0], row)!, role: 'trainer_owner', id: idOf('email', held[0].email), ...at })
      }
      return found
    },
    customersOf: (row) => [row.user, ...(owners.get(row.serialNumber) ?? []).map((o) => o.email)],
    sharedSerials: [...owners.values()].filter((l) => l.length > 1).length
  }
}

/** Judges the rows against the customer records. Pure: the tests call it with rows of their own. */
export function auditRows (rows: Iterable<MlRow>, records: Iterable<CustomerRecord>, run: AuditRun, options: { limit?: number, key?: Uint8Array } = {}): AuditFindings {
  const judge = createJudge(records, run, options.key)
  const customers = new Set<string>()
  const found: AuditViolation[] = []
  let n = 0
  let violatingRows = 0
  for (const row of rows) {
    n++
    for (const c of judge.customersOf(row)) customers.add(c)
    const v = judge.check(row)
    if (v.length > 0) { violatingRows++; found.push(...v) }
  }
  return findings(n, customers.size, found, violatingRows, judge.sharedSerials, options.limit)
}

function findings (rows: number, customers: number, found: AuditViolation[], violatingRows: number, sharedSerials: number, limit = 20): AuditFindings {
  const byReason = Object.fromEntries(REASON_NAMES.map((r) => [r, 0])) as Record<AuditReason, number>
  for (const v of found) byReason[v.reason]++
  found.sort((a, b) => a.sensorReadingTime - b.sensorReadingTime || a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { ok: found.length === 0, rows, customers, violations: found.length, violatingRows, byReason, sharedSerials, listed: found.slice(0, limit) }
}

/**
 * The audit of a machine-learning table the engine can read (`from`: a view or read_parquet(...)).
 * Rows are read grouped by phone user and serial number with their earliest reading time: a group
 * passes as a whole when its earliest reading passes (no other check depends on the reading), so only
 * the rows of failing groups are read one by one. On the published data that reads a few hundred
 * groups instead of 43,681 rows.
 */
export async function auditTable (engine: SqlEngine, from: string, records: Iterable<CustomerRecord>, run: AuditRun, options: { limit?: number, key?: Uint8Array } = {}): Promise<AuditFindings> {
  const judge = createJudge(records, run, options.key)
  const groups = await engine.rows<{ user: string, serialNumber: string, n: number, first: number }>(
    `SELECT "user", serialNumber, count(*) AS n, min(least(sensorReadingTime, "timestamp")) AS first FROM ${from} GROUP BY ALL`)
  const customers = new Set<string>()
  const failing: Array<{ user: string, serialNumber: string }> = []
  let n = 0
  for (const g of groups) {
    n += g.n
    const row = { user: g.user, serialNumber: g.serialNumber, sensorReadingTime: g.first, timestamp: g.first }
    for (const c of judge.customersOf(row)) customers.add(c)
    if (judge.check(row).length > 0) failing.push(g)
  }
  const found: AuditViolation[] = []
  let violatingRows = 0
  if (failing.length > 0) {
    const pairs = failing.map((g) => `(${sqlString(g.user)}, ${sqlString(g.serialNumber)})`)
    const rows = await engine.rows<MlRow>(
      `SELECT m."user", m.serialNumber, m.sensorReadingTime, m."timestamp" FROM ${from} m JOIN (VALUES ${pairs.join(', ')}) AS f(u, s) ON m."user" = f.u AND m.serialNumber = f.s`)
    for (const row of rows) {
      const v = judge.check(row)
      if (v.length > 0) { violatingRows++; found.push(...v) }
    }
  }
  return findings(n, customers.size, found, violatingRows, judge.sharedSerials, options.limit)
}

/** A run's start (epoch ms), from the state's run history. */
export async function runStartMs (state: StateStore, runId: number): Promise<number> {
  const row = await state.run(runId)
  if (row === undefined) throw new PipelineError('PIPE_ERR_STATE_CORRUPT', `the state has no run ${runId}`)
  return Date.parse(row.startedAt)
}

/** What a run report carries: the audit of the run's own machine-learning table. */
export interface RunAudit {
  ok: boolean
  rows: number
  violations: number
  byReason: Record<AuditReason, number>
}

/**
 * Inside a run, after its jobs: the customer records from the run's customer_landing view (all of
 * them are as of this run), the rows from its machine_learning_curated view.
 */
/** `customers`: a condition on customer_landing that keeps every record of each customer the rows can name (all, when absent). */
export async function auditRunResult (engine: SqlEngine, run: AuditRun, from = 'machine_learning_curated', customers?: string): Promise<RunAudit> {
  const records = await readCustomerRows(engine, { view: 'customer_landing' }, run.runId, customers)
  const f = await auditTable(engine, from, records, run, { limit: 0 })
  return { ok: f.ok, rows: f.rows, violations: f.violations, byReason: f.byReason }
}

export interface LakehouseAuditOptions {
  /** a local landing root to read the customer records from (else the lakehouse's customer_landing parts) */
  landingDir?: string
  /** how many violations to list */
  limit?: number
  key?: Uint8Array
  s3?: S3ConnectionConfig
  threads?: number
}

export interface LakehouseAudit extends AuditFindings {
  lakehouse: string
  runId: number
  runStartedAt: string
  consentPolicy: ConsentPolicy
  mlJoin: string
  mlVersion: number
  /** where the customer records came from */
  source: { kind: 'landing', dir: string, files: number, notYetRead: number, missing: number } | { kind: 'customer_landing', version: number }
  customerRecords: number
  /** how the listed ids were made */
  ids: 'keyed' | 'sha256'
  durationMs: number
}

/** The audit of a lakehouse's current machine-learning table. */
export async function auditLakehouse (lakehouse: string, options: LakehouseAuditOptions = {}): Promise<LakehouseAudit> {
  const started = performance.now()
  // the snapshot first: the state opened after it knows the run of every version the snapshot names
  const snapshot = await openSnapshot(lakehouse, { s3: options.s3 })
  try {
    const ml = snapshot.versions.get('machine_learning_curated')
    if (ml === undefined) {
      throw new PipelineError('PIPE_ERR_LAKEHOUSE_MISSING', `lakehouse ${snapshot.lakehouseDir} has no machine_learning_curated table yet: run \`stedi pipeline run\` first`)
    }
    const { state, dispose } = await openStateForRead(lakehouse, { s3: options.s3 })
    let runRow
    let fromLanding
    try {
      runRow = await state.run(ml.runId)
      if (runRow !== undefined && options.landingDir !== undefined) fromLanding = await readCustomerLanding(path.resolve(options.landingDir), state, ml.runId)
    } finally {
      await dispose()
    }
    if (runRow === undefined) {
      throw new PipelineError('PIPE_ERR_STATE_CORRUPT', `the state of ${snapshot.lakehouseDir} has no run ${ml.runId}, the run that built machine_learning_curated version ${ml.version}`)
    }
    const consentPolicy = runRow.options.consentPolicy as ConsentPolicy
    if (!CONSENT_POLICIES.includes(consentPolicy)) {
      throw new PipelineError('PIPE_ERR_STATE_CORRUPT', `run ${ml.runId} of ${snapshot.lakehouseDir} names no known consent policy (${String(runRow.options.consentPolicy)})`)
    }
    const run: AuditRun = { runId: ml.runId, startedAtMs: Date.parse(runRow.startedAt), consentPolicy }
    const engine = await createDuckDbEngine({
      threads: options.threads ?? Math.max(1, Math.min(2, os.availableParallelism())),
      memoryLimitMb: 512,
      tempDir: path.join(os.tmpdir(), 'stedi-audit'),
      s3: snapshot.s3
    })
    try {
      let records: CustomerRecord[]
      let source: LakehouseAudit['source']
      if (fromLanding !== undefined) {
        records = fromLanding.records
        source = { kind: 'landing', dir: path.resolve(options.landingDir!), files: fromLanding.files, notYetRead: fromLanding.notYetRead, missing: fromLanding.missing }
      } else {
        const cl = snapshot.versions.get('customer_landing')
        records = cl === undefined ? [] : await readCustomerRows(engine, { files: await snapshot.paths(cl) }, ml.runId)
        source = { kind: 'customer_landing', version: cl?.version ?? 0 }
      }
      const mlFiles = await snapshot.paths(ml)
      const findings = mlFiles.length === 0
        ? auditRows([], records, run)
        : await auditTable(engine, `read_parquet(${sqlStringList(mlFiles)})`, records, run, { limit: options.limit, key: options.key })
      return {
        lakehouse: snapshot.lakehouseDir,
        runId: run.runId,
        runStartedAt: runRow.startedAt,
        consentPolicy,
        mlJoin: String(runRow.options.mlJoin ?? 'seed'),
        mlVersion: ml.version,
        source,
        customerRecords: records.length,
        ids: options.key === undefined ? 'sha256' : 'keyed',
        ...findings,
        durationMs: Math.round(performance.now() - started)
      }
    } finally {
      engine.close()
    }
  } finally {
    snapshot.close()
  }
}

const num = (n: number): string => n.toLocaleString('en-US')

/** The human summary: what was checked, violations by kind, the listed ones. */
export function formatAudit (a: LakehouseAudit): string {
  const from = a.source.kind === 'landing'
    ? `${num(a.customerRecords)} customer records from ${a.source.files} landing files in ${a.source.dir}` +
      (a.source.notYetRead > 0 ? ` (${a.source.notYetRead} files not read by run ${a.runId} left out)` : '') +
      (a.source.missing > 0 ? ` (warning: ${a.source.missing} files run ${a.runId} had read are no longer there)` : '')
    : `${num(a.customerRecords)} customer records from customer_landing`
  const lines = [
    `privacy audit of ${a.lakehouse}: machine_learning_curated version ${a.mlVersion}, built by run ${a.runId} ` +
      `(started ${a.runStartedAt}, consent policy ${a.consentPolicy}, ml join ${a.mlJoin})`,
    `consent judged from ${from}`,
    `${num(a.rows)} rows checked, ${num(a.customers)} customers: ` +
      (a.ok ? 'no violation' : `${num(a.violations)} violations in ${num(a.violatingRows)} rows (` +
        REASON_NAMES.filter((r) => a.byReason[r] > 0).map((r) => `${r} ${num(a.byReason[r])}`).join(', ') + ')')
  ]
  if (a.sharedSerials > 0) lines.push(`note: ${num(a.sharedSerials)} serial numbers are carried by more than one customer's latest record; a row passes when one of them passes`)
  if (a.listed.length > 0) {
    lines.push(`first ${a.listed.length} (customer ids: ${a.ids === 'keyed' ? 'keyed identity hash' : 'sha256 of kind:value'}, first 12 hex):`)
    for (const v of a.listed) {
      lines.push(`  ${v.reason.padEnd(21)} ${v.role.padEnd(13)} ${v.role === 'trainer_owner' && v.reason === 'unknown_customer' ? 'serial' : 'customer'} ${v.id}  ` +
        `sensorReadingTime ${v.sensorReadingTime} timestamp ${v.timestamp}`)
    }
  }
  return lines.join('\n')
}
