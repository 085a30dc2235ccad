// The emulated firmware: bounded buffer, backoff, and at-least-once delivery through faults.
import t from 'tap'
import { createBackoff } from '../../firmware-mock/backoff.js'
import { createBatchBuffer } from '../../firmware-mock/buffer.js'
import { createDevice } from '../../firmware-mock/device.js'
import { createRandom } from '../../simulator/generate.js'
import { credential, startGateway } from '../helpers/gateway.js'

t.test('the buffer drops the oldest batch when full, and counts its readings', async (t) => {
  const b = createBatchBuffer(2)
  b.push({ seq: 0, readings: [{}, {}] })
  b.push({ seq: 1, readings: [{}] })
  b.push({ seq: 2, readings: [{}, {}, {}] })
  t.equal(b.size(), 2)
  t.equal(b.peek()?.seq, 1)
  t.same(b.dropped, { batches: 1, readings: 2 })
  t.equal(b.readings(), 4)
})

t.test('backoff grows exponentially with jitter, capped, and resets', async (t) => {
  const b = createBackoff({ baseMs: 100, maxMs: 1000, random: createRandom(3) })
  const delays = Array.from({ length: 6 }, () => b.next())
  const ceilings = [100, 200, 400, 800, 1000, 1000]
  delays.forEach((d, i) => t.ok(d >= ceilings[i] / 2 && d <= ceilings[i], `attempt ${i}: ${d} within [${ceilings[i] / 2}, ${ceilings[i]}]`))
  b.reset()
  t.ok(b.next() <= 100)
})

t.test('through dropped connections, duplicates, corrupt payloads and an impersonation attempt, every reading lands once', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const phone = createDevice({
    kind: 'accelerometer', identity: 'f@test.com', credential: credential('accelerometer', 'f@test.com'), mqttUrl: gw.mqttUrl,
    batchSize: 5, random: createRandom(11), victim: 'victim@test.com', backoff: { baseMs: 10, maxMs: 50 },
    faults: { dropConnection: 0.2, duplicatePublish: 0.2, corruptPayload: 0.1, impersonate: 0.05, clockSkewMs: 1000 }
  })
  await phone.start()
  for (let i = 0; i < 200; i++) phone.record({ timestamp: 1655564444103 + i, x: 1, y: 0, z: -1 })
  await phone.stop(20_000)
  const s = phone.stats()
  t.equal(s.generated, 200)
  t.equal(s.acknowledged, 200, 'everything acknowledged in the end')
  t.equal(s.pending + s.dropped, 0)
  t.ok(s.faults > 5 && s.reconnects > 0, `${s.faults} faults injected, ${s.reconnects} reconnects`)
  await gw.gateway.batcher.drain()
  t.equal(gw.gateway.metrics.accepted.get({ dataset: 'accelerometer' }), 200, 'each reading accepted once')
  const lookup = await fetch(`${gw.httpUrl}/v1/records?kind=accelerometer&device=f@test.com&timestamp=${1655564444103 + 1000}`, { headers: { authorization: `Bearer ${credential('accelerometer', 'f@test.com')}` } })
  t.match(await lookup.json(), { readings: [{ status: 'landed' }] }, 'the skewed clock shows in the record')
})

t.test('out-of-range values are sent, acknowledged, refused and recorded, never landed', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const trainer = createDevice({
    kind: 'step-trainer', identity: 'sn-bad', credential: credential('step-trainer', 'sn-bad'), mqttUrl: gw.mqttUrl,
    batchSize: 5, random: createRandom(5), faults: { outOfRange: 1 }
  })
  await trainer.start()
  for (let i = 0; i < 10; i++) trainer.record({ sensorReadingTime: 1655564444103 + i, distanceFromObject: 250 })
  await trainer.stop()
  t.equal(trainer.stats().acknowledged, 10)
  // outcomes are counted when the ledger rules on them, just after the acknowledgement
  await gw.gateway.outbox.settle()
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'step_trainer', reason: 'out_of_range' }), 10)
  t.equal(gw.gateway.metrics.accepted.get({ dataset: 'step_trainer' }), 0)
})
