// Issue 10, case 1: a phone flushing an offline backlog (many large batches in flight at once, more
// than its rate allows) used to get a PUBACK for every batch while about half were refused as
// rate_limited and never landed; a full outbox did the same. Acknowledged now means kept: a message
// the gateway cannot take in time gets no PUBACK, its connection is closed so that the device's
// QoS 1 resend brings it back, and the ledger records the refusal under the message's seq.
import t from 'tap'
import { connectDevice, credential, landedLines, ledger, publishAllInFlight, startGateway } from '../helpers/gateway.js'

const phone = 'backlog@test.com'
const topic = `stedi/v1/accelerometer/${phone}/readings`
const batch = (seq: number, n = 100): string => JSON.stringify({ seq, readings: Array.from({ length: n }, (_, k) => ({ timestamp: 1655564444103 + seq * 1000 + k, x: 1, y: 0, z: -1 })) })
const linesOf = (seq: number, n = 100): string[] => Array.from({ length: n }, (_, k) => JSON.stringify({ user: phone, timestamp: 1655564444103 + seq * 1000 + k, x: 1, y: 0, z: -1 }))

t.test('MQTT, rate limit: every PUBACK means landed; the rest are refused unacknowledged, recorded, and land when sent again', async (t) => {
  // 300 readings of burst, 1,000 a second; 20 batches of 100 at once: the burst takes 3, the wait of
  // 300 ms a few more, the others cannot fit in time
  const gw = await startGateway(t, { rateLimit: { readingsPerSecond: 1000, burst: 300 }, maxAckDelayMs: 300, batch: { maxAgeMs: 50 } })
  const payloads = Array.from({ length: 20 }, (_, seq) => batch(seq))
  const first = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  const { acked, unacked } = await publishAllInFlight(first, topic, payloads)
  t.ok(acked.length >= 3 && unacked.length > 0, `${acked.length} batches acknowledged, ${unacked.length} not`)
  t.equal(first.connected, false, 'the connection was closed instead of acknowledging what could not be taken')
  await gw.gateway.batcher.drain()
  const landed = new Set(await landedLines(gw.landing, 'accelerometer'))
  for (const seq of acked) t.ok(linesOf(seq).every((l) => landed.has(l)), `acknowledged batch ${seq} landed`)
  // the refusal that closed the connection is recorded under its seq; batches still waiting then are
  // recorded as connection_closed (any the gateway had not read yet, it cannot know of)
  const answers = await Promise.all(unacked.map(async (seq) => await ledger(gw.httpUrl, 'accelerometer', phone, { seq })))
  t.ok(answers.some((a, i) => a.rejected.some((r: any) => r.seq === unacked[i] && r.reason === 'rate_limited' && r.acknowledged === false)),
    'the ledger says why an unacknowledged batch was not taken')
  t.ok(answers.every((a) => a.rejected.every((r: any) => ['rate_limited', 'connection_closed'].includes(r.reason) && r.acknowledged === false)))
  for (const seq of acked) t.same((await ledger(gw.httpUrl, 'accelerometer', phone, { seq })).rejected, [], `acknowledged batch ${seq}: no refusal`)
  t.ok(gw.gateway.metrics.refused.get({ dataset: 'accelerometer', reason: 'rate_limited', transport: 'mqtt' }) > 0)

  // the device reconnects and sends what was not acknowledged, at its pace: all of it lands, once
  const second = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  for (const seq of unacked) await second.publishAsync(topic, payloads[seq], { qos: 1 })
  await gw.gateway.batcher.drain()
  const all = await landedLines(gw.landing, 'accelerometer')
  t.equal(all.length, 2000, 'every reading landed')
  t.equal(new Set(all).size, 2000, 'each exactly once')
})

t.test('MQTT, full outbox: the PUBACK waits, then the connection closes; nothing acknowledged is dropped', async (t) => {
  const gw = await startGateway(t, { maxOutboxRecords: 200, maxAckDelayMs: 300, batch: { maxAgeMs: 3_600_000 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  const payloads = Array.from({ length: 4 }, (_, seq) => batch(seq))
  const { acked, unacked } = await publishAllInFlight(device, topic, payloads)
  t.same(acked, [0, 1], 'the outbox took 200 readings')
  t.same(unacked, [2, 3], 'the rest were not acknowledged')
  t.equal(gw.gateway.outbox.depth(), 200, 'and not kept either')
  const refusals = [...(await ledger(gw.httpUrl, 'accelerometer', phone, { seq: 2 })).rejected, ...(await ledger(gw.httpUrl, 'accelerometer', phone, { seq: 3 })).rejected]
  t.ok(refusals.some((r: any) => r.reason === 'overloaded' && r.acknowledged === false), 'the ledger says the outbox was full')
  t.ok(refusals.every((r: any) => ['overloaded', 'connection_closed'].includes(r.reason) && r.acknowledged === false))
  await gw.gateway.batcher.drain()
  const again = await connectDevice(t, gw.mqttUrl, 'accelerometer', phone)
  for (const seq of unacked) await again.publishAsync(topic, payloads[seq], { qos: 1 })
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'accelerometer')).length, 400)
})

t.test('HTTP: a refusal is 429/503 with Retry-After, never a 2xx, and the ledger keeps it with the seq', async (t) => {
  const gw = await startGateway(t, { rateLimit: { readingsPerSecond: 10, burst: 100 }, batch: { maxAgeMs: 50 } })
  const post = async (body: string): Promise<Response> => await fetch(`${gw.httpUrl}/v1/readings/accelerometer`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential('accelerometer', phone)}` }, body
  })
  t.equal((await post(batch(0))).status, 202)
  const limited = await post(batch(1))
  t.equal(limited.status, 429)
  t.ok(Number(limited.headers.get('retry-after')) >= 1)
  t.match((await ledger(gw.httpUrl, 'accelerometer', phone, { seq: 1 })).rejected, [{ seq: 1, reason: 'rate_limited', acknowledged: false }])
  await gw.gateway.batcher.drain()
  t.same(await landedLines(gw.landing, 'accelerometer'), linesOf(0), 'only the acknowledged batch landed')
})
