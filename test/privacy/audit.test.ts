// `stedi privacy audit` and the audit every run makes of its own machine-learning table: the
// published data passes under both consent policies; a machine-learning version that holds a row of a
// customer without consent, of nobody, or (strict) from before consent fails with exit 1 and the
// reason; so does a consent dated after the run (which the jobs leave out).
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES, type TableName } from '../../contracts/lakehouse.js'
import { defineAllViews } from '../../pipeline/catalog.js'
import { createDuckDbEngine, sqlString } from '../../pipeline/engine/duckdb.js'
import { beginLocalRun } from '../../pipeline/lakehouse.js'
import { auditLakehouse, auditRows } from '../../pipeline/privacy/audit.js'
import { latestRecords, parseCustomerLines } from '../../pipeline/privacy/customers.js'
import { openSnapshot } from '../../pipeline/snapshot.js'
import { newTableFile } from '../../pipeline/storage.js'
import { PUBLISHED, T0, cli, customer, run, tempDir, writeLanding } from '../helpers/index.js'

/**
 * Commits a new machine_learning_curated version the way a run does (its own run in the state, a new
 * immutable file, one commit): the current rows plus those `extraSql` selects over the zone tables.
 */
async function commitTamperedMl (lakehouse: string, options: { consentPolicy: string, mlJoin: string }, extraSql: string): Promise<Array<Record<string, unknown>>> {
  const snapshot = await openSnapshot(lakehouse)
  const files = new Map<TableName, string[]>()
  for (const table of TABLE_NAMES) {
    const v = snapshot.versions.get(table)
    if (v !== undefined) files.set(table, await snapshot.paths(v))
  }
  const current = snapshot.versions.get('machine_learning_curated')!
  const lh = await beginLocalRun(lakehouse, { ...options, fullRefresh: false }, 0)
  const engine = await createDuckDbEngine({ threads: 2, memoryLimitMb: 256, tempDir: path.join(lakehouse, '_state/tmp') })
  try {
    await defineAllViews(engine, files)
    const extra = await engine.rows(extraSql)
    const file = newTableFile('machine_learning_curated', lh.runId, current.version + 1)
    await engine.exec(`COPY (SELECT * FROM machine_learning_curated UNION ALL SELECT * FROM (${extraSql})) TO ${sqlString(lh.uri(file))} (FORMAT parquet)`)
    await lh.durable([file])
    await lh.commit({
      status: 'ok', fullRefresh: false, files: [],
      versions: [{ table: 'machine_learning_curated', version: current.version + 1, runId: lh.runId, rows: current.rows + extra.length, files: [file] }],
      report: { tampered: true }
    })
    return extra
  } finally {
    engine.close()
    await lh.close()
  }
}

const ML_SELECT = 'SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a.user, a.timestamp, a.x, a.y, a.z'

t.test('the published data passes under seed and strict, from customer_landing and from the landing files; the run report agrees', async (t) => {
  for (const [policy, mlRows] of [['seed', 43681], ['strict', 34253]] as const) {
    const lakehouse = await tempDir(t)
    const report = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse, consentPolicy: policy })
    t.match(report.audit, { ok: true, rows: mlRows, violations: 0 }, `${policy}: the run audited its own table`)
    t.type(report.timingsMs.audit, 'number')
    const fromTable = await auditLakehouse(lakehouse)
    t.match(fromTable, { ok: true, rows: mlRows, violations: 0, consentPolicy: policy, customerRecords: 956, source: { kind: 'customer_landing' } })
    const fromLanding = await auditLakehouse(lakehouse, { landingDir: PUBLISHED })
    t.match(fromLanding, { ok: true, rows: mlRows, violations: 0, customerRecords: 956, source: { kind: 'landing', files: 1, notYetRead: 0, missing: 0 } })
    t.equal(fromLanding.customers, policy === 'seed' ? 482 : 464)
    if (policy === 'seed') {
      const out = await cli(['privacy', 'audit', '--lakehouse', lakehouse, '--landing', PUBLISHED])
      t.equal(out.code, 0, out.stderr)
      t.match(out.stdout, /43,681 rows checked, 482 customers: no violation/)
    }
  }
})

t.test('a machine-learning version with rows of a customer without consent and of nobody fails: exit 1, the reasons, no email', async (t) => {
  const lakehouse = await tempDir(t)
  await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse })
  const [row] = await commitTamperedMl(lakehouse, { consentPolicy: 'seed', mlJoin: 'seed' },
    `SELECT * FROM (${ML_SELECT} FROM step_trainer_landing s JOIN customer_landing c ON c.serialNumber = s.serialNumber
       JOIN accelerometer_landing a ON a.user = c.email AND a.timestamp = s.sensorReadingTime
       WHERE c.shareWithResearchAsOfDate IS NULL ORDER BY s.sensorReadingTime LIMIT 1)
     UNION ALL SELECT ${T0}, 'no-such-serial', 250, 'nobody@example.com', ${T0}, 0.0, 0.0, 0.0`)
  const a = await auditLakehouse(lakehouse, { landingDir: PUBLISHED })
  t.match(a, { ok: false, rows: 43683, violations: 4, violatingRows: 2, byReason: { no_consent: 2, unknown_customer: 2, consent_after_run: 0, before_consent_strict: 0 } })
  const out = await cli(['privacy', 'audit', '--lakehouse', lakehouse])
  t.equal(out.code, 1, out.stderr)
  t.match(out.stdout, /43,683 rows checked, .*: 4 violations in 2 rows \(unknown_customer 2, no_consent 2\)/)
  t.match(out.stdout, /no_consent +phone_user +customer [0-9a-f]{12}/)
  t.match(out.stdout, /unknown_customer +trainer_owner +serial [0-9a-f]{12}/)
  t.notMatch(out.stdout, String(row.user), 'the email is not printed')
  t.notMatch(out.stdout, 'nobody@example.com')
  const json = await cli(['privacy', 'audit', '--lakehouse', lakehouse, '--json', '--limit', '1'])
  t.equal(json.code, 1)
  const parsed = JSON.parse(json.stdout) as { listed: unknown[], byReason: Record<string, number> }
  t.equal(parsed.listed.length, 1)
  t.equal(parsed.byReason.no_consent, 2)
})

t.test('under strict, a reading from before the customer\'s consent fails', async (t) => {
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse, consentPolicy: 'strict' })
  t.equal(report.audit?.ok, true)
  await commitTamperedMl(lakehouse, { consentPolicy: 'strict', mlJoin: 'seed' },
    `${ML_SELECT} FROM step_trainer_landing s JOIN customer_landing c ON c.serialNumber = s.serialNumber
     JOIN accelerometer_landing a ON a.user = c.email AND a.timestamp = s.sensorReadingTime
     WHERE c.shareWithResearchAsOfDate > s.sensorReadingTime ORDER BY s.sensorReadingTime LIMIT 1`)
  const out = await cli(['privacy', 'audit', '--lakehouse', lakehouse, '--landing', PUBLISHED, '--json'])
  t.equal(out.code, 1, out.stderr)
  t.match(JSON.parse(out.stdout), { ok: false, consentPolicy: 'strict', rows: 34254, violations: 2, violatingRows: 1, byReason: { before_consent_strict: 2 } })
})

t.test('a consent dated after the run\'s start: the jobs leave it out; a table that holds it fails the audit; a withdrawal not yet read does not count', async (t) => {
  const landing = await tempDir(t)
  const lakehouse = await tempDir(t)
  const future = Date.UTC(2099, 0, 1)
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('ann@example.com', 'serial-ann', { shareWithResearchAsOfDate: T0 }),
    customer('bob@example.com', 'serial-bob', { shareWithResearchAsOfDate: future })
  ])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [
    { user: 'ann@example.com', timestamp: T0 + 1000, x: 1, y: 0, z: 0 },
    { user: 'bob@example.com', timestamp: T0 + 2000, x: 1, y: 0, z: 0 }
  ])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [
    { sensorReadingTime: T0 + 1000, serialNumber: 'serial-ann', distanceFromObject: 250 },
    { sensorReadingTime: T0 + 2000, serialNumber: 'serial-bob', distanceFromObject: 250 }
  ])
  const out = await cli(['pipeline', 'run', '--landing', landing, '--lakehouse', lakehouse, '--ml-join', 'same-customer', '--json'])
  t.equal(out.code, 0, out.stderr)
  const report = JSON.parse(out.stdout)
  t.match(report.audit, { ok: true, rows: 1, violations: 0 }, 'bob\'s consent dated 2099 has not been given yet: only ann\'s row')
  t.equal(report.accounting.customer.filtered.no_consent, 1, 'bob is filtered out for no consent')

  // a table that holds bob's row anyway (written by anything but these jobs) fails the audit
  await commitTamperedMl(lakehouse, { consentPolicy: 'seed', mlJoin: 'same-customer' },
    `${ML_SELECT} FROM step_trainer_landing s JOIN accelerometer_landing a ON a.timestamp = s.sensorReadingTime
     WHERE s.serialNumber = 'serial-bob' AND a.user = 'bob@example.com'`)
  const audit = await cli(['privacy', 'audit', '--lakehouse', lakehouse, '--landing', landing])
  t.equal(audit.code, 1)
  t.match(audit.stdout, /2 rows checked, 2 customers: 2 violations in 1 rows \(consent_after_run 2\)/)

  // ann withdraws; until a run reads that file, the audited table is judged by what its run read
  await writeLanding(landing, 'customer', 'customer-2.json', [customer('ann@example.com', 'serial-ann', { lastUpdateDate: T0 + 5000 })])
  const before = await auditLakehouse(lakehouse, { landingDir: landing })
  t.match(before, { byReason: { no_consent: 0, consent_after_run: 2 }, source: { files: 1, notYetRead: 1 } })
  const second = await run({ landingDir: landing, lakehouseDir: lakehouse, mlJoin: 'same-customer' })
  t.match(second.audit, { ok: true, rows: 0, violations: 0 }, 'ann is gone, and the run rebuilt the table without bob')
})

t.test('a run whose audit fails is flagged: its report\'s warning names the violations and the command that lists them', async (t) => {
  const { formatWarnings } = await import('../../pipeline/report.js')
  const lakehouse = await tempDir(t)
  const report = await run({ landingDir: PUBLISHED, lakehouseDir: lakehouse })
  t.same(formatWarnings(report).filter((w) => w.includes('privacy audit')), [], 'a passing audit adds no warning')
  const failed = { ...report, audit: { ...report.audit!, ok: false, violations: 3, byReason: { ...report.audit!.byReason, no_consent: 3 } } }
  t.match(formatWarnings(failed).join('\n'), /warning: the privacy audit found 3 consent violations in the machine-learning table \(no_consent 3\): stedi privacy audit --lakehouse /)
})

t.test('customer records: unreadable lines skipped, the latest record by lastUpdateDate then arrival', async (t) => {
  const c = (email: string, extra: Record<string, unknown>): string => JSON.stringify(customer(email, `s-${email}`, extra))
  const text = '\uFEFF' + [c('a@x', { shareWithResearchAsOfDate: T0 }), '{"not": json', '', '[1]',
    JSON.stringify({ email: '', serialNumber: 's' }), c('b@x', { lastUpdateDate: 1 }), c('a@x', {})].join('\r\n') + '\r\n'
  const records = parseCustomerLines(text, 'customer/landing/c.json', 3)
  t.same(records.map((r) => [r.email, r.line]), [['a@x', 1], ['a@x', 7]], 'b@x has an out-of-range date; the rest do not parse or lack a field')
  t.equal(latestRecords(records).get('a@x')?.shareWithResearchAsOfDate, null, 'a tie on lastUpdateDate goes to the later line')
  const earlierRun = parseCustomerLines(c('a@x', { shareWithResearchAsOfDate: T0 }), 'customer/landing/z.json', 2)
  t.same(latestRecords([...records, ...earlierRun]).get('a@x'), { ...earlierRun[0] }, 'a later file name wins a tie over a later run (the order customer_landing_to_trusted.sql ranks by: of the files, not of the runs)')
  const f = auditRows([{ user: 'a@x', serialNumber: 's-a@x', sensorReadingTime: T0, timestamp: T0 }], records, { runId: 3, startedAtMs: T0 + 1, consentPolicy: 'seed' })
  t.match(f, { ok: false, violations: 2, byReason: { no_consent: 2 } })
})
