// A device's seq is not unique for its life: a power cycle restarts a counter kept in RAM, and a
// device that also posts over HTTP counts there apart. Whatever the device does with seq, every
// reading the gateway acknowledged must land; what the device lost in RAM is its own loss, counted.
import t, { type Test } from 'tap'
import type { Batch } from '../../firmware-mock/buffer.js'
import { createDevice } from '../../firmware-mock/device.js'
import { createRandom } from '../../simulator/generate.js'
import { createHttpDevice } from '../../simulator/load/http-device.js'
import { credential, landedLines, startGateway } from '../helpers/gateway.js'

const T0 = 1655564444103
const reading = (i: number): Record<string, number> => ({ timestamp: T0 + i, x: 1, y: 0, z: -1 })
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)

async function until (what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const landedTimestamps = async (landing: string): Promise<number[]> =>
  (await landedLines(landing, 'accelerometer')).map((l) => (JSON.parse(l) as { timestamp: number }).timestamp).sort((a, b) => a - b)

/**
 * 20 readings acknowledged (seq 0..3), 10 more sealed into two batches that wait in flash, 3 in the
 * open batch when the power goes; after the restart, 10 new readings.
 */
async function restartScenario (t: Test, seqPersistence: 'flash' | 'ram') {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const identity = `restart+${seqPersistence}@example.com`
  const acked: Batch[] = []
  const lost: Array<Record<string, unknown>> = []
  const phone = createDevice({
    kind: 'accelerometer', identity, credential: credential('accelerometer', identity), mqttUrl: gw.mqttUrl,
    batchSize: 5, random: createRandom(1), seqPersistence, backoff: { baseMs: 10, maxMs: 50 },
    onAck: (_n, _ms, batch) => acked.push(batch),
    onLost: (readings, cause) => { if (cause === 'restart') lost.push(...readings) }
  })
  await phone.start()
  for (const i of range(0, 20)) phone.record(reading(i))
  await until('the first 20 readings acknowledged', () => phone.stats().acknowledged === 20)
  for (const i of range(20, 33)) phone.record(reading(i))
  phone.restart()
  for (const i of range(40, 50)) phone.record(reading(i))
  await phone.stop(20_000)
  await gw.gateway.batcher.drain()
  const ackedTimestamps = acked.flatMap((b) => b.readings.map((r) => r.timestamp as number)).sort((a, b) => a - b)
  return { gw, phone, acked, ackedTimestamps, lost }
}

t.test('a restart with seq in flash: the sealed batches survive, the open batch is lost and counted, seq goes on', async (t) => {
  const { gw, phone, acked, ackedTimestamps, lost } = await restartScenario(t, 'flash')
  t.match(phone.stats(), { generated: 43, acknowledged: 40, lost: 3, dropped: 0, pending: 0, restarts: 1 })
  t.same(lost.map((r) => r.timestamp), range(30, 33).map((i) => T0 + i), 'what was in RAM')
  t.same(acked.map((b) => b.seq), range(0, 8), 'the counter goes on from flash')
  t.same(ackedTimestamps, [...range(0, 30), ...range(40, 50)].map((i) => T0 + i))
  t.same(await landedTimestamps(gw.landing), ackedTimestamps, 'every acknowledged reading landed, once')
})

t.test('a restart with seq in RAM: seq starts again at 0 with new readings, and every acknowledged reading lands', async (t) => {
    const { gw, phone, acked, ackedTimestamps } = await restartScenario(t, 'ram')
    t.match(phone.stats(), { generated: 43, acknowledged: 40, lost: 3, dropped: 0, pending: 0, restarts: 1 })
    t.same(acked.map((b) => b.seq), [0, 1, 2, 3, 4, 5, 0, 1], 'the flash batches keep their seq; new batches count from 0')
    t.same(await landedTimestamps(gw.landing), ackedTimestamps, 'every acknowledged reading landed, once')
  })

t.test('one device over MQTT and over HTTP, each transport counting seq from 0: every acknowledged reading lands', async (t) => {
    const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
    const identity = 'both+ways@example.com'
    const token = credential('accelerometer', identity)
    const overMqtt = createDevice({ kind: 'accelerometer', identity, credential: token, mqttUrl: gw.mqttUrl, batchSize: 5, random: createRandom(2) })
    const overHttp = createHttpDevice({ kind: 'accelerometer', credential: token, httpUrl: gw.httpUrl, batchSize: 5 })
    await overMqtt.start()
    for (const i of range(0, 20)) overMqtt.record(reading(i))
    for (const i of range(100, 120)) overHttp.record(reading(i))
    await Promise.all([overMqtt.stop(20_000), overHttp.stop(20_000)])
    t.equal(overMqtt.stats().acknowledged + overHttp.stats().acknowledged, 40, 'all acknowledged, by both transports')
    await gw.gateway.batcher.drain()
    t.same(await landedTimestamps(gw.landing), [...range(0, 20), ...range(100, 120)].map((i) => T0 + i), 'every acknowledged reading landed, once')
  })
