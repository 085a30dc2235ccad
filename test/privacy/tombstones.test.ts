// Tombstones: the keyed hash, exact values only, and coverage up to the time of erasure.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { TombstoneMatcher, identityHash, stringLiterals } from '../../contracts/privacy.js'
import { createPipelineConfig } from '../../pipeline/config.js'
import { eraseCustomers } from '../../pipeline/privacy/erase.js'
import { T0, customer, rows, run, tempDir, writeLanding } from '../helpers/index.js'

const KEY = Buffer.from('tombstone-test-key-0123456789')

t.test('the keyed hash is HMAC-SHA256 of kind:value (checked against openssl)', async (t) => {
  const value = 'Santosh.Clayton@test.com'
  const openssl = execFileSync('openssl', ['dgst', '-sha256', '-hmac', KEY.toString()], { input: `email:${value}` }).toString()
  t.equal(identityHash(KEY, 'email', value), /([0-9a-f]{64})/.exec(openssl)![1])
  t.not(identityHash(KEY, 'email', value), identityHash(KEY, 'serial', value), 'an email and a serial never share a hash')
  t.not(identityHash(KEY, 'email', value), identityHash(Buffer.from('another-key-0123456789'), 'email', value), 'keyed')
})

t.test('exact values only, in records and in malformed lines', async (t) => {
  const m = new TombstoneMatcher(KEY, [{ kind: 'email', hash: identityHash(KEY, 'email', 'bob@x.com'), erasedAt: T0 }])
  t.ok(m.coversRecord('accelerometer', { user: 'bob@x.com', timestamp: T0 - 1 }))
  t.notOk(m.coversRecord('accelerometer', { user: 'ann.bob@x.com', timestamp: T0 - 1 }), 'not inside a longer email')
  t.notOk(m.coversRecord('accelerometer', { user: 'bob@x.com', timestamp: T0 + 1 }), 'not a reading dated after the erasure')
  t.ok(m.coversRecord('accelerometer', { user: 'bob@x.com', timestamp: 'soon' }), 'a record without a usable date is covered')
  t.ok(m.coversRaw('{"user": "bob@x.com", "timestamp": '), 'a truncated line naming the email')
  t.ok(m.coversRaw('{"user": "bob\\u0040x.com"}'), 'an escaped spelling of it')
  t.notOk(m.coversRaw('{"user": "ann.bob@x.com" bob@x.com'), 'not an unquoted or partial occurrence')
  t.same(stringLiterals('{"a": "x\\"y", "b": 1}'), ['a', 'x"y', 'b'])
})

t.test('ingestion honours tombstones up to the erasure, and a customer who registers again is not silenced', async (t) => {
  const dir = await tempDir(t)
  const landing = path.join(dir, 'landing')
  const lakehouse = path.join(dir, 'lakehouse')
  const consent = { shareWithResearchAsOfDate: T0 }
  await writeLanding(landing, 'customer', 'customer-1.json', [customer('bob@x.com', 'sn-bob', consent), customer('ann.bob@x.com', 'sn-ann', consent)])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [
    { user: 'bob@x.com', timestamp: T0 + 10, x: 1, y: 0, z: 0 }, { user: 'ann.bob@x.com', timestamp: T0 + 10, x: 1, y: 0, z: 0 }
  ])
  await writeLanding(landing, 'step_trainer', 'step_trainer-1.json', [
    { sensorReadingTime: T0 + 10, serialNumber: 'sn-bob', distanceFromObject: 250 }, { sensorReadingTime: T0 + 10, serialNumber: 'sn-ann', distanceFromObject: 250 }
  ])
  await run({ landingDir: landing, lakehouseDir: lakehouse })
  const erasedAt = T0 + 1000
  await eraseCustomers(createPipelineConfig({ landingDir: landing, lakehouseDir: lakehouse, threads: 2, privacyKey: KEY }), { emails: ['bob@x.com'], erasedAt })
  t.same((await rows(lakehouse, 'SELECT email FROM customer_trusted')).map((r) => r.email), ['ann.bob@x.com'], 'only bob is gone')

  // redelivered old records, a malformed line naming bob, and bob registering again later
  await writeLanding(landing, 'customer', 'customer-2.json', [
    customer('bob@x.com', 'sn-bob', consent), '{"email": "bob@x.com", "serialNumber": ', customer('bob@x.com', 'sn-bob2', { ...consent, registrationDate: erasedAt + 5, lastUpdateDate: erasedAt + 5 })
  ])
  await writeLanding(landing, 'accelerometer', 'accelerometer-2.json', [
    { user: 'bob@x.com', timestamp: T0 + 10, x: 1, y: 0, z: 0 }, { user: 'bob@x.com', timestamp: erasedAt + 10, x: 0, y: 1, z: 0 }
  ])
  await writeLanding(landing, 'step_trainer', 'step_trainer-2.json', [
    { sensorReadingTime: T0 + 10, serialNumber: 'sn-bob', distanceFromObject: 250 },
    // the resold trainer's next owner is bob's second registration here; its new readings count
    { sensorReadingTime: erasedAt + 10, serialNumber: 'sn-bob2', distanceFromObject: 260 }
  ])
  const report = await run({ landingDir: landing, lakehouseDir: lakehouse, privacyKey: KEY })
  t.same(report.accounting!.customer.filtered.erased, 2, 'the old customer record: once erased, once dropped at ingestion')
  t.same(report.accounting!.accelerometer.filtered.erased, 2)
  t.same(report.accounting!.step_trainer.filtered.erased, 2)
  t.equal(report.read.customer.erased, 2, 'this run dropped the redelivered record and the malformed line naming bob')
  t.same(await rows(lakehouse, "SELECT count(*) AS n FROM customer_quarantine WHERE raw LIKE '%bob@x.com%'"), [{ n: 0 }], 'the malformed line did not reach quarantine')
  t.same((await rows(lakehouse, "SELECT serialNumber FROM customer_trusted WHERE email = 'bob@x.com'")).map((r) => r.serialNumber), ['sn-bob2'], 'bob registered again after the erasure is a customer')
  t.same((await rows(lakehouse, "SELECT timestamp FROM accelerometer_trusted WHERE user = 'bob@x.com'")).map((r) => Number(r.timestamp)), [erasedAt + 10], 'only his readings after the erasure')
  for (const a of Object.values(report.accounting!)) t.equal(a.trusted + Object.values(a.filtered).reduce((x, y) => x + y, 0), a.landing)
})
