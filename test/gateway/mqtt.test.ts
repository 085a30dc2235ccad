// A real MQTT client (mosquitto_pub from Debian's mosquitto-clients, and mqtt.js) against the real
// broker: good and bad readings, the device ACL, deduplication of redeliveries, and the ledger.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { connectDevice, credential, landedLines, startGateway } from '../helpers/gateway.js'

const exec = promisify(execFile)

const landed = landedLines

async function mosquittoPub (url: string, args: string[]): Promise<{ code: number, out: string }> {
  const port = new URL(url).port
  try {
    const { stdout, stderr } = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-q', '1', '-d', ...args])
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

t.test('mosquitto_pub: a good batch is acknowledged and lands; bad readings are refused and recorded', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const token = credential('step-trainer', 'sn-1')
  const good = await mosquittoPub(gw.mqttUrl, ['-u', 'sn-1', '-P', token, '-t', 'stedi/v1/step-trainer/sn-1/readings',
    '-m', JSON.stringify({ seq: 1, readings: [{ sensorReadingTime: 1655564444103, distanceFromObject: 218 }, { sensorReadingTime: 1655564444104, distanceFromObject: 230 }] })])
  t.equal(good.code, 0, good.out)
  t.match(good.out, /received PUBACK \(Mid: 1/)
  const bad = await mosquittoPub(gw.mqttUrl, ['-u', 'sn-1', '-P', token, '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', '{"sensorReadingTime": "soon"'])
  t.equal(bad.code, 0, 'a bad payload is acknowledged (and recorded), not fatal')
  const negative = await mosquittoPub(gw.mqttUrl, ['-u', 'sn-1', '-P', token, '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', '{"sensorReadingTime":1655564444105,"distanceFromObject":-1}'])
  t.equal(negative.code, 0)
  await gw.gateway.batcher.drain()
  t.same(await landed(gw.landing, 'step_trainer'), [
    '{"sensorReadingTime":1655564444103,"serialNumber":"sn-1","distanceFromObject":218}',
    '{"sensorReadingTime":1655564444104,"serialNumber":"sn-1","distanceFromObject":230}'
  ])
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'step_trainer', reason: 'invalid_json' }), 1)
  t.equal(gw.gateway.metrics.rejected.get({ dataset: 'step_trainer', reason: 'out_of_range' }), 1)
  const lookup = await fetch(`${gw.httpUrl}/v1/records?kind=step-trainer&device=sn-1&timestamp=1655564444105`, { headers: { authorization: `Bearer ${token}` } })
  const body = await lookup.json() as { rejected: Array<{ reason: string, detail: string }> }
  t.same(body.rejected.map((r) => r.reason), ['out_of_range'], 'the ledger says why the reading was dropped')
})

t.test('authentication and the ACL', async (t) => {
  const gw = await startGateway(t)
  const wrong = await mosquittoPub(gw.mqttUrl, ['-u', 'sn-1', '-P', 'not-a-credential', '-t', 'stedi/v1/step-trainer/sn-1/readings', '-m', '{}'])
  t.not(wrong.code, 0)
  t.match(wrong.out, /not authori[sz]ed|bad user name or password/i)
  const stolen = await mosquittoPub(gw.mqttUrl, ['-u', 'sn-2', '-P', credential('step-trainer', 'sn-1'), '-t', 'stedi/v1/step-trainer/sn-2/readings', '-m', '{}'])
  t.not(stolen.code, 0, 'a credential works only with its own identity')

  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  const closed = new Promise<void>((resolve) => trainer.once('close', () => resolve()))
  trainer.publish('stedi/v1/step-trainer/sn-2/readings', JSON.stringify({ sensorReadingTime: 1655564444103, distanceFromObject: 1 }), { qos: 1 })
  await closed
  t.pass('publishing as another trainer closes the connection')
  const asPhone = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  const closed2 = new Promise<void>((resolve) => asPhone.once('close', () => resolve()))
  asPhone.publish('stedi/v1/accelerometer/sn-1/readings', JSON.stringify({ timestamp: 1655564444103, x: 0, y: 0, z: 0 }), { qos: 1 })
  await closed2
  t.pass('nor as a phone')
  t.equal(gw.gateway.metrics.aclDenied.get({ action: 'publish' }), 2)

  const phone = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'a@test.com')
  const own = await phone.subscribeAsync('stedi/v1/accelerometer/a@test.com/#')
  t.same(own.map((g) => g.qos), [0], 'its own subtree: granted')
  for (const topic of ['stedi/v1/accelerometer/b@test.com/readings', 'stedi/v1/#', 'stedi/v1/+/a@test.com/readings']) {
    // mqtt.js turns a SUBACK return code 0x80 into this error
    const err = await phone.subscribeAsync(topic).then(() => undefined, (e: Error) => e)
    t.match(err?.message, /Subscribe error/, `${topic}: refused`)
  }
  t.equal(gw.gateway.metrics.aclDenied.get({ action: 'subscribe' }), 3)
  t.ok(phone.connected)
})

t.test('QoS 0 and 1; a redelivered batch (same seq) lands once', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const phone = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'a@test.com')
  const topic = 'stedi/v1/accelerometer/a@test.com/readings'
  const batch = JSON.stringify({ seq: 5, readings: [{ timestamp: 1655564444103, x: 1, y: 0, z: 0 }, { timestamp: 1655564444103, x: 0, y: 1, z: 0 }] })
  await phone.publishAsync(topic, batch, { qos: 1 })
  await phone.publishAsync(topic, batch, { qos: 1, dup: true })
  await phone.publishAsync(topic, JSON.stringify({ timestamp: 1655564444200, x: 0, y: 0, z: 1 }), { qos: 0 })
  // QoS 0 has no acknowledgement: wait until it is counted
  for (let i = 0; i < 100 && gw.gateway.metrics.accepted.get({ dataset: 'accelerometer' }) < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  await gw.gateway.batcher.drain()
  const lines = await landed(gw.landing, 'accelerometer')
  t.equal(lines.length, 3, 'two from the batch (once), one QoS 0 reading')
  t.equal(gw.gateway.metrics.deduplicated.get({ dataset: 'accelerometer' }), 2)
  const res = await fetch(`${gw.httpUrl}/v1/records?kind=accelerometer&device=a@test.com&seq=5`, { headers: { authorization: `Bearer ${credential('accelerometer', 'a@test.com')}` } })
  const ledger = await res.json() as { batch: { deliveries: number, accepted: number }, readings: Array<{ status: string, file: string }> }
  t.same(ledger.batch, { deliveries: 2, accepted: 2 }, 'delivered twice, landed once')
  t.same(ledger.readings.map((r) => r.status), ['landed', 'landed'])
  t.match(ledger.readings[0].file, /^accelerometer-\d+-[0-9a-f]{6}-\d{10}-p\d{3}\.json$/)
  t.ok(lines.length === 3 && (await fs.readdir(path.join(gw.landing, 'accelerometer/landing'))).includes(ledger.readings[0].file), 'the file the ledger names exists')
})

t.test('MQTT over WebSocket', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const ws = gw.httpUrl.replace('http://', 'ws://') + '/mqtt'
  const trainer = await connectDevice(t, ws, 'step-trainer', 'sn-ws')
  await trainer.publishAsync('stedi/v1/step-trainer/sn-ws/readings', JSON.stringify({ sensorReadingTime: 1655564444103, distanceFromObject: 250 }), { qos: 1 })
  await gw.gateway.batcher.drain()
  t.same(await landed(gw.landing, 'step_trainer'), ['{"sensorReadingTime":1655564444103,"serialNumber":"sn-ws","distanceFromObject":250}'])
})

t.test('--allow-anonymous says so loudly, and lets any client publish as any device', async (t) => {
  const { spawn } = await import('node:child_process')
  const { STEDI_BIN, tempDir } = await import('../helpers/index.js')
  const dir = await tempDir(t)
  const child = spawn(process.execPath, [STEDI_BIN, 'gateway', '--landing', `${dir}/landing`, '--state', `${dir}/state`, '--mqtt-port', '0', '--http-port', '0', '--allow-anonymous'],
    { env: { ...process.env, STEDI_GATEWAY_SECRET: '' } })
  t.teardown(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const url = await new Promise<string>((resolve) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /ready: (mqtt:\/\/\S+)/.exec(out); if (m !== null) resolve(m[1]) })
  })
  t.match(stderr, /\*\*\* stedi gateway: --allow-anonymous: ANY client may connect and publish as ANY device\. Development only\. \*\*\*/)
  const pub = await mosquittoPub(url, ['-t', 'stedi/v1/step-trainer/anyone/readings', '-m', '{"sensorReadingTime":1655564444103,"distanceFromObject":250}'])
  t.equal(pub.code, 0, pub.out)
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  t.same(await landed(`${dir}/landing`, 'step_trainer'), ['{"sensorReadingTime":1655564444103,"serialNumber":"anyone","distanceFromObject":250}'])
})
