// Issue 10, case 7: GET /v1/records?timestamp= re-read and re-split whole landing flushes for every
// matching delivery, so one cheap request cost seconds of CPU. The ledger now keeps where each
// delivery landed (its flush's layout: where each segment starts, where each part starts), so an
// answer costs what the answer holds. These tests check the answers against the files, and that
// answering never rebuilds a flush's files.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { FlushLog } from '../../gateway/outbox/flushes.js'
import { connectDevice, credential, ledger, startGateway } from '../helpers/gateway.js'

const phone = 'ledger@test.com'
const topic = `stedi/v1/accelerometer/${phone}/readings`
const T0 = 1655564444103
const batch = (seq: number, n: number): string => JSON.stringify({ seq, readings: Array.from({ length: n }, (_, k) => ({ timestamp: T0 + seq * 100 + k, x: 1, y: 0, z: -1 })) })

t.test('every delivery is found in the file and at the record the ledger names, without rebuilding any flush', async (t) => {
  // small files, so that flushes have many parts; redeliveries in between, so that segments have skips
  const gw = await startGateway(t, { batch: { maxRecords: 7, maxAgeMs: 3_600_000 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  for (let seq = 0; seq < 30; seq++) {
    await device.publishAsync(topic, batch(seq, 1 + (seq % 5)), { qos: 1 })
    if (seq % 4 === 3) {
      await gw.gateway.outbox.settle()
      await device.publishAsync(topic, batch(seq - 2, 1 + ((seq - 2) % 5)), { qos: 1, dup: true })
    }
  }
  await gw.gateway.batcher.drain()
  const dir = path.join(gw.landing, 'accelerometer/landing')
  const files = new Map<string, string[]>()
  for (const f of await fs.readdir(dir)) files.set(f, (await fs.readFile(path.join(dir, f), 'utf8')).trim().split('\n'))
  t.ok(files.size > 5, `${files.size} files`)

  const rebuilt: unknown[] = []
  const original = FlushLog.prototype.files
  FlushLog.prototype.files = async function (this: FlushLog, flush) { rebuilt.push(flush.id); return await original.call(this, flush) }
  t.teardown(() => { FlushLog.prototype.files = original })

  for (let seq = 0; seq < 30; seq++) {
    const bySeq = await ledger(gw.httpUrl, 'accelerometer', phone, { seq })
    t.equal(bySeq.readings.length, 1 + (seq % 5), `seq ${seq}: all its readings`)
    for (const r of bySeq.readings) {
      t.equal(r.status, 'landed')
      t.ok(files.get(r.file)?.includes(JSON.stringify(r.record)), `seq ${seq}: ${String(r.record.timestamp)} is in ${String(r.file)}`)
    }
    const byTime = await ledger(gw.httpUrl, 'accelerometer', phone, { timestamp: T0 + seq * 100 })
    t.same(byTime.readings.map((r: any) => r.file), [bySeq.readings[0].file], `timestamp of seq ${seq}: the same file`)
  }
  t.same(rebuilt, [], 'no flush was rebuilt to answer')
})

t.test('an answer costs what it holds: batches that each span years cannot make an empty answer read them all', async (t) => {
  const gw = await startGateway(t, { rateLimit: { readingsPerSecond: 1e6, burst: 1e7 }, batch: { maxAgeMs: 20 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'wide@test.com')
  const from = Date.UTC(2015, 0, 2)
  for (let seq = 0; seq < 12; seq++) {
    // each batch: its first reading in 2015, its last today, none at the time asked below
    const readings = Array.from({ length: 1000 }, (_, k) => ({ timestamp: from + k * 300_000_000 + seq, x: 1, y: 0, z: -1 }))
    await device.publishAsync('stedi/v1/accelerometer/wide@test.com/readings', JSON.stringify({ seq, readings }), { qos: 1 })
  }
  await gw.gateway.batcher.drain()
  const answer = await ledger(gw.httpUrl, 'accelerometer', 'wide@test.com', { timestamp: from + 150_000_000 })
  t.same(answer.readings, [])
  t.equal(answer.truncated, true, 'the look-up stopped at its budget of lines and says so')
})

t.test('look-ups are rate-limited per device', async (t) => {
  const gw = await startGateway(t)
  const statuses: number[] = []
  for (let i = 0; i < 130; i++) {
    const res = await fetch(`${gw.httpUrl}/v1/records?kind=accelerometer&device=many@test.com&seq=${i}`, { headers: { authorization: `Bearer ${credential('accelerometer', 'many@test.com')}` } })
    await res.arrayBuffer()
    statuses.push(res.status)
  }
  t.ok(statuses.slice(0, 100).every((s) => s === 200), 'a burst of 100 is answered')
  t.ok(statuses.includes(429), 'then 429 with Retry-After')
  const other = await fetch(`${gw.httpUrl}/v1/records?kind=accelerometer&device=calm@test.com&seq=1`, { headers: { authorization: `Bearer ${credential('accelerometer', 'calm@test.com')}` } })
  t.equal(other.status, 200, 'another device is not held back')
  const bad = await fetch(`${gw.httpUrl}/v1/records?kind=accelerometer&device=calm@test.com&timestamp=1e400`, { headers: { authorization: `Bearer ${credential('accelerometer', 'calm@test.com')}` } })
  t.equal(bad.status, 400, 'a time that is not a whole number is refused')
})
