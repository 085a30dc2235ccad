// Erasure through a stopped gateway's state folder: a gateway that took readings from customers A
// and B (some landed, some still in the outbox) is killed; A is erased from its state; no byte of
// any file under the state names A any more, B's data lands after the restart, and A's resent or
// old readings are acknowledged and dropped (counted as erased) while newer ones are taken.
import t from 'tap'
import mqtt from 'mqtt'
import { encodeIdentity } from '../../contracts/topics.js'
import { eraseGatewayState } from '../../gateway/privacy/erase-state.js'
import { startGatewayProcess } from '../helpers/gateway-process.js'
import { SECRET, credential, landedLines } from '../helpers/gateway.js'
import { tempDir } from '../helpers/index.js'
import { A, B, KEY, accel, customer, scanFolder, steps, tombstonesOf, waitFor } from './privacy-helpers.js'

const post = async (base: string, path: string, cred: string, body: unknown): Promise<{ status: number, json: Record<string, any> }> => {
  const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, any> }
}

t.test('erased in a killed gateway\'s state folder: nothing of A left, B intact, A dropped after restart', async (t) => {
  const landing = await tempDir(t)
  const state = await tempDir(t)
  process.env.STEDI_PRIVACY_KEY = KEY.toString('utf8')
  t.teardown(() => { delete process.env.STEDI_PRIVACY_KEY })
  const gw = await startGatewayProcess({ landing, state, secret: SECRET, args: ['--max-batch-age', '1h', '--max-batch-records', '6'] })
  t.teardown(async () => { await gw.kill() })
  const http = `http://127.0.0.1:${gw.httpPort}`
  const old = Date.now() - 3_600_000
  // landed: six accelerometer readings (A's three over MQTT, B's three over HTTP) fill a file
  const phoneA = mqtt.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: A.email, password: credential('accelerometer', A.email), reconnectPeriod: 0 })
  t.teardown(async () => { await phoneA.endAsync(true) })
  await new Promise<void>((resolve, reject) => { phoneA.once('connect', () => resolve()); phoneA.once('error', reject) })
  await phoneA.publishAsync(`stedi/v1/accelerometer/${encodeIdentity(A.email)}/readings`, JSON.stringify({ seq: 1, readings: accel(old, 3) }), { qos: 1 })
  t.equal((await post(http, '/v1/readings/accelerometer', credential('accelerometer', B.email), { seq: 1, readings: accel(old, 3) })).status, 202)
  await waitFor('the accelerometer file', async () => (await landedLines(landing, 'accelerometer')).length === 6)
  // waiting: trainer readings, customer records and a refused reading of A's stay in the outbox
  t.equal((await post(http, '/v1/readings/step-trainer', credential('step-trainer', A.serial), { seq: 1, readings: steps(old, 2) })).status, 202)
  t.equal((await post(http, '/v1/readings/step-trainer', credential('step-trainer', B.serial), { seq: 1, readings: steps(old, 2) })).status, 202)
  t.equal((await post(http, '/v1/customers', credential('service', 'website'), [customer(A, old), customer(B, old)])).status, 202)
  t.equal((await post(http, '/v1/readings/accelerometer', credential('accelerometer', A.email), { seq: 2, readings: [{ timestamp: old + 10, x: 1e9, y: 0, z: 0 }, ...accel(old + 20, 1)] })).status, 202)
  // B's payload quoting A's address is refused with a detail that names A
  await post(http, '/v1/readings/accelerometer', credential('accelerometer', B.email), { seq: 2, readings: [{ user: A.email, timestamp: old + 30, x: 1, y: 1, z: 1 }, ...accel(old + 40, 1)] })
  t.ok((await scanFolder(state, [A.email])).length > 0, 'the state held A before the erasure')
  await gw.kill()

  const erasedAt = Date.now()
  const started = performance.now()
  const receipt = await eraseGatewayState(state, tombstonesOf(A, erasedAt), KEY)
  t.comment(`erasure of a small state: ${Math.round(performance.now() - started)} ms`)
  t.notOk(JSON.stringify(receipt).includes(A.email) || JSON.stringify(receipt).includes(A.serial), 'the receipt names nobody')
  t.equal(receipt.tombstones.added, 2)
  t.ok(receipt.places.segments.records >= 3 + 2 + 1 + 1, 'A\'s accelerometer, trainer, customer lines and the kept one went')
  t.ok(receipt.places.deliveries.removed >= 3)
  t.ok(receipt.places.rejections.removed >= 1)
  t.ok(receipt.places.rejections.redacted >= 1, 'B\'s refusal quoting A was redacted')
  t.same(await scanFolder(state, [A.email, A.serial, encodeURIComponent(A.email)]), [], 'no byte of any state file names A')
  t.ok((await scanFolder(state, [B.email, B.serial])).length > 0, 'B is still in the outbox')
  // again: nothing more to do
  const again = await eraseGatewayState(state, tombstonesOf(A, erasedAt), KEY)
  t.equal(again.places.segments.records, 0)
  t.equal(again.tombstones.added, 0)

  await gw.restart()
  // A's old message sent again (same seq), and an old reading never sent: acknowledged, dropped
  const resent = await post(http, '/v1/readings/accelerometer', credential('accelerometer', A.email), { seq: 1, readings: accel(old, 3) })
  t.match(resent, { status: 202, json: { accepted: 0, erased: 3 } })
  await phoneA.endAsync(true)
  const phoneA2 = mqtt.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: A.email, password: credential('accelerometer', A.email), reconnectPeriod: 0 })
  t.teardown(async () => { await phoneA2.endAsync(true) })
  await new Promise<void>((resolve, reject) => { phoneA2.once('connect', () => resolve()); phoneA2.once('error', reject) })
  await phoneA2.publishAsync(`stedi/v1/accelerometer/${encodeIdentity(A.email)}/readings`, JSON.stringify({ seq: 7, readings: accel(erasedAt - 5000, 2) }), { qos: 1 })
  // the trainer resold after the erasure: its new owner's readings are taken
  const after = await post(http, '/v1/readings/step-trainer', credential('step-trainer', A.serial), { seq: 1, readings: steps(Date.now(), 1) })
  t.match(after, { status: 202, json: { accepted: 1 } })
  t.notOk('erased' in after.json, 'erased is only reported when some were')
  const metrics = await (await fetch(`${http}/metrics`)).text()
  t.match(metrics, /stedi_readings_erased_total\{dataset="accelerometer"\} 5/)
  t.equal(await gw.stop(), 0)

  const accelLines = await landedLines(landing, 'accelerometer')
  t.equal(accelLines.filter((l) => l.includes(A.email)).length, 3, 'only what landed before the erasure (the lakehouse erases those)')
  t.equal(accelLines.filter((l) => l.includes(B.email)).length, 4, 'B\'s readings landed')
  const trainer = await landedLines(landing, 'step_trainer')
  t.equal(trainer.filter((l) => l.includes(B.serial)).length, 2)
  t.equal(trainer.filter((l) => l.includes(A.serial)).length, 1, 'only the reading dated after the erasure')
  t.ok(trainer.filter((l) => l.includes(A.serial)).every((l) => (JSON.parse(l) as { sensorReadingTime: number }).sensorReadingTime > erasedAt))
  const customers = await landedLines(landing, 'customer')
  t.same(customers.map((l) => (JSON.parse(l) as { email: string }).email), [B.email])
})
