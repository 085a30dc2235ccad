// Revocation without a restart: a shared list, followed by every gateway that names it; a revoked
// device loses its open connection within seconds and cannot come back with that credential, while
// the next generation of its credential connects.
import fs from 'node:fs/promises'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import t from 'tap'
import { issueCredential } from '../../gateway/credentials.js'
import { parseRevocations, revokeDevice } from '../../gateway/revocations.js'
import { SECRET, startGateway } from '../helpers/gateway.js'
import { tempDir } from '../helpers/index.js'

async function connect (url: string, identity: string, generation: number): Promise<MqttClient> {
  const client = mqtt.connect(url, { username: identity, password: issueCredential(SECRET, 'step-trainer', identity, generation), reconnectPeriod: 0, connectTimeout: 5_000 })
  return await new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('error', (err) => { client.end(true); reject(err) })
  })
}

t.test('a revoked device is disconnected from every gateway sharing the list, refused after, and its next generation connects', async (t) => {
  const list = path.join(await tempDir(t), 'revoked-devices.jsonl')
  const a = await startGateway(t, { revocationList: list })
  const b = await startGateway(t, { revocationList: list })
  const clients: MqttClient[] = []
  t.teardown(async () => { for (const c of clients) await c.endAsync(true) })
  for (const gw of [a, b]) clients.push(await connect(gw.mqttUrl, 'sn-1', 0), await connect(gw.mqttUrl, 'sn-2', 0))
  const [a1, a2, b1, b2] = clients
  const closedAt = (c: MqttClient): Promise<number> => new Promise((resolve) => c.once('close', () => resolve(Date.now())))
  const closes = [closedAt(a1), closedAt(b1)]

  const started = Date.now()
  t.same(await revokeDevice(list, 'step-trainer', 'sn-1'), { kind: 'step-trainer', id: 'sn-1', minGeneration: 1, revokedAt: (await fs.readFile(list, 'utf8').then((s) => JSON.parse(s).revokedAt)) as string })
  const times = await Promise.all(closes)
  for (const at of times) t.ok(at - started < 5_000, `disconnected within 5 s (${at - started} ms)`)
  t.ok(a2.connected && b2.connected, 'another device keeps its connections')

  for (const gw of [a, b]) {
    await t.rejects(connect(gw.mqttUrl, 'sn-1', 0), { code: 4 }, 'the revoked credential is refused (bad user name or password)')
    const res = await fetch(`${gw.httpUrl}/v1/readings/step-trainer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${issueCredential(SECRET, 'step-trainer', 'sn-1')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sensorReadingTime: 1655564444103, distanceFromObject: 1 })
    })
    t.equal(res.status, 401)
    t.match(await res.json(), { error: /credential not valid/ })
    clients.push(await connect(gw.mqttUrl, 'sn-1', 1))
    t.pass('generation 1 connects')
    t.equal(gw.gateway.metrics.authFailures.get({ reason: 'revoked', transport: 'mqtt' }), 1)
    t.equal(gw.gateway.metrics.connectionsClosed.get({ transport: 'mqtt', reason: 'revoked' }), 1)
  }

  // revoking again moves past the generation in use
  t.equal((await revokeDevice(list, 'step-trainer', 'sn-1')).minGeneration, 2)
})

t.test('the list: one entry per device, the highest generation wins, bad lines are skipped; written atomically', async (t) => {
  const { entries, badLines } = parseRevocations([
    '{"kind":"step-trainer","id":"sn-1","minGeneration":3,"revokedAt":"x"}',
    '{"kind":"step-trainer","id":"sn-1","minGeneration":2,"revokedAt":"y"}',
    'not json',
    '{"kind":"toaster","id":"sn-1","minGeneration":1}',
    '{"kind":"accelerometer","id":"a@test.com","minGeneration":-1}',
    ''
  ].join('\n'))
  t.equal(badLines, 3)
  t.same([...entries.values()].map((e) => [e.kind, e.id, e.minGeneration]), [['step-trainer', 'sn-1', 3]])
  const dir = await tempDir(t)
  const list = path.join(dir, 'sub', 'list.jsonl')
  await revokeDevice(list, 'accelerometer', 'a@test.com', 5)
  await revokeDevice(list, 'accelerometer', 'a@test.com', 2)
  t.equal(parseRevocations(await fs.readFile(list, 'utf8')).entries.get('accelerometer\u0000a@test.com')?.minGeneration, 5, 'a revocation is never undone by a lower one')
  t.same(await fs.readdir(path.join(dir, 'sub')), ['list.jsonl'], 'no temporary file left')
})

t.test('without a watch (the list\'s folder appears later, or a network file system), the periodic stat finds the change', async (t) => {
  const list = path.join(await tempDir(t), 'not-yet', 'revoked-devices.jsonl')
  const gw = await startGateway(t, { revocationList: list, revocationPollMs: 500 })
  const client = await connect(gw.mqttUrl, 'sn-1', 0)
  t.teardown(async () => { await client.endAsync(true) })
  const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())))
  const started = Date.now()
  await revokeDevice(list, 'step-trainer', 'sn-1')
  const ms = await closed - started
  t.ok(ms < 2_000, `disconnected in ${ms} ms`)
})
