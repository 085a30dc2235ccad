// From a hostile review of issue 10's gateway: one credential (found on a phone) must not take every
// connection, and silent sockets (no CONNECT, no request) must not crowd devices out.
import net from 'node:net'
import mqtt from 'mqtt'
import t from 'tap'
import { connectDevice, credential, startGateway } from '../helpers/gateway.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('one device holds at most its share of connections; other devices still connect', async (t) => {
  const gw = await startGateway(t, { maxConnectionsPerDevice: 3 })
  const mine = await Promise.all(Array.from({ length: 3 }, async (_, i) => await connectDevice(t, gw.mqttUrl, 'accelerometer', 'greedy@test.com', { clientId: `g${i}` })))
  t.equal(mine.length, 3)
  const fourth = mqtt.connect(gw.mqttUrl, { username: 'greedy@test.com', password: credential('accelerometer', 'greedy@test.com'), clientId: 'g3', reconnectPeriod: 0 })
  t.teardown(async () => { await fourth.endAsync(true) })
  const err = await new Promise<Error & { code?: number }>((resolve) => fourth.once('error', (e) => resolve(e)))
  t.equal(err.code, 3, 'the fourth CONNECT is refused: server unavailable')
  t.equal(gw.gateway.metrics.connectionsClosed.get({ transport: 'mqtt', reason: 'too_many_connections' }), 1)
  await mine[0].endAsync()
  await sleep(100)
  t.ok((await connectDevice(t, gw.mqttUrl, 'accelerometer', 'greedy@test.com', { clientId: 'g4' })).connected, 'a slot freed is a slot again')
  t.ok((await connectDevice(t, gw.mqttUrl, 'accelerometer', 'other@test.com')).connected, 'another device is not affected')
})

t.test('silent sockets are bounded: past the pending limit new ones are closed at once, devices still get in', async (t) => {
  const gw = await startGateway(t, { maxPendingConnections: 20 })
  const mqttPort = Number(new URL(gw.mqttUrl).port)
  const httpPort = Number(new URL(gw.httpUrl).port)
  const silent = await Promise.all(Array.from({ length: 40 }, async (_, i) => await new Promise<net.Socket>((resolve) => {
    const s = net.connect(i % 2 === 0 ? mqttPort : httpPort, '127.0.0.1', () => resolve(s))
    s.on('error', () => {})
  })))
  t.teardown(() => { for (const s of silent) s.destroy() })
  await sleep(200)
  t.ok(silent.filter((s) => s.destroyed || s.readyState !== 'open').length >= 20 || gw.gateway.metrics.connectionsClosed.sum() >= 20, 'those over the limit were closed')
  for (const s of silent) s.destroy()
  await sleep(100)
  const device = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-calm')
  await device.publishAsync('stedi/v1/step-trainer/sn-calm/readings', JSON.stringify({ sensorReadingTime: 1655564444103, distanceFromObject: 2 }), { qos: 1 })
  t.pass('a device connects and is acknowledged')
  t.ok(gw.gateway.metrics.connectionsClosed.get({ transport: 'mqtt', reason: 'too_many_pending' }) + gw.gateway.metrics.connectionsClosed.get({ transport: 'http', reason: 'too_many_pending' }) >= 20)
})

t.test('a device that has its CONNACK and stays quiet no longer holds a pending slot', async (t) => {
  const gw = await startGateway(t, { maxPendingConnections: 3 })
  let connected = 0
  for (let i = 0; i < 6; i++) {
    const c = mqtt.connect(gw.mqttUrl, { username: `sn-${i}`, password: credential('step-trainer', `sn-${i}`), reconnectPeriod: 0, keepalive: 0 })
    c.on('error', () => {})
    t.teardown(async () => { await c.endAsync(true) })
    if (await new Promise<boolean>((resolve) => { c.once('connect', () => resolve(true)); c.once('close', () => resolve(false)) })) connected++
  }
  t.equal(connected, 6, 'six quiet devices, three pending slots')
  t.equal((await fetch(`${gw.httpUrl}/healthz`)).status, 200, 'and HTTP still gets in')
})
