// Issue 11: several gateways, one landing zone. Two `stedi gateway` processes with the S3 sink share
// one landing prefix behind HAProxy. A device whose gateway dies reconnects through the balancer to
// the other and sends again what was not acknowledged: nothing is lost (duplicates across gateways
// are removed in the trusted zone). A ledger look-up through the balancer finds a batch whichever
// gateway took it (each asks its peers). A load test through the balancer reconciles exactly across
// the gateways (the sum of their /metrics).
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import t from 'tap'
import path from 'node:path'
import { createDevice } from '../../firmware-mock/device.js'
import { createRandom } from '../../simulator/generate.js'
import { runLoadTest } from '../../simulator/load/run.js'
import { SECRET, credential, ledger } from '../helpers/gateway.js'
import { type GatewayProcess, freePort, startGatewayProcess } from '../helpers/gateway-process.js'
import { startHaproxy } from '../helpers/haproxy.js'
import { cli, tempDir } from '../helpers/index.js'
import { type TestS3, startS3 } from '../helpers/s3.js'
import mqtt from 'mqtt'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function landedObjects (s3: TestS3, prefix: string): Promise<string[]> {
  const lines: string[] = []
  let token: string | undefined
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }))
    for (const o of page.Contents ?? []) {
      const body = await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: o.Key! }))).Body!.transformToString()
      lines.push(...body.split('\n').filter((l) => l !== ''))
    }
    token = page.NextContinuationToken
  } while (token !== undefined)
  return lines
}

async function twoGateways (t: { teardown: (fn: () => Promise<void> | void) => void }, s3: TestS3): Promise<[GatewayProcess, GatewayProcess]> {
  const dir = await tempDir(t)
  // each must know the other's port before it starts; a port found free may be taken meanwhile (by
  // another test's outgoing connection): then both start again on new ports
  for (let attempt = 0; ; attempt++) {
    const ports = [{ mqttPort: await freePort(), httpPort: await freePort() }, { mqttPort: await freePort(), httpPort: await freePort() }]
    const started = await Promise.allSettled(ports.map(async (p, i) => await startGatewayProcess({
      landing: s3.uri('site/landing'), state: path.join(dir, `state-${attempt}-${i}`), secret: SECRET, ...p,
      args: ['--max-batch-age', '200ms', '--peer', `http://127.0.0.1:${ports[1 - i].httpPort}`]
    })))
    const gws = started.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
    for (const gw of gws) t.teardown(async () => { await gw.kill() })
    if (gws.length === 2) return [gws[0], gws[1]]
    for (const gw of gws) await gw.kill()
    if (attempt >= 2) throw (started.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason
  }
}

t.test('a device whose gateway dies goes on through the other; nothing acknowledged is lost', async (t) => {
  const s3 = await startS3(t)
  const [gw1, gw2] = await twoGateways(t, s3)
  const lb = await startHaproxy(t, [gw1, gw2])
  const acked = new Set<string>()
  const devices = Array.from({ length: 8 }, (_, i) => {
    const identity = `lb-${i}@example.com`
    return createDevice({
      kind: 'accelerometer', identity, credential: credential('accelerometer', identity), mqttUrl: `mqtt://127.0.0.1:${lb.mqttPort}`,
      batchSize: 5, random: createRandom(i), backoff: { baseMs: 100, maxMs: 500 },
      onAck: (_n, _ms, batch) => { for (const r of batch.readings) acked.add(JSON.stringify({ user: identity, ...r })) }
    })
  })
  // the devices' owners, consenting, so that their readings reach the trusted zone
  const customers = devices.map((_, i) => ({
    customerName: `LB ${i}`, email: `lb-${i}@example.com`, phone: '8015551212', birthDay: '1990-01-01', serialNumber: `sn-lb-${i}`,
    registrationDate: 1655564000000, lastUpdateDate: 1655564000000, shareWithResearchAsOfDate: 1655564000000
  }))
  const registered = await fetch(`http://127.0.0.1:${lb.httpPort}/v1/customers`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential('service', 'website')}` }, body: JSON.stringify(customers) })
  t.equal(registered.status, 202)
  await Promise.all(devices.map(async (d) => { await d.start() }))
  let tick = 0
  const reading = async (ms: number): Promise<void> => {
    const end = Date.now() + ms
    while (Date.now() < end) {
      tick++
      devices.forEach((d, i) => d.record({ timestamp: 1655564444103 + i * 1e8 + tick, x: 1, y: 0, z: -1 }))
      await sleep(20)
    }
  }
  await reading(1500)
  await gw1.kill()
  await reading(2000)
  for (let i = 0; i < 100 && !devices.every((d) => d.connected()); i++) await reading(50)
  t.ok(devices.every((d) => d.connected()), 'every device is connected again, through the other gateway')
  await gw1.restart()
  await reading(1000)
  await Promise.all(devices.map(async (d) => { await d.stop(20_000) }))
  t.equal(await gw1.stop(), 0)
  t.equal(await gw2.stop(), 0)
  const lines = await landedObjects(s3, 'site/landing/accelerometer/')
  const landed = new Set(lines)
  t.same([...acked].filter((l) => !landed.has(l)), [], `all ${acked.size} acknowledged readings landed in the shared prefix`)
  t.comment(`${lines.length - landed.size} readings landed twice (taken by both gateways)`)
  // the pipeline reads the shared prefix: whatever both gateways took twice is one trusted row
  const lakehouse = await tempDir(t)
  const run = await cli(['pipeline', 'run', '--landing', s3.uri('site/landing'), '--lakehouse', lakehouse, '--json'], { env: s3.env })
  t.equal(run.code, 0, run.stderr)
  const report = JSON.parse(run.stdout) as { counts: { landing: { accelerometer: number }, trusted: { accelerometer: number, customer: number } } }
  t.equal(report.counts.trusted.customer, 8)
  t.equal(report.counts.landing.accelerometer, lines.length, 'landing keeps every delivery')
  t.equal(report.counts.trusted.accelerometer, landed.size, 'trusted: each reading once')
})

t.test('through the balancer, a ledger look-up finds a batch whichever gateway took it', async (t) => {
  const s3 = await startS3(t)
  const [gw1, gw2] = await twoGateways(t, s3)
  const lb = await startHaproxy(t, [gw1, gw2])
  // taken by the second gateway alone
  const direct = mqtt.connect(`mqtt://127.0.0.1:${gw2.mqttPort}`, { username: 'ledger@example.com', password: credential('accelerometer', 'ledger@example.com'), reconnectPeriod: 0 })
  t.teardown(async () => { await direct.endAsync(true) })
  await new Promise<void>((resolve) => direct.once('connect', () => resolve()))
  await direct.publishAsync('stedi/v1/accelerometer/ledger@example.com/readings', JSON.stringify({ seq: 42, readings: [{ timestamp: 1655564444103, x: 1, y: 0, z: -1 }] }), { qos: 1 })
  for (let i = 0; i < 4; i++) {
    const answer = await ledger(`http://127.0.0.1:${lb.httpPort}`, 'accelerometer', 'ledger@example.com', { seq: 42 })
    t.match(answer, { batch: { deliveries: 1, accepted: 1 }, readings: [{ record: { timestamp: 1655564444103 } }] }, `look-up ${i + 1} through the balancer`)
    t.notOk('unansweredPeers' in answer)
  }
  await gw1.kill()
  const lonely = await ledger(`http://127.0.0.1:${gw2.httpPort}`, 'accelerometer', 'ledger@example.com', { seq: 42 })
  t.match(lonely, { readings: [{ record: { timestamp: 1655564444103 } }], unansweredPeers: [{ peer: `http://127.0.0.1:${gw1.httpPort}` }] }, 'a peer that does not answer is named, not waited for')
})

t.test('a load test through the balancer reconciles exactly across the gateways', async (t) => {
  const s3 = await startS3(t)
  const [gw1, gw2] = await twoGateways(t, s3)
  const lb = await startHaproxy(t, [gw1, gw2])
  const result = await runLoadTest({
    scenario: 'mixed', devices: 40, durationMs: 4000, batch: 10, ratePerDevice: 20, thresholds: { p99Ms: 1000, errorRate: 0.01 },
    mqttUrl: `mqtt://127.0.0.1:${lb.mqttPort}`, httpUrl: `http://127.0.0.1:${lb.httpPort}`,
    metricsUrls: [`http://127.0.0.1:${gw1.httpPort}`, `http://127.0.0.1:${gw2.httpPort}`],
    credential: (kind, identity) => credential(kind, identity)
  })
  t.ok(result.readings.acknowledged > 1000, `${result.readings.acknowledged} readings acknowledged`)
  t.equal(result.readings.lost, 0, 'none lost')
  t.equal(result.readings.landed, result.readings.acknowledged - (result.readings.rejected ?? 0), 'landed = acknowledged, summed over both gateways')
})
