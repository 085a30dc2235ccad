// Identities that are valid email addresses but hold MQTT's reserved characters (plus-addressing,
// '#', '/', '%') work over MQTT with their encoded topics, from mosquitto_pub and mqtt.js alike,
// land under the right user, and stay confined to their own topics; `stedi devices token`
// refuses an identity the gateway would never accept.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { deviceTopicFilter, readingsTopic } from '../../contracts/topics.js'
import { verifyCredential } from '../../gateway/credentials.js'
import { ROOT, spawnCollect } from '../helpers/index.js'
import { SECRET, connectDevice, credential, landedLines, startGateway } from '../helpers/gateway.js'

const exec = promisify(execFile)
const EMAILS = ['first.last+stedi@example.com', 'a#b@example.com', 'a/b@example.com', '50%off@example.com']
const reading = (ms: number): Record<string, number> => ({ timestamp: 1655564444103 + ms, x: 1, y: 0, z: -1 })

const userOf = (line: string): string => (JSON.parse(line) as { user: string }).user

t.test('mosquitto_pub and mqtt.js publish as these identities; the readings land under their user', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  for (const [i, email] of EMAILS.entries()) {
    const topic = readingsTopic('accelerometer', email)
    const { stdout, stderr } = await exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', new URL(gw.mqttUrl).port, '-q', '1', '-d',
      '-u', email, '-P', credential('accelerometer', email), '-t', topic, '-m', JSON.stringify({ seq: 1, readings: [reading(i)] })])
    t.match(stdout + stderr, /received PUBACK/, `${email}: mosquitto_pub acknowledged`)
    const client = await connectDevice(t, gw.mqttUrl, 'accelerometer', email)
    await client.publishAsync(topic, JSON.stringify({ seq: 2, readings: [reading(100 + i)] }), { qos: 1 })
    await client.endAsync()
  }
  await gw.gateway.batcher.drain()
  const lines = await landedLines(gw.landing, 'accelerometer')
  t.same(lines.map(userOf).sort(), [...EMAILS, ...EMAILS].sort(), 'two readings each, under the identity as given')
  for (const [i, email] of EMAILS.entries()) {
    const mine = lines.filter((l) => userOf(l) === email).map((l) => (JSON.parse(l) as { timestamp: number }).timestamp).sort()
    t.same(mine, [reading(i).timestamp, reading(100 + i).timestamp], `${email}: its own readings`)
  }
})

t.test('over HTTP the identity comes from the credential, and the ledger finds it by its email', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const email = 'a/b+c@example.com'
  const auth = { authorization: `Bearer ${credential('accelerometer', email)}` }
  const res = await fetch(`${gw.httpUrl}/v1/readings/accelerometer`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ seq: 1, readings: [reading(7)] }) })
  t.equal(res.status, 202)
  await gw.gateway.batcher.drain()
  t.same((await landedLines(gw.landing, 'accelerometer')).map(userOf), [email])
  const lookup = await fetch(`${gw.httpUrl}/v1/records?kind=accelerometer&device=${encodeURIComponent(email)}&seq=1`, { headers: auth })
  t.match(await lookup.json(), { readings: [{ status: 'landed' }] })
})

t.test('another device cannot publish or subscribe into these identities\' topics', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  // a prefix of the victim's email, and the identity whose subtree an unencoded '/' would fall in
  for (const [thief, victim] of [['first.last@example.com', 'first.last+stedi@example.com'], ['a', 'a/b@example.com'], ['a', 'a#b@example.com']]) {
    const client = await connectDevice(t, gw.mqttUrl, 'accelerometer', thief)
    for (const topic of [deviceTopicFilter('accelerometer', victim), readingsTopic('accelerometer', victim), 'stedi/v1/accelerometer/+/readings', 'stedi/v1/accelerometer/#']) {
      const err = await client.subscribeAsync(topic).then(() => undefined, (e: Error) => e)
      t.match(err?.message, /Subscribe error/, `${thief} subscribing to ${topic}: refused`)
    }
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    client.publish(readingsTopic('accelerometer', victim), JSON.stringify(reading(1)), { qos: 1 })
    await closed
    t.pass(`${thief} publishing as ${victim}: the connection is closed`)
  }
  const a = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'a')
  const closed = new Promise<void>((resolve) => a.once('close', () => resolve()))
  a.publish('stedi/v1/accelerometer/a/b@example.com/readings', JSON.stringify(reading(2)), { qos: 1 })
  await closed
  t.pass('an unencoded / is not a readings topic: refused')

  const owner = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'a+b@x.com')
  t.same((await owner.subscribeAsync(deviceTopicFilter('accelerometer', 'a+b@x.com'))).map((g) => g.qos), [0], 'its own encoded subtree: granted')
  for (const topic of ['stedi/v1/accelerometer/+/readings', 'stedi/v1/+/a%2Bb@x.com/readings', 'stedi/v1/accelerometer/a/#']) {
    const err = await owner.subscribeAsync(topic).then(() => undefined, (e: Error) => e)
    t.match(err?.message, /Subscribe error/, `a+b@x.com subscribing to ${topic}: refused`)
  }
  await gw.gateway.batcher.drain()
  t.same(await landedLines(gw.landing, 'accelerometer'), [], 'nothing landed')
})

t.test('stedi devices token issues for these identities and refuses one the gateway would never accept', async (t) => {
  // the source, through tsx, so that the test does not depend on a build
  const token = async (id: string): Promise<{ code: number | null, stdout: string, stderr: string }> =>
    await spawnCollect(process.execPath, ['--import', 'tsx', `${ROOT}/cli/stedi.ts`, 'devices', 'token', id, '--kind', 'accelerometer'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  for (const email of EMAILS) {
    const r = await token(email)
    t.equal(r.code, 0, `${email}: ${r.stderr}`)
    t.same(verifyCredential([SECRET], r.stdout.trim()), { kind: 'accelerometer', identity: email, generation: 0 })
  }
  for (const bad of ['', 'x'.repeat(255), 'a\nb@example.com', 'tab\there@example.com', 'del\u007f@example.com']) {
    const r = await token(bad)
    t.equal(r.code, 2, `${JSON.stringify(bad)}: a usage error`)
    t.equal(r.stdout, '', 'no credential printed')
    t.match(r.stderr, /^stedi devices token: [^\n]*identity[^\n]*\n$/, `one line naming the problem: ${r.stderr}`)
  }
})
