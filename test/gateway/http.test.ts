// The HTTP API with good and bad bodies: customers, readings, the ledger, health, metrics, OpenAPI.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { credential, startGateway } from '../helpers/gateway.js'

const post = async (url: string, body: unknown, token?: string): Promise<{ status: number, body: Record<string, unknown> }> => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

const customer = (email: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  customerName: 'Test Person', email, phone: '8015551212', birthDay: '1990-01-01', serialNumber: `sn-${email}`,
  registrationDate: 1655564376361, lastUpdateDate: 1655564376361, ...extra
})

t.test('POST /v1/customers', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 } })
  const web = credential('service', 'website')
  t.equal((await post(`${gw.httpUrl}/v1/customers`, customer('a@test.com'))).status, 401, 'a service credential is required')
  t.equal((await post(`${gw.httpUrl}/v1/customers`, customer('a@test.com'), credential('step-trainer', 'sn-1'))).status, 401, 'a device credential is not one')
  const one = await post(`${gw.httpUrl}/v1/customers`, customer('a@test.com', { shareWithResearchAsOfDate: 1655564376361 }), web)
  t.same(one, { status: 202, body: { accepted: 1, duplicates: 0 } })
  const many = await post(`${gw.httpUrl}/v1/customers`, [customer('b@test.com'), customer('a@test.com', { shareWithResearchAsOfDate: 1655564376361 })], web)
  t.same(many, { status: 202, body: { accepted: 1, duplicates: 1 } })
  const bad = await post(`${gw.httpUrl}/v1/customers`, [customer('c@test.com'), { email: '', serialNumber: 3 }], web)
  t.equal(bad.status, 400)
  t.same(bad.body, {
    error: 'invalid_records',
    problems: [
      { index: 1, field: 'email', reason: 'wrong_type', detail: 'email must not be empty' },
      { index: 1, field: 'serialNumber', reason: 'wrong_type', detail: 'serialNumber must be a string' }
    ]
  }, 'a machine-readable list of problems; nothing of the request is taken')
  t.equal((await post(`${gw.httpUrl}/v1/customers`, '{"email": ', web)).status, 400)
  t.equal((await post(`${gw.httpUrl}/v1/customers`, [], web)).status, 400)
  await gw.gateway.batcher.drain()
  const dir = path.join(gw.landing, 'customer/landing')
  const lines = (await Promise.all((await fs.readdir(dir)).filter((f) => f.endsWith('.json')).map(async (f) => await fs.readFile(path.join(dir, f), 'utf8')))).join('').trim().split('\n')
  t.equal(lines.length, 2)
  t.same(Object.keys(JSON.parse(lines[0]) as object), ['customerName', 'email', 'phone', 'birthDay', 'serialNumber', 'registrationDate', 'lastUpdateDate', 'shareWithResearchAsOfDate'],
    'exactly the seed\'s fields; absent consent fields stay absent')
})

t.test('POST /v1/readings/*', async (t) => {
  const gw = await startGateway(t, { batch: { maxAgeMs: 50 }, rateLimit: { readingsPerSecond: 1, burst: 6 } })
  const url = `${gw.httpUrl}/v1/readings/step-trainer`
  const token = credential('step-trainer', 'sn-9')
  t.equal((await post(url, { sensorReadingTime: 1655564444103, distanceFromObject: 1 })).status, 401)
  t.equal((await post(url, { sensorReadingTime: 1655564444103, distanceFromObject: 1 }, credential('accelerometer', 'a@test.com'))).status, 403)
  const ok = await post(url, { seq: 1, readings: [{ sensorReadingTime: 1655564444103, distanceFromObject: 1 }, { sensorReadingTime: 1655564444104, distanceFromObject: 'x' }] }, token)
  t.same(ok, { status: 202, body: { seq: 1, accepted: 1, duplicates: 0, rejected: [{ index: 1, reason: 'wrong_type', detail: 'distanceFromObject must be a number' }] } })
  const bad = await post(url, 'not json', token)
  t.same(bad, { status: 400, body: { error: 'invalid_readings', rejected: [{ index: null, reason: 'invalid_json', detail: 'the payload is not JSON' }] } })
  const again = await post(url, { seq: 1, readings: [{ sensorReadingTime: 1655564444103, distanceFromObject: 1 }, { sensorReadingTime: 1655564444104, distanceFromObject: 'x' }] }, token)
  t.same(again.body, { seq: 1, accepted: 0, duplicates: 2, rejected: [] }, 'the same message again: a redelivery')
  const reused = await post(url, { seq: 1, readings: [{ sensorReadingTime: 1655564444105, distanceFromObject: 2 }] }, token)
  t.same(reused.body, { seq: 1, accepted: 1, duplicates: 0, rejected: [] }, 'the same seq with other readings: taken (a seq conflict), not dropped')
  const limited = await post(url, { readings: [1, 2].map((i) => ({ sensorReadingTime: 1655564444200 + i, distanceFromObject: 1 })) }, token)
  t.equal(limited.status, 429, 'beyond its burst a device is told to slow down')
  t.ok(Number(limited.body.retryAfterMs) > 0)
  const huge = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: `{"readings": [${'0,'.repeat(300_000)}0]}` })
  t.equal(huge.status, 413, 'bodies are limited')
})

t.test('health, readiness, metrics, OpenAPI', async (t) => {
  const gw = await startGateway(t)
  t.same(await (await fetch(`${gw.httpUrl}/healthz`)).json(), { status: 'ok' })
  const ready = await fetch(`${gw.httpUrl}/readyz`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'ready', failing: null, checks: { broker: 'ok', landing: 'ok', outbox: 'ok', state: 'ok' } })
  // (CI runs as root, who may write anywhere: a landing folder that is gone is what it can see)
  await fs.rm(path.join(gw.landing, 'accelerometer/landing'), { recursive: true })
  const notReady = await fetch(`${gw.httpUrl}/readyz`)
  t.equal(notReady.status, 503)
  t.match(await notReady.json(), { status: 'not_ready', failing: 'landing', checks: { landing: /accelerometer\/landing is not writable/ } })
  await fs.mkdir(path.join(gw.landing, 'accelerometer/landing'))
  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text()
  for (const name of ['stedi_readings_received_total', 'stedi_outbox_depth', 'stedi_flush_latency_seconds_bucket', 'stedi_connected_devices', 'stedi_readings_rejected_total']) {
    t.match(metrics, new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'), name)
  }
  const spec = await (await fetch(`${gw.httpUrl}/docs/json`)).json() as { openapi: string, paths: Record<string, unknown> }
  t.match(spec.openapi, /^3\./)
  for (const p of ['/healthz', '/readyz', '/metrics', '/v1/customers', '/v1/readings/step-trainer', '/v1/readings/accelerometer', '/v1/records']) t.ok(spec.paths[p] !== undefined, p)
})

t.test('the ledger needs the device\'s own credential and one key', async (t) => {
  const gw = await startGateway(t)
  const base = `${gw.httpUrl}/v1/records?kind=accelerometer&device=a@test.com`
  t.equal((await fetch(`${base}&seq=1`)).status, 401)
  t.equal((await fetch(`${base}&seq=1`, { headers: { authorization: `Bearer ${credential('accelerometer', 'b@test.com')}` } })).status, 401)
  const own = { authorization: `Bearer ${credential('accelerometer', 'a@test.com')}` }
  t.equal((await fetch(base, { headers: own })).status, 400)
  const empty = await fetch(`${base}&seq=1`, { headers: own })
  t.same(await empty.json(), { device: 'accelerometer/a@test.com', seq: 1, batch: null, readings: [], rejected: [] }, 'an unknown reading: nothing recorded')
})
