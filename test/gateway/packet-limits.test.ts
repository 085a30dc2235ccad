// Issue 10, case 5: MQTT packet size was unbounded, even before authentication: a few connections
// that declared a 268 MB CONNECT and streamed it grew the gateway's memory by gigabytes until the
// connect timeout; WebSocket frames likewise. Packets are now bounded as their header arrives,
// before anything is buffered: a small limit before authentication, the packet limit after.
import net from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { connectDevice, credential, landedLines, startGateway } from '../helpers/gateway.js'

/** Opens a raw TCP connection, sends the bytes, and keeps streaming zeros until the server closes it. */
async function streamUntilClosed (port: number, header: Buffer, maxBytes: number): Promise<{ closed: boolean, sent: number, ms: number }> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const started = Date.now()
  let sent = 0
  let closed = false
  socket.once('close', () => { closed = true })
  socket.write(header)
  const chunk = Buffer.alloc(64 * 1024)
  while (!closed && sent < maxBytes) {
    if (!socket.write(chunk)) await new Promise<void>((resolve) => { socket.once('drain', () => resolve()); socket.once('close', () => resolve()) })
    sent += chunk.length
    await new Promise((resolve) => setImmediate(resolve))
  }
  await new Promise((resolve) => setTimeout(resolve, 100))
  socket.destroy()
  return { closed, sent, ms: Date.now() - started }
}

// a CONNECT that declares the largest remaining length MQTT allows (268,435,455 bytes)
const GIANT_CONNECT = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])

t.test('a giant CONNECT is cut off at its header, before authentication and before buffering', async (t) => {
  const gw = await startGateway(t)
  const port = Number(new URL(gw.mqttUrl).port)
  const rssBefore = process.memoryUsage.rss()
  const results = await Promise.all(Array.from({ length: 8 }, async () => await streamUntilClosed(port, GIANT_CONNECT, 64 * 1024 * 1024)))
  for (const r of results) t.ok(r.closed && r.sent < 64 * 1024 * 1024, `closed after ${r.sent} bytes offered (${r.ms} ms)`)
  const grown = (process.memoryUsage.rss() - rssBefore) / 1024 / 1024
  t.ok(grown < 200, `the gateway's memory grew by ${grown.toFixed(0)} MB, not by what was declared`)
  t.ok(gw.gateway.metrics.connectionsClosed.get({ transport: 'mqtt', reason: 'preauth_packet_too_large' }) >= 8)
  const device = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  t.ok(device.connected, 'an honest device still connects')
})

t.test('after authentication: a payload over the payload limit is acknowledged and refused; a packet over the packet limit closes the connection', async (t) => {
  const gw = await startGateway(t, { maxPayloadBytes: 4096, maxPacketBytes: 16_384, batch: { maxAgeMs: 20 } })
  const topic = 'stedi/v1/step-trainer/sn-1/readings'
  const device = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  await device.publishAsync(topic, 'x'.repeat(8000), { qos: 1 })
  await gw.gateway.batcher.drain()
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'step_trainer', reason: 'oversized' }), 1, 'between the two limits: acknowledged, refused, recorded')
  const closed = new Promise<void>((resolve) => device.once('close', () => resolve()))
  let acked = false
  device.publish(topic, 'x'.repeat(100_000), { qos: 1 }, (err) => { if (err == null) acked = true })
  await closed
  t.equal(acked, false, 'over the packet limit: no PUBACK, the connection is closed')
  t.equal(gw.gateway.metrics.connectionsClosed.get({ transport: 'mqtt', reason: 'packet_too_large' }), 1)
  t.same(await landedLines(gw.landing, 'step_trainer'), [])
})

t.test('WebSocket: a frame over the packet limit closes the connection', async (t) => {
  const gw = await startGateway(t, { maxPayloadBytes: 4096, maxPacketBytes: 16_384 })
  const ws = new WebSocket(`${gw.httpUrl.replace('http', 'ws')}/mqtt`, 'mqtt')
  t.teardown(() => { ws.terminate() })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)))
  ws.on('error', () => {})
  ws.send(Buffer.concat([GIANT_CONNECT, Buffer.alloc(1024 * 1024)]))
  t.equal(await code, 1009, 'closed: message too big')
})

t.test('WebSocket: a giant CONNECT streamed in small frames is cut off at its header', async (t) => {
  const gw = await startGateway(t)
  const ws = new WebSocket(`${gw.httpUrl.replace('http', 'ws')}/mqtt`, 'mqtt')
  t.teardown(() => { ws.terminate() })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  ws.on('error', () => {})
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  ws.send(GIANT_CONNECT)
  let sent = 0
  const timer = setInterval(() => { if (ws.readyState === WebSocket.OPEN) { ws.send(Buffer.alloc(4096)); sent += 4096 } }, 1)
  await closed
  clearInterval(timer)
  t.ok(sent < 1024 * 1024, `closed after ${sent} bytes`)
})

/** MQTT 3.1.1 packets, by hand: a CONNECT and a QoS 1 PUBLISH. */
function mqttString (s: string | Buffer): Buffer { const b = Buffer.from(s); const l = Buffer.alloc(2); l.writeUInt16BE(b.length); return Buffer.concat([l, b]) }
function remainingLength (n: number): Buffer { const out = []; do { let byte = n % 128; n = Math.floor(n / 128); if (n > 0) byte |= 0x80; out.push(byte) } while (n > 0); return Buffer.from(out) }
function connectPacket (username: string, password: string): Buffer {
  const body = Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0xc2, 0, 60]), mqttString(`eager-${username}`), mqttString(username), mqttString(password)])
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body])
}
function publishPacket (topic: string, payload: string, id: number): Buffer {
  const body = Buffer.concat([mqttString(topic), Buffer.from([id >> 8, id & 0xff]), Buffer.from(payload)])
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body])
}

t.test('a large batch sent right behind the CONNECT, before its CONNACK (as MQTT allows), is judged by the packet limit, not the CONNECT\'s', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const port = Number(new URL(gw.mqttUrl).port)
  const identity = 'eager@example.com'
  const payload = JSON.stringify({ seq: 1, readings: Array.from({ length: 250 }, (_, k) => ({ timestamp: 1655564444103 + k, x: 1, y: 0, z: -1 })) })
  t.ok(Buffer.byteLength(payload) > 8 * 1024, 'over the pre-authentication limit')
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  let received = Buffer.alloc(0)
  socket.on('data', (d: Buffer) => { received = Buffer.concat([received, d]) })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  // both in one write: the PUBLISH arrives before the gateway has even answered the CONNECT
  socket.write(Buffer.concat([connectPacket(identity, credential('accelerometer', identity)), publishPacket(`stedi/v1/accelerometer/${identity}/readings`, payload, 7)]))
  const puback = Buffer.from([0x40, 0x02, 0x00, 0x07])
  for (let i = 0; i < 200 && received.indexOf(puback) === -1; i++) await Promise.race([new Promise((resolve) => setTimeout(resolve, 10)), closed])
  t.not(received.indexOf(puback), -1, 'CONNACK, then the PUBACK of the 12 KB batch')
  t.equal(gw.gateway.metrics.connectionsClosed.get({ transport: 'mqtt', reason: 'preauth_packet_too_large' }), 0)
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'accelerometer')).length, 250)
})

t.test('WebSocket: before authentication a frame is held to the CONNECT\'s limit; after it, to the packet limit', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 20 } })
  const url = `${gw.httpUrl.replace('http', 'ws')}/mqtt`
  const raw = new WebSocket(url, 'mqtt')
  t.teardown(() => { raw.terminate() })
  await new Promise<void>((resolve, reject) => { raw.once('open', () => resolve()); raw.once('error', reject) })
  raw.on('error', () => {})
  const code = new Promise<number>((resolve) => raw.once('close', (c) => resolve(c)))
  raw.send(Buffer.alloc(64 * 1024))
  t.equal(await code, 1009, 'a 64 KiB frame before authentication: closed, message too big')
  const device = await connectDevice(t, url, 'step-trainer', 'sn-ws-big')
  const readings = Array.from({ length: 900 }, (_, k) => ({ sensorReadingTime: 1655564444103 + k, distanceFromObject: 250 }))
  await device.publishAsync('stedi/v1/step-trainer/sn-ws-big/readings', JSON.stringify({ seq: 1, readings }), { qos: 1 })
  await gw.gateway.batcher.drain()
  t.equal((await landedLines(gw.landing, 'step_trainer')).length, 900, 'a 60 KB batch after authentication lands')
})
