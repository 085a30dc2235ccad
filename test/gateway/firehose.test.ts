// The Firehose sink against a local endpoint that speaks Firehose's JSON protocol (test/helpers/
// fake-firehose.ts, standing in for AWS): packing within the limits, and partial failures retried
// record by record until accepted, the batch staying in the outbox meanwhile.
import t from 'tap'
import { FIREHOSE_LIMITS, createFirehoseSink, groupCalls, packRecords } from '../../gateway/ingest/sinks/firehose.js'
import { startFakeFirehose } from '../helpers/fake-firehose.js'
import { connectDevice, startGateway } from '../helpers/gateway.js'

const STREAMS = { customer: 'stedi-customer', accelerometer: 'stedi-accelerometer', step_trainer: 'stedi-step_trainer' }
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' }

t.test('packing: NDJSON lines into records of at most 1,000 KiB, calls of at most 500 records and 4 MiB', async (t) => {
  const line = 'x'.repeat(999)
  const records = packRecords(Array.from({ length: 5000 }, () => line))
  t.ok(records.every((r) => r.length <= FIREHOSE_LIMITS.bytesPerRecord))
  t.equal(Buffer.concat(records).toString(), Array.from({ length: 5000 }, () => line + '\n').join(''), 'every line, in order, newline-terminated')
  const calls = groupCalls(Array.from({ length: 1200 }, () => Buffer.alloc(10)))
  t.same(calls.map((c) => c.length), [500, 500, 200])
  const big = groupCalls(Array.from({ length: 10 }, () => Buffer.alloc(900 * 1024)))
  t.ok(big.every((c) => c.reduce((a, b) => a + b.length, 0) <= FIREHOSE_LIMITS.bytesPerCall))
  t.same(packRecords(['y'.repeat(2_000_000)]).length, 1, 'an over-long line goes alone (Firehose will refuse it; it is never split)')
})

t.test('a 200 answer with FailedPutCount: only the failed records are sent again', async (t) => {
  // the first call fails records 1 and 3; everything after succeeds
  const fake = await startFakeFirehose((call, i) => call === 0 && (i === 1 || i === 3))
  t.teardown(fake.close)
  const retries: number[] = []
  const sink = createFirehoseSink({
    config: { region: 'us-east-1', endpoint: fake.endpoint, streams: STREAMS, maxAttempts: 5 },
    credentials: CREDENTIALS,
    sleep: async () => {},
    onRetry: (failed) => retries.push(failed)
  })
  t.teardown(sink.close)
  // lines of ~600 KiB make one record each
  const lines = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(600 * 1024))
  await sink.publish({ id: 1, dataset: 'accelerometer', name: 'f', firstId: 1, lastId: 1, records: 5, bytes: 0, createdMs: 0 }, [{ file: 'f-p000.json', lines }])
  t.same(retries, [2])
  t.same(fake.calls.map((c) => [c.records, c.failed]), [[5, 2], [2, 0]])
  const got = (fake.records.get('stedi-accelerometer') ?? []).map((b) => b.toString()[0]).sort()
  t.same(got, ['0', '1', '2', '3', '4'], 'each record delivered once')
})

t.test('the gateway on the Firehose sink: a failing stream keeps the batch in the outbox until it is taken', async (t) => {
  let failing = true
  const fake = await startFakeFirehose(() => failing)
  t.teardown(fake.close)
  const sink = createFirehoseSink({ config: { region: 'us-east-1', endpoint: fake.endpoint, streams: STREAMS, maxAttempts: 2 }, credentials: CREDENTIALS, sleep: async () => {} })
  const gw = await startGateway(t, { sink: 'firehose', firehose: { region: 'us-east-1', endpoint: fake.endpoint, streams: STREAMS, maxAttempts: 2 }, batch: { maxAgeMs: 20 } }, sink)
  const trainer = await connectDevice(t, gw.mqttUrl, 'step-trainer', 'sn-f')
  await trainer.publishAsync('stedi/v1/step-trainer/sn-f/readings', JSON.stringify({ seq: 1, readings: [{ sensorReadingTime: 1655564444103, distanceFromObject: 201 }, { sensorReadingTime: 1655564444104, distanceFromObject: 202 }] }), { qos: 1 })
  for (let i = 0; i < 100 && gw.gateway.metrics.sinkErrors.sum() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(gw.gateway.metrics.sinkErrors.sum() > 0, 'the flush failed')
  const ready = await fetch(`${gw.httpUrl}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { failing: 'landing', checks: { landing: /Firehose/, outbox: /flushes are failing/ } })
  failing = false
  await gw.gateway.batcher.drain()
  t.equal((fake.records.get('stedi-step_trainer') ?? []).map((b) => b.toString()).join(''),
    '{"sensorReadingTime":1655564444103,"serialNumber":"sn-f","distanceFromObject":201}\n{"sensorReadingTime":1655564444104,"serialNumber":"sn-f","distanceFromObject":202}\n')
  t.equal((await fetch(`${gw.httpUrl}/readyz`)).status, 200, 'ready again once the batch is taken')
})
