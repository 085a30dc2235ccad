// What a run tells: the seed's row-count table, where every landing record went, warnings, and a
// one-line summary. The same figures go to the state (run history) and to `stedi counts`.
import type { DatasetName } from '../contracts/datasets.js'
import type { TableName } from '../contracts/lakehouse.js'
import { formatDurationMs } from '../common/duration.js'
import type { RunAudit } from './privacy/audit.js'

export interface Counts {
  landing: { customer: number, accelerometer: number, step_trainer: number }
  trusted: { customer: number, accelerometer: number, step_trainer: number }
  curated: { customer: number, machine_learning: number }
  quarantined: { customer: number, accelerometer: number, step_trainer: number }
}

export interface DatasetAccounting {
  landing: number
  trusted: number
  /** filtered out of trusted, by reason; landing = trusted + the sum of these */
  filtered: Record<string, number>
  quarantined: number
}

export interface RunReport {
  runId: number
  status: 'ok' | 'unchanged'
  /** which engine ran the jobs (absent: the embedded DuckDB engine) */
  engine?: 'duckdb' | 'spark'
  lakehouse: string
  options: { consentPolicy: string, mlJoin: string, fullRefresh: boolean }
  /** the earliest research consent dated after the run's start: from then on a run recomputes even with nothing new */
  consentDueMs?: number | null
  newFiles: Record<DatasetName, number>
  read: Record<DatasetName, { records: number, quarantined: number, fastFiles: number, lineFiles: number, erased?: number }>
  counts: Counts
  accounting: Record<DatasetName, DatasetAccounting> | null
  /** landing: what looks like landing data but was not read (pipeline/landing/scan.ts), as printed */
  warnings: { crossCustomerPairs: number | null, landing?: string[] }
  /** the privacy audit of the run's machine-learning table (absent: a Spark run, or a run before the audit existed) */
  audit?: RunAudit
  durationMs: number
  timingsMs: Record<string, number>
  /** with --retain-landing: landing files this run deleted after its commit, and their bytes */
  retention?: { retired: number, bytes: number }
}

export function countsFromRows (rows: ReadonlyMap<TableName, number>): Counts {
  const n = (t: TableName): number => rows.get(t) ?? 0
  return {
    landing: { customer: n('customer_landing'), accelerometer: n('accelerometer_landing'), step_trainer: n('step_trainer_landing') },
    trusted: { customer: n('customer_trusted'), accelerometer: n('accelerometer_trusted'), step_trainer: n('step_trainer_trusted') },
    curated: { customer: n('customer_curated'), machine_learning: n('machine_learning_curated') },
    quarantined: { customer: n('customer_quarantine'), accelerometer: n('accelerometer_quarantine'), step_trainer: n('step_trainer_quarantine') }
  }
}

const num = (n: number): string => n.toLocaleString('en-US')

/** The row-count table in the seed's layout (a Markdown table). */
export function formatCountsTable (c: Counts): string {
  const rows: string[][] = [
    ['landing', num(c.landing.customer), num(c.landing.accelerometer), num(c.landing.step_trainer), ''],
    ['trusted', num(c.trusted.customer), num(c.trusted.accelerometer), num(c.trusted.step_trainer), ''],
    ['curated', num(c.curated.customer), '', '', num(c.curated.machine_learning)]
  ]
  const head = ['zone', 'customer', 'accelerometer', 'step trainer', 'machine learning']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]): string => `| ${cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join(' | ')} |`
  const rule = `|${widths.map((w, i) => i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`).join('|')}|`
  return [line(head), rule, ...rows.map(line)].join('\n')
}

export function formatAccounting (accounting: Record<DatasetName, DatasetAccounting>): string {
  const lines = ['where every landing record went (landing = trusted + filtered out; quarantined lines are not landing records):']
  for (const [dataset, a] of Object.entries(accounting)) {
    const filtered = Object.entries(a.filtered).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${num(n)}`)
    lines.push(`  ${dataset.padEnd(13)} landing ${num(a.landing)} = trusted ${num(a.trusted)}` +
      (filtered.length > 0 ? ` + ${filtered.join(' + ')}` : '') + `; quarantined ${num(a.quarantined)}`)
  }
  return lines.join('\n')
}

export function formatWarnings (report: RunReport): string[] {
  const warnings: string[] = []
  const pairs = report.warnings.crossCustomerPairs
  if (pairs !== null && pairs > 0) {
    warnings.push(`warning: ${num(pairs)} machine-learning rows pair a trainer with another customer's phone reading of the same millisecond ` +
      '(the seed\'s timestamp-only join); --ml-join same-customer excludes them')
  }
  const audit = report.audit
  if (audit !== undefined && !audit.ok) {
    const kinds = Object.entries(audit.byReason).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${num(n)}`).join(', ')
    warnings.push(`warning: the privacy audit found ${num(audit.violations)} consent violations in the machine-learning table (${kinds}): ` +
      `stedi privacy audit --lakehouse ${report.lakehouse} lists them`)
  }
  const q = report.counts.quarantined
  const quarantined = q.customer + q.accelerometer + q.step_trainer
  if (quarantined > 0) {
    warnings.push(`warning: ${num(quarantined)} landing lines are quarantined: stedi query --lakehouse ${shellWord(report.lakehouse)} "SELECT * FROM accelerometer_quarantine" ` +
      '(or customer_/step_trainer_) shows them with file, line and reason')
  }
  warnings.push(...(report.warnings.landing ?? []))
  return warnings
}

/** a word as a POSIX shell reads it back: quoted only when it has to be */
const shellWord = (s: string): string => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`

export function formatSummary (report: RunReport): string {
  const files = Object.values(report.newFiles).reduce((a, b) => a + b, 0)
  const records = Object.values(report.read).reduce((a, r) => a + r.records, 0)
  const quarantined = Object.values(report.read).reduce((a, r) => a + r.quarantined, 0)
  const what = report.status === 'unchanged'
    ? 'nothing new: tables unchanged'
    : `${num(files)} new landing files, ${num(records)} records read, ${num(quarantined)} quarantined`
  return `run ${report.runId} ${report.status} in ${formatDurationMs(report.durationMs)}: ${what}; ` +
    `${num(report.counts.curated.machine_learning)} machine-learning rows at ${report.lakehouse}/curated/machine_learning_curated/` +
    (report.retention !== undefined ? `; ${num(report.retention.retired)} landing files retired (${num(report.retention.bytes)} bytes)` : '')
}
