// The gateway's logs never carry an email in clear: a phone connects, is refused (a bad password,
// another device's topic) and publishes, with the logger at debug, and no line names its owner.
import { Writable } from 'node:stream'
import mqtt from 'mqtt'
import t from 'tap'
import { createLogger } from '../../common/logger.js'
import { encodeIdentity } from '../../contracts/topics.js'
import { buildGateway } from '../../gateway/app.js'
import { createGatewayConfig } from '../../gateway/config.js'
import { SECRET, credential } from '../helpers/gateway.js'
import { tempDir } from '../helpers/index.js'
import { A, B, KEY, accel } from './privacy-helpers.js'

t.test('no email in the logs', async (t) => {
  let logs = ''
  const destination = new Writable({ write (chunk: Buffer, _e, cb) { logs += chunk.toString(); cb() } })
  const config = createGatewayConfig({ secrets: [SECRET], mqttPort: 0, httpPort: 0, landingDir: await tempDir(t), stateDir: await tempDir(t), privacyKey: KEY })
  const gw = await buildGateway(config, { logger: createLogger({ destination, level: 'debug' }) })
  const { mqttPort } = await gw.start()
  t.teardown(async () => { await gw.close() })
  const url = `mqtt://127.0.0.1:${mqttPort}`
  // refused at CONNECT: a wrong password
  const bad = mqtt.connect(url, { username: A.email, password: 'wrong', clientId: A.email, reconnectPeriod: 0 })
  await new Promise<void>((resolve) => { bad.once('error', () => resolve()); bad.once('close', () => resolve()) })
  await bad.endAsync(true)
  const phone = mqtt.connect(url, { username: A.email, password: credential('accelerometer', A.email), clientId: A.email, reconnectPeriod: 0 })
  t.teardown(async () => { await phone.endAsync(true) })
  await new Promise<void>((resolve, reject) => { phone.once('connect', () => resolve()); phone.once('error', reject) })
  await phone.publishAsync(`stedi/v1/accelerometer/${encodeIdentity(A.email)}/readings`, JSON.stringify({ seq: 1, readings: accel(Date.now() - 1000, 2) }), { qos: 1 })
  // another phone's topic: refused, logged, disconnected
  const closed = new Promise<void>((resolve) => phone.once('close', () => resolve()))
  phone.publish(`stedi/v1/accelerometer/${encodeIdentity(B.email)}/readings`, JSON.stringify(accel(Date.now(), 1)[0]), { qos: 1 })
  await closed
  await gw.close()
  t.match(logs, /publish refused: not this device's readings topic/, 'the refusal was logged')
  t.match(logs, /accelerometer\/[0-9a-f]{12}/, 'the device named by its hash')
  for (const needle of [A.email, B.email, encodeIdentity(A.email), encodeURIComponent(A.email), encodeURIComponent(B.email)]) {
    t.notOk(logs.includes(needle), `the logs do not hold ${needle.replace('@', ' at ')}`)
  }
})
