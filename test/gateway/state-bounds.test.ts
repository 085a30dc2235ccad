// Issue 10, case 8: one device within its rate wrote about 1.4 MB/s of its own text into the
// rejections table (identity mismatch details); kept 7 days, that filled the state disk, and then
// nobody was acknowledged. Rejection records are now capped per device (a detail is truncated, a
// message itemizes its first few, a device has a budget of itemized rows; the rest are counted),
// and the state has a size budget that readiness reports.
import t from 'tap'
import { openDatabase } from '../../common/sqlite.js'
import { connectDevice, credential, ledger, publishAllInFlight, startGateway } from '../helpers/gateway.js'
import path from 'node:path'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('a device sending its own text as refused readings writes a bounded, capped ledger', async (t) => {
  const gw = await startGateway(t, { rejectionRecords: { perSecond: 5, burst: 50 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'loud@test.com')
  const junk = 'x'.repeat(400)
  // 40 messages of 400 readings that each name another user with 400 characters: 6.4 MB of text
  for (let seq = 0; seq < 40; seq++) {
    const readings = Array.from({ length: 400 }, (_, k) => ({ user: `${junk}${k}`, timestamp: 1655564444103 + k, x: 0, y: 0, z: 0 }))
    await device.publishAsync('stedi/v1/accelerometer/loud@test.com/readings', JSON.stringify({ seq, readings }), { qos: 1 })
  }
  await gw.gateway.batcher.drain()
  const db = await openDatabase(path.join(gw.state, 'ledger.sqlite'), { readOnly: true })
  t.teardown(async () => { await db.close() })
  const stats = await db.get<{ n: number, longest: number, bytes: number }>('SELECT count(*) AS n, max(length(detail)) AS longest, sum(length(detail)) AS bytes FROM rejections')
  t.ok(stats!.n <= 60, `${stats!.n} itemized rejections for 16,000 refused readings`)
  t.ok(stats!.longest <= 160, `details truncated (longest ${stats!.longest})`)
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'accelerometer', reason: 'identity_mismatch' }), 16_000, 'every refused reading is still counted')
  t.ok(gw.gateway.metrics.notItemized.get({ dataset: 'accelerometer' }) >= 15_900)
  const answer = await ledger(gw.httpUrl, 'accelerometer', 'loud@test.com', { seq: 39 })
  t.ok(answer.notItemized.identity_mismatch >= 15_900, 'the ledger says how many were counted but not itemized')
  const total = await db.get<{ n: number }>('SELECT sum(count) AS n FROM rejection_totals')
  t.equal(total!.n + stats!.n, 16_000, 'itemized + counted = refused')
})

t.test('over its size budget the state sheds landed data early; when nothing can go, new readings are refused and readiness says why', async (t) => {
  const gw = await startGateway(t, { maxStateBytes: 2 * 1024 * 1024, batch: { maxAgeMs: 20 }, maxAckDelayMs: 200, rateLimit: { readingsPerSecond: 1e6, burst: 1e6 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'big@test.com')
  const topic = 'stedi/v1/accelerometer/big@test.com/readings'
  const batch = (seq: number): string => JSON.stringify({ seq, readings: Array.from({ length: 500 }, (_, k) => ({ timestamp: 1655564444103 + seq * 1000 + k, x: 1, y: 0, z: -1 })) })
  for (let seq = 0; seq < 100; seq++) await device.publishAsync(topic, batch(seq), { qos: 1 })
  await gw.gateway.batcher.drain()
  await gw.gateway.state.check()
  t.ok(gw.gateway.state.usedBytes() <= 2 * 1024 * 1024, `within its budget after shedding (${gw.gateway.state.usedBytes()} bytes)`)
  t.ok(gw.gateway.state.retentionMs() < 7 * 86_400_000, 'landed readings are kept for a shorter time, and /metrics says so')
  t.match(await (await fetch(`${gw.httpUrl}/metrics`)).text(), /stedi_state_retention_seconds \d/)
  t.equal((await fetch(`${gw.httpUrl}/readyz`)).status, 200, 'still ready: it made room')
  await gw.gateway.close()

  // a gateway whose sink holds everything: nothing landed can go
  const stuck = await startGateway(t, { maxStateBytes: 1024 * 1024, batch: { maxAgeMs: 3_600_000 }, maxAckDelayMs: 200, rateLimit: { readingsPerSecond: 1e6, burst: 1e6 } })
  const phone = await connectDevice(t, stuck.mqttUrl, 'accelerometer', 'big@test.com')
  for (let seq = 0; seq < 60; seq++) await phone.publishAsync(topic, batch(seq), { qos: 1 })
  await stuck.gateway.state.check()
  t.ok(stuck.gateway.state.full(), 'full')
  const ready = await fetch(`${stuck.httpUrl}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { failing: 'state', checks: { state: /MB of its 1 MB budget/ } })
  const { acked } = await publishAllInFlight(phone, topic, [batch(100)])
  t.same(acked, [], 'a new reading is not acknowledged')
  const res = await fetch(`${stuck.httpUrl}/v1/readings/accelerometer`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential('accelerometer', 'big@test.com')}` }, body: batch(101) })
  t.equal(res.status, 503)
  await stuck.gateway.batcher.drain()
  await sleep(10)
  await stuck.gateway.state.check()
  t.equal(stuck.gateway.state.full(), false, 'room again once it landed')
})
