// Issue 10, case 2: a batch whose (device, seq) was used before with different content was taken
// for a redelivery: acknowledged and dropped. A device that restarts and counts seq from 0 again,
// or sends over MQTT and HTTP with separate counters, silently lost its batches. Redelivery now
// means the same message: the same seq with other content lands and is recorded as a seq conflict.
import t from 'tap'
import { connectDevice, credential, landedLines, ledger, startGateway } from '../helpers/gateway.js'

const phone = 'restart@test.com'
const topic = `stedi/v1/accelerometer/${phone}/readings`
const batch = (seq: number, base: number, n = 3): string => JSON.stringify({ seq, readings: Array.from({ length: n }, (_, k) => ({ timestamp: 1655564444103 + base + k, x: 1, y: 0, z: -1 })) })

t.test('the same seq with other content lands, as a seq conflict; the same message again does not', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  for (let seq = 0; seq < 5; seq++) await device.publishAsync(topic, batch(seq, seq * 10), { qos: 1 })
  await gw.gateway.batcher.drain()
  // a redelivery after the ledger has indexed the original (not only while it waits in the outbox)
  await device.publishAsync(topic, batch(2, 20), { qos: 1, dup: true })
  // the device restarted and counts from 0 again, with new readings
  for (let seq = 0; seq < 5; seq++) await device.publishAsync(topic, batch(seq, 1000 + seq * 10), { qos: 1 })
  await gw.gateway.batcher.drain()
  const lines = await landedLines(gw.landing, 'accelerometer')
  t.equal(lines.length, 30, 'both generations of seq 0..4 landed, the redelivery did not')
  t.equal(new Set(lines).size, 30)
  t.equal(gw.gateway.metrics.seqConflicts.get({ dataset: 'accelerometer' }), 5, 'five seq conflicts counted')
  t.equal(gw.gateway.metrics.deduplicated.get({ dataset: 'accelerometer' }), 3)
  const answer = await ledger(gw.httpUrl, 'accelerometer', phone, { seq: 2 })
  t.match(answer.batch, { deliveries: 2, accepted: 3, seqConflicts: 1 }, 'the ledger shows the original (delivered twice) and the conflict')
  t.equal(answer.readings.length, 6, 'and where each generation\'s readings are')
  t.equal(answer.readings.filter((r: any) => r.seqConflict === true).length, 3)
  t.ok(answer.readings.every((r: any) => r.status === 'landed' && typeof r.file === 'string'))
})

t.test('MQTT and HTTP with separate counters: nothing is lost', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  for (let seq = 0; seq < 3; seq++) await device.publishAsync(topic, batch(seq, seq * 10), { qos: 1 })
  for (let seq = 0; seq < 3; seq++) {
    const res = await fetch(`${gw.httpUrl}/v1/readings/accelerometer`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential('accelerometer', phone)}` }, body: batch(seq, 500 + seq * 10)
    })
    t.match(await res.json(), { seq, accepted: 3, duplicates: 0 }, `HTTP seq ${seq}: taken`)
  }
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'accelerometer')).length, 18)
})

t.test('redeliveries over either transport are recognised by content, before and after they land', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 3_600_000 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  await device.publishAsync(topic, batch(7, 0), { qos: 1 })
  await device.publishAsync(topic, batch(7, 0), { qos: 1, dup: true })
  const http = async (): Promise<unknown> => await (await fetch(`${gw.httpUrl}/v1/readings/accelerometer`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential('accelerometer', phone)}` }, body: batch(7, 0)
  })).json()
  t.match(await http(), { seq: 7, accepted: 0, duplicates: 3 }, 'waiting in the outbox: a duplicate')
  await gw.gateway.batcher.drain()
  t.match(await http(), { seq: 7, accepted: 0, duplicates: 3 }, 'landed: still a duplicate')
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'accelerometer')).length, 3)
  t.match((await ledger(gw.httpUrl, 'accelerometer', phone, { seq: 7 })).batch, { deliveries: 4, accepted: 3 })
})
