// Issue 12 on Spark: an erased customer does not come back when a landing file holding their
// records is redelivered. The jobs drop new records and quarantined lines a tombstone covers, count
// them (filtered out as `erased`), and refuse to run without the key the tombstones were made with.
import path from 'node:path'
import t from 'tap'
import { TABLE_NAMES } from '../../contracts/lakehouse.js'
import type { DatasetName } from '../../contracts/datasets.js'
import { cli, rows, tempDir } from '../helpers/index.js'
import { PRIVACY_KEY, addVictimTombstones, erasedLanding, redeliver } from './privacy-landing.js'

t.setTimeout(900_000)

const DATASETS: DatasetName[] = ['customer', 'accelerometer', 'step_trainer']

t.test('a redelivered landing file does not bring an erased customer back', async (t) => {
  const root = await tempDir(t)
  const landing = path.join(root, 'landing')
  const lakehouse = path.join(root, 'lake')
  const first = await erasedLanding(landing)
  const spark = async (env: NodeJS.ProcessEnv = {}): ReturnType<typeof cli> =>
    await cli(['pipeline', 'run', '--engine', 'spark', '--spark-master', 'local[2]', '--landing', landing, '--lakehouse', lakehouse, '--json'],
      { cwd: root, env: { STEDI_PRIVACY_KEY: PRIVACY_KEY, ...env } })
  const before = await spark({ STEDI_PRIVACY_KEY: '' })
  t.equal(before.code, 0, 'a lakehouse without tombstones needs no key', { stderr: before.stderr.slice(-2000) })

  const erasure = await redeliver(landing, first)
  await addVictimTombstones(lakehouse, erasure.email, erasure.serial, erasure.erasedAt)

  const noKey = await spark({ STEDI_PRIVACY_KEY: '', STEDI_PRIVACY_KEY_FILE: path.join(root, 'no-such-key') })
  t.equal(noKey.code, 1, 'without the key the run fails')
  t.match(noKey.stderr, /holds tombstones of erased customers and no privacy key is set: set STEDI_PRIVACY_KEY.*\[PIPE_ERR_PRIVACY_KEY\]/)
  const wrongKey = await spark({ STEDI_PRIVACY_KEY: 'another-key-of-enough-length' })
  t.equal(wrongKey.code, 1, 'with another key the run fails')
  t.match(wrongKey.stderr, /the privacy key \(fingerprint [0-9a-f]{16}\) is not the one the tombstones .* were made with.*\[PIPE_ERR_PRIVACY_KEY\]/)
  const unread = await rows(lakehouse, "SELECT count(*) AS n FROM customer_landing WHERE _file LIKE '%1655700000000%'")
  t.equal(Number(unread[0].n), 0, 'the refused runs read nothing')

  const res = await spark()
  t.equal(res.code, 0, 'with the key the run succeeds', { stderr: res.stderr.slice(-3000) })
  const report = JSON.parse(res.stdout) as {
    read: Record<DatasetName, { records: number, quarantined: number, erased?: number }>
    accounting: Record<DatasetName, { landing: number, trusted: number, filtered: Record<string, number>, quarantined: number }>
  }
  for (const d of DATASETS) {
    t.ok(erasure.dropped[d] > 0, `${d}: the redelivery holds the erased customer's records (${erasure.dropped[d]})`)
    const a = report.accounting[d]
    t.equal(a.filtered.erased, erasure.dropped[d], `${d}: the dropped records are filtered out as erased`)
    t.equal(a.landing, a.trusted + Object.values(a.filtered).reduce((x, y) => x + y, 0), `${d}: the accounting balances`)
    t.equal(report.read[d].erased, erasure.dropped[d] + erasure.droppedQuarantined[d], `${d}: the read section counts what was dropped`)
    t.equal(report.read[d].records, erasure.after[d], `${d}: the records dated after the erasure were read`)
    const [landed] = await rows(lakehouse, `SELECT count(*) AS n FROM ${d}_landing`)
    t.equal(a.landing, Number(landed.n) + erasure.dropped[d], `${d}: landing is the table's rows and the erased records`)
  }
  t.equal(report.read.customer.quarantined, 1, 'the malformed line naming nobody was quarantined')
  t.match((JSON.parse(res.stdout) as { audit?: unknown }).audit, { ok: true, violations: 0 }, 'the Spark run\'s machine-learning table is audited as an embedded run\'s')

  // every table, scanned: the victim appears only in records dated after the erasure
  const names = (r: Record<string, unknown>): boolean =>
    r.email === erasure.email || r.user === erasure.email || r.serialNumber === erasure.serial
  const dated = (r: Record<string, unknown>): number[] => ['lastUpdateDate', 'timestamp', 'sensorReadingTime']
    .filter((c) => r[c] !== undefined && r[c] !== null).map((c) => Number(r[c]))
  for (const table of TABLE_NAMES) {
    const all = await rows(lakehouse, `SELECT * FROM ${table}`)
    if (table.endsWith('_quarantine')) {
      t.equal(all.filter((r) => String(r.raw).includes(erasure.email) || String(r.raw).includes(erasure.serial) || String(r.raw).includes('\\u0040')).length, 0,
        `${table} holds no line naming the erased customer`)
      continue
    }
    const named = all.filter(names)
    t.ok(named.every((r) => dated(r).length > 0 && dated(r).every((d) => d > erasure.erasedAt)), `${table}: only records dated after the erasure name the customer`,
      { found: named.slice(0, 3) })
    if (table.endsWith('_landing')) t.equal(named.length, erasure.afterNamingVictim[table.replace('_landing', '') as DatasetName], `${table} kept the records dated after the erasure`)
  }
  const trusted = await rows(lakehouse, `SELECT count(*) AS n FROM accelerometer_trusted WHERE user = '${erasure.email}'`)
  t.equal(Number(trusted[0].n), 2, 'the readings after the customer registered again reach trusted')

  // nothing new: the erased totals stay as they are
  const idle = await spark()
  t.equal(idle.code, 0, { stderr: idle.stderr.slice(-2000) })
  const again = JSON.parse(idle.stdout) as typeof report
  t.same(again.accounting, report.accounting, 'an idle run reports the same accounting')
})
