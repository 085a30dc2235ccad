// Erasure on the published data: every copy goes, the tables equal a build without the customer's
// records, and a redelivered file brings nothing back.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { identityHash } from '../../contracts/privacy.js'
import { parseLocation } from '../../common/storage-location.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { eraseCustomers } from '../../pipeline/privacy/erase.js'
import { scanPlaces } from '../../pipeline/privacy/scan.js'
import { auditLakehouse } from '../../pipeline/privacy/audit.js'
import { PUBLISHED, fingerprint, rows, run, tempDir } from '../helpers/index.js'
import { diffLakehouses } from '../helpers/spark.js'

const KEY = Buffer.from('test-privacy-key-0123456789abcdef')

/** The published landing with some lines left out, decided here from each line's own fields. */
async function copyLanding (to: string, drop: (record: Record<string, unknown>) => boolean = () => false): Promise<void> {
  for (const dir of ['customer/landing', 'accelerometer/landing', 'step_trainer/landing']) {
    await fs.mkdir(path.join(to, dir), { recursive: true })
    for (const name of await fs.readdir(path.join(PUBLISHED, dir))) {
      const lines = (await fs.readFile(path.join(PUBLISHED, dir, name), 'utf8')).split('\n')
      await fs.writeFile(path.join(to, dir, name), lines.filter((l) => l.trim() === '' || !drop(JSON.parse(l) as Record<string, unknown>)).join('\n'))
    }
  }
}

const scan = async (landing: string, lakehouse: string, email: string, serial: string) =>
  await scanPlaces([
    { name: 'landing', location: parseLocation(landing, '--landing') },
    { name: 'lakehouse', location: parseLocation(lakehouse, '--lakehouse') }
  ], { emails: [email], serials: [serial] }, undefined)

t.test('erasing a customer of the published data', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lakehouse')
  await copyLanding(landing)
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  // older versions a reader may still use: the erasure must reach them as well
  await run({ landingDir: landing, lakehouseDir: lakehouse, mlJoin: 'same-customer' })
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  // a customer whose trainer the seed's join pairs with somebody else's phone
  const [who] = await rows(lakehouse, `SELECT c.email, c.serialNumber, count(*) AS n FROM machine_learning_curated m
    JOIN customer_curated c ON c.serialNumber = m.serialNumber WHERE m.user <> c.email GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 1`)
  const email = String(who.email)
  const serial = String(who.serialNumber)
  t.ok(Number(who.n) > 0, 'the customer has cross-customer pairs in the machine-learning table')
  const before = await scan(landing, lakehouse, email, serial)
  t.ok(before.occurrences.some((o) => o.place === 'landing') && before.occurrences.some((o) => o.seen === 'parquet'),
    'before erasure the scan finds the customer in landing files and decoded Parquet')

  // the reference: the same landing without the customer's records, built from scratch
  const refLanding = path.join(dir, 'ref-landing')
  const refLakehouse = path.join(dir, 'ref-lakehouse')
  await copyLanding(refLanding, (r) => r.email === email || r.user === email || r.serialNumber === serial)
  await run({ landingDir: refLanding, lakehouseDir: refLakehouse })

  const config = createPipelineConfig({ landingDir: landing, lakehouseDir: lakehouse, threads: 2, privacyKey: KEY })
  const { receipt, tombstones } = await eraseCustomers(config, { emails: [email] })
  t.equal(tombstones.length, 2, 'one tombstone for the email, one for the serial number')
  t.same(tombstones.map((x) => x.hash).sort(), [identityHash(KEY, 'email', email), identityHash(KEY, 'serial', serial)].sort())
  t.ok(receipt.landing.filesRewritten >= 3 && receipt.landing.linesRemoved > 0, 'landing files of all three datasets rewritten')
  t.ok(receipt.lakehouse.versionsRewritten > 11, `retained older versions rewritten too (${receipt.lakehouse.versionsRewritten} versions)`)
  t.notOk(JSON.stringify(receipt).includes(email) || JSON.stringify(receipt).includes(serial), 'the receipt names nobody in clear')
  t.ok(receipt.durationMs < 60_000, `erasure took ${receipt.durationMs} ms`)

  const after = await scan(landing, lakehouse, email, serial)
  t.same(after.occurrences, [], 'no byte of landing or lakehouse holds the email or the serial number')
  t.ok(after.files > 20, `the scan read ${after.files} files`)

  for (const d of await diffLakehouses(lakehouse, refLakehouse)) {
    if (d.table === 'customer_landing') continue // line numbers differ: the reference's files are shorter
    t.same([d.onlyA, d.onlyB, d.rowsA], [0, 0, d.rowsB], `${d.table} equals the build without the customer`)
  }
  t.same(await fingerprint(lakehouse, 'customer_landing'), await fingerprint(refLakehouse, 'customer_landing'), 'customer_landing equals it too (lineage aside)')
  const [ml] = await rows(lakehouse, 'SELECT count(*) AS n FROM machine_learning_curated')
  const [refMl] = await rows(refLakehouse, 'SELECT count(*) AS n FROM machine_learning_curated')
  t.equal(ml.n, refMl.n, `machine-learning rows ${String(ml.n)} (the pairs with other customers' phones went too)`)

  // erasing again changes nothing
  const again = await eraseCustomers(config, { emails: [email] })
  t.same([again.receipt.landing.filesRewritten, again.receipt.lakehouse.filesRewritten], [0, 0], 'a second erasure finds nothing to do')

  // the audit reads the rewritten landing files as the ones the run read, less the erased lines
  const audit = await auditLakehouse(lakehouse, { landingDir: landing })
  t.match(audit, { ok: true, violations: 0, source: { kind: 'landing', notYetRead: 0, missing: 0 } }, 'the audit after the erasure: no warning about rewritten files')

  // redelivered files (the originals, under new names) bring nothing back, and the accounting balances
  for (const [dir, name] of [['customer/landing', 'customer-1691348231425.json']] as const) {
    await fs.copyFile(path.join(PUBLISHED, dir, name), path.join(landing, dir, `redelivered-${name}`))
  }
  for (const dir of ['accelerometer/landing', 'step_trainer/landing']) {
    for (const name of await fs.readdir(path.join(PUBLISHED, dir))) {
      await fs.copyFile(path.join(PUBLISHED, dir, name), path.join(landing, dir, `redelivered-${name}`))
    }
  }
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse, privacyKey: KEY })
  t.same((await scan(landing, lakehouse, email, serial)).occurrences.filter((o) => o.place === 'lakehouse'), [], 'the redelivery reached no table')
  for (const d of await diffLakehouses(lakehouse, refLakehouse)) {
    if (d.table.endsWith('_trusted') || d.table.endsWith('_curated')) t.same([d.onlyA, d.onlyB], [0, 0], `${d.table} unchanged by the redelivery`)
  }
  const acc = report.accounting!
  const erasedRecords = acc.accelerometer.filtered.erased ?? 0
  t.ok(erasedRecords > 0 && (acc.step_trainer.filtered.erased ?? 0) > 0 && (acc.customer.filtered.erased ?? 0) > 0, 'records covered by tombstones are filtered out as erased')
  for (const a of Object.values(acc)) t.equal(a.trusted + Object.values(a.filtered).reduce((x, y) => x + y, 0), a.landing, 'landing = trusted + filtered')

  // without the key, or with another, a run refuses
  await t.rejects(run({ landingDir: landing, lakehouseDir: lakehouse }), { code: 'PIPE_ERR_PRIVACY_KEY' })
  await t.rejects(run({ landingDir: landing, lakehouseDir: lakehouse, privacyKey: Buffer.from('another-key-0123456789abcdef') }), { code: 'PIPE_ERR_PRIVACY_KEY' })
})
