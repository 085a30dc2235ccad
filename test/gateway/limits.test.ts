// One device above its rate limit waits for its acknowledgements (MQTT) or is told to retry (HTTP);
// a full outbox answers 503. Nothing is lost either way.
import t from 'tap'
import { connectDevice, credential, startGateway } from '../helpers/gateway.js'

const batch = (n: number, from: number): string => JSON.stringify({ readings: Array.from({ length: n }, (_, i) => ({ sensorReadingTime: 1655564444103 + from + i, distanceFromObject: 250 })) })

t.test('MQTT: a device above its rate waits for its PUBACK; a batch above its burst is refused', async (t) => {
  // 20 readings of burst, then 5 a second: the next 10 readings wait 2 s
  const gw = await startGateway(t, { rateLimit: { readingsPerSecond: 5, burst: 20 } })
  const fast = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-fast')
  const calm = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-calm')
  const topic = 'stedi/v1/step-trainer/sn-fast/readings'
  await fast.publishAsync(topic, batch(20, 0), { qos: 1 })
  const started = Date.now()
  const held = fast.publishAsync(topic, batch(10, 100), { qos: 1 })
  // meanwhile another device is not slowed
  const calmStarted = Date.now()
  await calm.publishAsync('stedi/v1/step-trainer/sn-calm/readings', batch(5, 0), { qos: 1 })
  const calmWaited = Date.now() - calmStarted
  await held
  const fastWaited = Date.now() - started
  t.ok(fastWaited >= 1500, `the fast device waited ${fastWaited} ms for its tokens`)
  t.ok(calmWaited < 1000, `another device was not held back (${calmWaited} ms)`)
  await gw.gateway.batcher.drain()
  t.equal(gw.gateway.metrics.accepted.get({ dataset: 'step_trainer' }), 35, 'and nothing was lost')
  await fast.publishAsync(topic, batch(21, 200), { qos: 1 })
  await gw.gateway.batcher.drain()
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'step_trainer', reason: 'batch_too_large' }), 21,
    'a batch larger than the burst can never fit: acknowledged, refused for good and recorded (sending it again could not help)')
})

t.test('HTTP: a full outbox answers 503 with Retry-After', async (t) => {
  const gw = await startGateway(t, { maxOutboxRecords: 2, batch: { maxAgeMs: 60_000 } })
  const token = credential('step-trainer', 'sn-1')
  const send = async (from: number): Promise<Response> => await fetch(`${gw.httpUrl}/v1/readings/step-trainer`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: batch(2, from)
  })
  t.equal((await send(0)).status, 202)
  const full = await send(10)
  t.equal(full.status, 503)
  t.equal(full.headers.get('retry-after'), '1')
  t.match(await full.json(), { error: 'overloaded' })
  await gw.gateway.batcher.drain()
  t.equal((await send(10)).status, 202, 'accepted again once the outbox drains')
})
