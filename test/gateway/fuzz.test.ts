// Thousands of random and malformed payloads over MQTT and HTTP: the gateway neither crashes nor
// loses count. Every reading received is accepted, deduplicated or rejected with a reason, and
// every accepted one lands.
import t from 'tap'
import { DATASET_NAMES } from '../../contracts/datasets.js'
import { createRandom } from '../../simulator/generate.js'
import { connectDevice, credential, landedLines, startGateway } from '../helpers/gateway.js'

function randomPayload (r: () => number): string | Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]
  const ts = (): unknown => pick([1655564444103 + Math.floor(r() * 1e6), 0, -1, 1.5, '1655564444103', null, 1e30, Date.now() + 1e12])
  const num = (): unknown => pick([0, 1, -1, 0.5, 250, -5, 1e308, 'x', null, true, [], {}])
  const reading = (): Record<string, unknown> => pick<Record<string, unknown>>([
    { sensorReadingTime: ts(), distanceFromObject: num() },
    { timestamp: ts(), x: num(), y: num(), z: num() },
    { timestamp: 1655564444103 + Math.floor(r() * 1e6), x: 1, y: 0, z: -1 },
    { sensorReadingTime: 1655564444103 + Math.floor(r() * 1e6), distanceFromObject: 201 + Math.floor(r() * 100) },
    // JSON.parse makes __proto__ an own key, as a hostile client would send it
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}, "timestamp": 1655564444103}') as Record<string, unknown>,
    { serialNumber: 'someone-else', user: 'someone@else.com', sensorReadingTime: ts(), timestamp: ts() }
  ])
  switch (Math.floor(r() * 10)) {
    case 0: return Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)))
    case 1: return JSON.stringify(reading()).slice(0, Math.floor(r() * 40))
    case 2: return '['.repeat(5000) + ']'.repeat(5000)
    case 3: return JSON.stringify({ seq: pick([1, -1, 'a', 2 ** 60, null, 7.5]), readings: Array.from({ length: Math.floor(r() * 30) }, reading) })
    case 4: return JSON.stringify({ seq: Math.floor(r() * 50), readings: Array.from({ length: 1001 }, reading) })
    case 5: return pick(['', 'null', '42', '"str"', 'true', '{}', '{"readings": {}}', '\u0000\uffff', '{"a":1}{"b":2}'])
    case 6: return JSON.stringify({ readings: [reading()], extra: 'x'.repeat(Math.floor(r() * 600_000)) })
    default: return JSON.stringify(pick([reading(), { seq: Math.floor(r() * 20), readings: Array.from({ length: 1 + Math.floor(r() * 10) }, reading) }]))
  }
}

t.test('fuzz: no crash, every reading accounted for', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 }, rateLimit: { readingsPerSecond: 1e6, burst: 1e7 } })
  const r = createRandom(20261126)
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'fuzz-sn')
  const phone = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'fuzz@test.com')
  const MQTT_MESSAGES = 2000
  const HTTP_REQUESTS = 600
  let acked = 0
  await Promise.all(Array.from({ length: MQTT_MESSAGES }, async (_, i) => {
    const [client, topic] = i % 2 === 0 ? [trainer, 'stedi/v1/step-trainer/fuzz-sn/readings'] : [phone, 'stedi/v1/accelerometer/fuzz@test.com/readings']
    await client.publishAsync(topic, randomPayload(r), { qos: (i % 3 === 0 ? 0 : 1) })
    acked++
  }))
  t.equal(acked, MQTT_MESSAGES)
  const statuses = new Map<number, number>()
  const tokens = { 'step-trainer': credential('step-trainer', 'fuzz-sn'), accelerometer: credential('accelerometer', 'fuzz@test.com') }
  for (let i = 0; i < HTTP_REQUESTS; i++) {
    const kind = i % 2 === 0 ? 'step-trainer' : 'accelerometer'
    const payload = randomPayload(r)
    const body = typeof payload === 'string' ? payload : new Uint8Array(payload)
    const res = await fetch(`${gw.httpUrl}/v1/readings/${kind}`, {
      method: 'POST',
      headers: { 'content-type': i % 7 === 0 ? 'text/plain' : 'application/json', authorization: `Bearer ${tokens[kind]}` },
      body
    })
    await res.arrayBuffer()
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    if (i % 10 === 0) {
      const c = await fetch(`${gw.httpUrl}/v1/customers`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential('service', 'website')}` }, body: String(randomPayload(r)) })
      await c.arrayBuffer()
    }
  }
  t.ok([...statuses.keys()].every((s) => [202, 400, 413, 415].includes(s)), `HTTP answers: ${JSON.stringify([...statuses])}`)
  t.ok(phone.connected && trainer.connected, 'the devices\' sessions stayed up')
  // QoS 0 messages have no acknowledgement: wait until the counters settle
  let last = -1
  for (let i = 0; i < 100; i++) {
    const now = gw.gateway.metrics.received.sum()
    if (now === last) break
    last = now
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await gw.gateway.batcher.drain()
  const m = gw.gateway.metrics
  for (const dataset of DATASET_NAMES) {
    const received = (m.received.get({ dataset, transport: 'mqtt' })) + m.received.get({ dataset, transport: 'http' })
    let rejected = 0
    for (const [k, v] of m.rejected.values) if (k.includes(`dataset="${dataset}"`)) rejected += v
    t.equal(received, m.accepted.get({ dataset }) + m.deduplicated.get({ dataset }) + rejected, `${dataset}: received = accepted + deduplicated + rejected`)
    t.equal((await landedLines(gw.landing, dataset)).length, m.accepted.get({ dataset }), `${dataset}: every accepted reading landed`)
  }
  t.ok(m.accepted.sum() > 100 && m.rejected.sum() > 1000, `a real mix: ${m.accepted.sum()} accepted, ${m.rejected.sum()} rejected, ${m.deduplicated.sum()} deduplicated`)
  t.equal((await fetch(`${gw.httpUrl}/readyz`)).status, 200, 'still ready')
})
