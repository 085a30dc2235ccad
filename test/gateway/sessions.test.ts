// Issue 10, case 4 (and the retained/will part of case 5): a device with its own valid credential
// could connect with another device's MQTT client id, kick it off and, with a persistent session,
// receive its queued messages; a refused publish with the retain flag was kept as the retained
// message. Sessions now belong to identities, and device topics keep no retained messages or wills.
import net from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import t from 'tap'
import { connectDevice, credential, landedLines, startGateway } from '../helpers/gateway.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const reading = (ts: number): string => JSON.stringify({ timestamp: ts, x: 1, y: 0, z: -1 })

t.test('another device borrowing a client id neither kicks the owner off nor takes its session', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const owner = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'owner@test.com', { clientId: 'phone-1', clean: false })
  let ownerClosed = false
  owner.on('close', () => { ownerClosed = true })
  await owner.subscribeAsync('stedi/v1/accelerometer/owner@test.com/#', { qos: 1 })
  const intruder = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'intruder@test.com', { clientId: 'phone-1', clean: false })
  await sleep(300)
  t.equal(ownerClosed, false, 'the owner stays connected')
  t.ok(intruder.connected, 'the other device has a session of its own')
  await owner.publishAsync('stedi/v1/accelerometer/owner@test.com/readings', reading(1655564444103), { qos: 1 })
  await intruder.publishAsync('stedi/v1/accelerometer/intruder@test.com/readings', reading(1655564444104), { qos: 1 })
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'accelerometer')).length, 2, 'both publish as themselves')
})

t.test('a persistent session\'s queued messages never reach another identity', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const owner = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'owner@test.com', { clientId: 'phone-1', clean: false })
  await owner.subscribeAsync('stedi/v1/accelerometer/owner@test.com/#', { qos: 1 })
  await owner.endAsync()
  // while that session is offline, the owner's readings arrive over another connection
  const second = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'owner@test.com', { clientId: 'phone-2' })
  await second.publishAsync('stedi/v1/accelerometer/owner@test.com/readings', reading(1655564444103), { qos: 1 })
  const received: string[] = []
  const intruder = mqtt.connect(gw.mqttUrl, { username: 'intruder@test.com', password: credential('accelerometer', 'intruder@test.com'), clientId: 'phone-1', clean: false, reconnectPeriod: 0 })
  t.teardown(async () => { await intruder.endAsync(true) })
  intruder.on('message', (topic) => received.push(topic))
  await new Promise<void>((resolve) => intruder.once('connect', () => resolve()))
  await sleep(400)
  t.same(received, [], 'the intruder receives nothing of the owner\'s')
  const back: string[] = []
  const returning = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'owner@test.com', { clientId: 'phone-1', clean: false })
  returning.on('message', (topic) => back.push(topic))
  await sleep(300)
  t.same(back, [], 'readings are ingested, never relayed, not even to their own device')
})

t.test('nothing published on a readings topic is retained, valid or refused', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 }, maxPayloadBytes: 1024 })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'r@test.com')
  const topic = 'stedi/v1/accelerometer/r@test.com/readings'
  await device.publishAsync(topic, reading(1655564444103), { qos: 1, retain: true })
  await device.publishAsync(topic, 'x'.repeat(4096), { qos: 1, retain: true })
  const seen: Buffer[] = []
  const listener: MqttClient = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'r@test.com', { clientId: 'listener' })
  listener.on('message', (_topic, payload) => seen.push(payload))
  await listener.subscribeAsync(topic, { qos: 1 })
  await sleep(300)
  t.same(seen, [], 'no retained message is replayed to a new subscriber')
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'accelerometer')).length, 1, 'the valid reading landed once; the oversized one was refused')
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'accelerometer', reason: 'oversized' }), 1)
})

t.test('a will on a device topic is dropped at CONNECT and never published', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const topic = 'stedi/v1/accelerometer/w@test.com/readings'
  const device = mqtt.connect(gw.mqttUrl, {
    username: 'w@test.com', password: credential('accelerometer', 'w@test.com'), reconnectPeriod: 0,
    will: { topic, payload: Buffer.from(reading(1655564444103)), qos: 1, retain: false }
  })
  device.on('error', () => {})
  await new Promise<void>((resolve) => device.once('connect', () => resolve()))
  // an unclean end: the broker would publish the will now
  ;(device.stream as net.Socket).destroy()
  await sleep(300)
  await gw.gateway.batcher.drain()
  t.same(await landedLines(gw.landing, 'accelerometer'), [], 'the will did not become a reading')
  t.equal(gw.gateway.metrics.willsDropped.get(), 1)
})

t.test('every session is clean: nothing of a session outlives its connection', async (t) => {
  const gw = await startGateway(t)
  const first = await connectDevice(t, gw.mqttUrl, 'accelerometer', 's@test.com', { clientId: 'keep-me', clean: false })
  await first.subscribeAsync('stedi/v1/accelerometer/s@test.com/cmd', { qos: 1 })
  await first.endAsync()
  const again = mqtt.connect(gw.mqttUrl, { username: 's@test.com', password: credential('accelerometer', 's@test.com'), clientId: 'keep-me', clean: false, reconnectPeriod: 0 })
  t.teardown(async () => { await again.endAsync(true) })
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once('connect', (p) => resolve(p)))
  t.equal(connack.sessionPresent, false, 'CONNACK says no session was kept')
})

t.test('a client\'s subscriptions are bounded in number and size', async (t) => {
  const gw = await startGateway(t)
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'subs@test.com')
  const own = 'stedi/v1/accelerometer/subs@test.com'
  // mqtt.js rejects a SUBACK that refuses a filter: count the ones granted
  const tryTo = async (topic: string): Promise<boolean> => await device.subscribeAsync(topic, { qos: 1 }).then(() => true, () => false)
  let granted = 0
  for (let i = 0; i < 20; i++) if (await tryTo(`${own}/t${i}`)) granted++
  t.equal(granted, 16, 'at most 16 subscriptions')
  await device.unsubscribeAsync(`${own}/t0`)
  t.equal(await tryTo(`${own}/${'x'.repeat(600)}`), false, 'a filter over 512 bytes is refused')
  t.ok(device.connected, 'the session stays')
})

t.test('unreleased QoS 2 messages are bounded per connection', async (t) => {
  const gw = await startGateway(t, { rateLimit: { readingsPerSecond: 1e6, burst: 1e7 } })
  const device = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'q2@test.com', { clean: true })
  // hold every PUBREL back: the broker keeps each message until it comes
  ;(device as unknown as { _sendPacket: (p: { cmd: string }, cb?: () => void) => void })._sendPacket = ((send) => function (this: unknown, packet: { cmd: string }, cb?: () => void) {
    if (packet.cmd === 'pubrel') return
    send.call(this, packet, cb)
  })((device as unknown as { _sendPacket: (p: { cmd: string }, cb?: () => void) => void })._sendPacket)
  const closed = new Promise<void>((resolve) => device.once('close', () => resolve()))
  for (let i = 0; i < 40; i++) device.publish('stedi/v1/accelerometer/q2@test.com/readings', JSON.stringify({ timestamp: 1655564444103 + i, x: 1, y: 0, z: 0 }), { qos: 2 })
  await closed
  t.pass('the connection is closed once 16 wait for their PUBREL')
})
