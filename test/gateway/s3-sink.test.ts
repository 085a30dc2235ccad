// Issue 11: the gateway lands on a real object store. Each flush's files become objects under the
// file sink's names, written so that one can never overwrite another; a flush stays in the outbox
// until S3 has confirmed it, so killing the store mid-stream and starting it again loses nothing
// acknowledged and lands nothing twice; wrong credentials or a missing bucket is one line at start.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { freePort, startVersitygw } from '../../common/versitygw.js'
import { createS3Sink } from '../../gateway/ingest/sinks/s3.js'
import { SECRET, connectDevice, startGateway } from '../helpers/gateway.js'
import { cli, tempDir } from '../helpers/index.js'
import { type TestS3, startS3 } from '../helpers/s3.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function objects (s3: TestS3, prefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  let token: string | undefined
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }))
    for (const o of page.Contents ?? []) {
      const body = await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: o.Key! }))).Body!.transformToString()
      out.set(o.Key!, body.split('\n').filter((l) => l !== ''))
    }
    token = page.NextContinuationToken
  } while (token !== undefined)
  return out
}

const gatewayOnS3 = async (t: { teardown: (fn: () => Promise<void> | void) => void }, s3: TestS3, prefix: string, extra: Record<string, unknown> = {}): ReturnType<typeof startGateway> => await startGateway(t, {
  sink: 's3', s3: { bucket: s3.bucket, prefix, connection: s3.connection }, batch: { maxAgeMs: 50 }, ...extra
})

t.test('each flush becomes objects in the landing layout, under the file sink\'s names', async (t) => {
  const s3 = await startS3(t)
  const gw = await gatewayOnS3(t, s3, 'site-a/landing')
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-1')
  for (let seq = 0; seq < 5; seq++) {
    await trainer.publishAsync('stedi/v1/step-trainer/sn-1/readings', JSON.stringify({ seq, readings: [{ sensorReadingTime: 1655564444103 + seq, distanceFromObject: 200 + seq }] }), { qos: 1 })
  }
  await gw.gateway.batcher.drain()
  const landed = await objects(s3, 'site-a/landing/')
  t.ok([...landed.keys()].every((k) => /^site-a\/landing\/step_trainer\/landing\/step_trainer-\d+-[0-9a-f]{6}-\d{10}-p\d{3}\.json$/.test(k)), [...landed.keys()].join(' '))
  t.equal([...landed.values()].flat().length, 5)
  t.ok(gw.gateway.metrics.s3Objects.get({ dataset: 'step_trainer' }) >= 1)
  t.equal((await fetch(`${gw.httpUrl}/readyz`)).status, 200)
})

t.test('the object store killed mid-stream and started again: nothing acknowledged is lost, nothing lands twice', async (t) => {
  const s3 = await startS3(t)
  const gw = await gatewayOnS3(t, s3, 'landing')
  const phone = await connectDevice(t, gw.mqttUrl, 'accelerometer', 'p@test.com')
  const acked = new Set<string>()
  let seq = 0
  const send = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++, seq++) {
      const readings = Array.from({ length: 10 }, (_, k) => ({ timestamp: 1655564444103 + seq * 10 + k, x: 1, y: 0, z: -1 }))
      await phone.publishAsync('stedi/v1/accelerometer/p@test.com/readings', JSON.stringify({ seq, readings }), { qos: 1 })
      for (const r of readings) acked.add(JSON.stringify({ user: 'p@test.com', ...r }))
    }
  }
  await send(20)
  await s3.stop()
  await send(30)
  // readiness names the store while it is down (the batcher keeps trying)
  let answer: { failing?: string, checks?: Record<string, string> } = {}
  for (let i = 0; i < 100 && answer.failing !== 'landing'; i++) {
    await sleep(50)
    answer = await (await fetch(`${gw.httpUrl}/readyz`)).json() as typeof answer
  }
  t.match(answer, { failing: 'landing', checks: { landing: new RegExp(`S3 bucket ${s3.bucket} at ${s3.endpoint}`) } })
  const restarted = await startVersitygw({ dir: s3.dir, host: '127.0.0.1', port: Number(new URL(s3.endpoint).port), accessKey: String(s3.env.AWS_ACCESS_KEY_ID), secretKey: String(s3.env.AWS_SECRET_ACCESS_KEY) })
  t.teardown(async () => { await restarted.stop() })
  await send(10)
  await gw.gateway.batcher.drain()
  const lines = [...(await objects(s3, 'landing/')).values()].flat()
  t.equal(new Set(lines).size, lines.length, 'nothing landed twice')
  t.same([...acked].filter((l) => !lines.includes(l)), [], `all ${acked.size} acknowledged readings landed`)
  t.ok(gw.gateway.metrics.s3Errors.sum() > 0, 'the outage was seen and counted')
})

t.test('a landing object is never overwritten; publishing the same flush again is harmless', async (t) => {
  const s3 = await startS3(t)
  const sink = createS3Sink({ client: s3.client, bucket: s3.bucket, prefix: 'x', endpoint: s3.endpoint, maxAttempts: 1 })
  const flush = { id: 1, dataset: 'customer' as const, name: 'customer-1-abcdef-0000000001', firstId: 1, lastId: 1, records: 1, bytes: 10, createdMs: 1 }
  await sink.publish(flush, [{ file: 'f-p000.json', lines: ['{"a":1}'] }])
  await sink.publish(flush, [{ file: 'f-p000.json', lines: ['{"a":1}'] }])
  t.pass('the same content again: taken as done')
  await t.rejects(sink.publish(flush, [{ file: 'f-p000.json', lines: ['{"a":2}'] }]), { code: 'GW_ERR_SINK', message: /never overwritten/ })
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'x/customer/landing/g-p000.json', Body: 'someone else\'s\n' }))
  await t.rejects(sink.publish(flush, [{ file: 'g-p000.json', lines: ['{"a":3}'] }]), { code: 'GW_ERR_SINK' })
  const body = await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'x/customer/landing/f-p000.json' }))).Body!.transformToString()
  t.equal(body, '{"a":1}\n', 'the first content stays')
})

t.test('large files go up in parts, conditionally too', async (t) => {
  const s3 = await startS3(t)
  const sink = createS3Sink({ client: s3.client, bucket: s3.bucket, prefix: '', endpoint: s3.endpoint, multipartBytes: 1024 })
  const lines = Array.from({ length: 120_000 }, (_, i) => `{"sensorReadingTime":${1655564444103 + i},"serialNumber":"sn-1","distanceFromObject":250}`)
  const flush = { id: 1, dataset: 'step_trainer' as const, name: 'n', firstId: 1, lastId: 1, records: lines.length, bytes: 0, createdMs: 1 }
  await sink.publish(flush, [{ file: 'big-p000.json', lines }])
  await sink.publish(flush, [{ file: 'big-p000.json', lines }])
  const landed = await objects(s3, 'step_trainer/')
  t.equal(landed.get('step_trainer/landing/big-p000.json')?.length, lines.length)
})

t.test('stedi gateway: a missing bucket, refused credentials or an unreachable endpoint is one line naming endpoint and bucket, exit 1', async (t) => {
  const s3 = await startS3(t)
  const dir = await tempDir(t)
  const args = ['gateway', '--state', dir, '--mqtt-port', '0', '--http-port', '0']
  const missing = await cli([...args, '--landing', 's3://no-such-bucket/landing'], { env: { ...s3.env, STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(missing.code, 1)
  t.match(missing.stderr, new RegExp(`S3 bucket no-such-bucket at ${s3.endpoint}: the bucket does not exist \\[GW_ERR_LANDING\\]`))
  t.equal(missing.stderr.trim().split('\n').length, 1, 'one line')
  const refused = await cli([...args, '--landing', s3.uri('landing')], { env: { ...s3.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-0123456789', STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /the credentials are refused/)
  const nobody = `http://127.0.0.1:${await freePort()}`
  const unreachable = await cli([...args, '--landing', s3.uri('landing')], { env: { ...s3.env, AWS_ENDPOINT_URL_S3: nobody, STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, new RegExp(`S3 bucket ${s3.bucket} at ${nobody}: it cannot be reached`))
  t.equal(unreachable.stderr.trim().split('\n').length, 1, 'one line')
  const unknown = await cli([...args, '--landing', 'gs://bucket/landing'], { env: { STEDI_GATEWAY_SECRET: SECRET } })
  t.equal(unknown.code, 2, 'an unknown scheme is a usage error, never a local folder')
})
