// What a run checks of its machine-learning table before it commits: the cross-customer pairs (a
// warning) and the privacy audit (pipeline/privacy/audit.ts: a failure flags the run). A full run
// reads the whole table; an incremental run, only what it changed: the rows it removed and added
// (pipeline/zones/incremental.ts leaves them as ml_removed and ml_added). Its rows it kept were
// checked when they were written, and nothing about them changed: a row is removed whenever its
// phone user's trusted record or its trainer's curated owners change.
import { CROSS_CUSTOMER_QUERY } from '../../contracts/jobs.js'
import type { SqlEngine } from '../engine/duckdb.js'
import { type AuditRun, type RunAudit, auditRunResult } from '../privacy/audit.js'
import { loadSql } from '../sql.js'

export interface RunChecks { crossCustomerPairs: number, audit: RunAudit }

export async function checkFully (engine: SqlEngine, run: AuditRun): Promise<RunChecks> {
  const [{ pairs }] = await engine.rows<{ pairs: number }>(loadSql(CROSS_CUSTOMER_QUERY))
  return { crossCustomerPairs: Number(pairs), audit: await auditRunResult(engine, run) }
}

/** From the previous run's figures: its pairs less the removed rows' plus the added rows', its audit with the added rows'. */
export async function checkIncrementally (engine: SqlEngine, run: AuditRun, previous: RunChecks, mlRows: number): Promise<RunChecks> {
  const pairsIn = async (rows: string, curated: string): Promise<number> => {
    const [{ pairs }] = await engine.rows<{ pairs: number }>(
      `WITH machine_learning_curated AS (SELECT * FROM ${rows}), customer_curated AS (SELECT * FROM ${curated}) SELECT * FROM (${loadSql(CROSS_CUSTOMER_QUERY)})`)
    return Number(pairs)
  }
  const crossCustomerPairs = previous.crossCustomerPairs - await pairsIn('ml_removed', 'customer_curated_previous') + await pairsIn('ml_added', 'customer_curated')
  // the added rows' customers only: their phone users, and whoever has a record carrying their serial
  // numbers (each one's latest record decides who owns a trainer now)
  const added = await auditRunResult(engine, run, 'ml_added',
    'email IN (SELECT "user" FROM ml_added) OR email IN (SELECT email FROM customer_landing WHERE serialNumber IN (SELECT serialNumber FROM ml_added))')
  return {
    crossCustomerPairs,
    audit: { ok: previous.audit.ok && added.ok, rows: mlRows, violations: previous.audit.violations + added.violations, byReason: sumReasons(previous.audit.byReason, added.byReason) }
  }
}

function sumReasons (a: RunAudit['byReason'], b: RunAudit['byReason']): RunAudit['byReason'] {
  const out = { ...a }
  for (const [k, v] of Object.entries(b) as Array<[keyof RunAudit['byReason'], number]>) out[k] = (out[k] ?? 0) + v
  return out
}
